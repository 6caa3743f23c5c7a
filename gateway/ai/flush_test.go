package ai_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portico-dev/portico/aiclient"
	"github.com/portico-dev/portico/aiclient/openai"
	"github.com/portico-dev/portico/gateway/ai"
	"github.com/portico-dev/portico/internal/sse"
)

// countingListener counts the writes to the connections it accepts: one
// per flush of a streamed answer.
type countingListener struct {
	net.Listener
	writes *atomic.Int64
}

func (l countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return countingConn{Conn: c, writes: l.writes}, nil
}

type countingConn struct {
	net.Conn
	writes *atomic.Int64
}

func (c countingConn) Write(b []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(b)
}

// servedCounting serves the handler over a client on a loopback server
// whose connection writes are counted.
func servedCounting(t *testing.T, client *aiclient.Client) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	h, err := ai.New(client, ai.WithAuthenticator(keys()))
	if err != nil {
		t.Fatal(err)
	}
	writes := new(atomic.Int64)
	srv := httptest.NewUnstartedServer(h)
	srv.Listener = countingListener{Listener: srv.Listener, writes: writes}
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, writes
}

// openAIChunks are a provider's stream: n content chunks "p0 ", "p1 "...,
// then a finish chunk, a usage chunk and [DONE], each a whole SSE event.
func openAIChunks(n int) (content []string, tail string) {
	const head = `"id":"chatcmpl-1","created":1767225600,"model":"mock-1"`
	for i := range n {
		content = append(content, fmt.Sprintf("data: {%s,\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"p%d \"},\"finish_reason\":null}]}\n\n", head, i))
	}
	tail = fmt.Sprintf("data: {%s,\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n", head) +
		fmt.Sprintf("data: {%s,\"object\":\"chat.completion.chunk\",\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":9,\"total_tokens\":12}}\n\n", head) +
		"data: [DONE]\n\n"
	return content, tail
}

// servedBurst serves the handler over a provider that sends a stream of n
// content chunks in one write, and counts the handler's connection writes.
func servedBurst(t *testing.T, n int) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	content, tail := openAIChunks(n)
	provider := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "text/event-stream")
		// The whole stream in one write: it reaches the gateway in a few reads.
		_, _ = io.WriteString(w, strings.Join(content, "")+tail)
	}))
	t.Cleanup(provider.Close)
	return servedCounting(t, openAIClient(provider.URL))
}

func openAIClient(url string) *aiclient.Client {
	p := openai.New(openai.WithBaseURL(url+"/v1"), openai.WithAPIKey("provider-key"), openai.WithPolicies())
	return aiclient.New(aiclient.WithRoute("mock", aiclient.Candidate{Provider: p, Model: "mock-1"}))
}

const streamBody = `{"model":"mock","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}]}`

func TestStreamEventsArrivingTogetherLeaveInFewWrites(t *testing.T) {
	t.Parallel()
	const n = 40
	srv, writes := servedBurst(t, n)

	status, _, body := call(t, "POST", srv.URL+"/v1/chat/completions", demoKey, streamBody)
	if got, want := status, http.StatusOK; got != want {
		t.Fatalf("status = %d, want %d: %s", got, want, body)
	}
	data := sseData(body)
	// A role chunk, n content chunks, a finish chunk, a usage chunk, [DONE].
	if got, want := len(data), n+4; got != want {
		t.Fatalf("events = %d, want %d: %q", got, want, data)
	}
	if got, want := data[len(data)-1], "[DONE]"; got != want {
		t.Errorf("last event = %q, want %q", got, want)
	}
	var text strings.Builder
	for _, d := range data[:len(data)-1] {
		text.WriteString(contentOf(t, d))
	}
	if got, want := text.String(), joinedPieces(n); got != want {
		t.Errorf("text = %q, want %q", got, want)
	}
	// One write per flush: events that were read together were flushed
	// together, where a flush per event would take n+4 writes.
	if got, limit := writes.Load(), int64(n/4); got > limit {
		t.Errorf("connection writes = %d for %d events, want at most %d", got, len(data), limit)
	}
}

func TestStreamEventsTrickledOneByOneAreNotHeld(t *testing.T) {
	t.Parallel()
	const n = 8
	content, tail := openAIChunks(n)
	received := make(chan int, n)
	held := make(chan int, n)
	provider := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "text/event-stream")
		for i, ev := range content {
			_, _ = io.WriteString(w, ev)
			w.(http.Flusher).Flush()
			// The next event is sent only once the client has this one:
			// an event the gateway held back would stall the stream here.
			select {
			case <-received:
			case <-r.Context().Done():
				return
			case <-time.After(20 * time.Second):
				held <- i
			}
		}
		_, _ = io.WriteString(w, tail)
	}))
	t.Cleanup(provider.Close)
	srv, writes := servedCounting(t, openAIClient(provider.URL))

	req, err := http.NewRequest(http.MethodPost, srv.URL+"/v1/chat/completions", strings.NewReader(streamBody))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+demoKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	dec := sse.NewDecoder(resp.Body)
	var text strings.Builder
	pieces := 0
	for {
		ev, err := dec.Next()
		if err != nil {
			if !errors.Is(err, io.EOF) {
				t.Fatalf("reading the stream: %v", err)
			}
			break
		}
		if string(ev.Data) == "[DONE]" {
			continue
		}
		if c := contentOf(t, string(ev.Data)); c != "" {
			text.WriteString(c)
			pieces++
			received <- pieces
		}
	}
	close(held)
	for i := range held {
		t.Errorf("content chunk %d was held back until the provider gave up waiting", i)
	}
	if got, want := text.String(), joinedPieces(n); got != want {
		t.Errorf("text = %q, want %q", got, want)
	}
	// Each trickled event went out on its own.
	if got, least := writes.Load(), int64(n); got < least {
		t.Errorf("connection writes = %d, want at least %d", got, least)
	}
}

func joinedPieces(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "p%d ", i)
	}
	return b.String()
}

// contentOf returns the content delta of a chat.completion.chunk.
func contentOf(t *testing.T, data string) string {
	t.Helper()
	var chunk struct {
		Choices []struct {
			Delta struct{ Content string } `json:"delta"`
		} `json:"choices"`
	}
	if err := json.NewDecoder(bytes.NewReader([]byte(data))).Decode(&chunk); err != nil {
		t.Fatalf("chunk %s: %v", data, err)
	}
	if len(chunk.Choices) == 0 {
		return ""
	}
	return chunk.Choices[0].Delta.Content
}

func TestAnthropicStreamEventsArrivingTogetherLeaveInFewWrites(t *testing.T) {
	t.Parallel()
	const n = 40
	srv, writes := servedBurst(t, n)

	status, _, body := call(t, "POST", srv.URL+"/v1/messages", demoKey,
		`{"model":"mock","max_tokens":100,"stream":true,"messages":[{"role":"user","content":"hi"}]}`)
	if got, want := status, http.StatusOK; got != want {
		t.Fatalf("status = %d, want %d: %s", got, want, body)
	}
	events := strings.Count(string(body), "event: ")
	if got, least := events, n; got < least {
		t.Fatalf("events = %d, want at least %d: %s", got, least, body)
	}
	if got, want := strings.Count(string(body), `"type":"text_delta"`), n; got != want {
		t.Errorf("text deltas = %d, want %d", got, want)
	}
	if !strings.Contains(string(body), "event: message_stop") {
		t.Errorf("no message_stop: %s", body)
	}
	if got, limit := writes.Load(), int64(n/4); got > limit {
		t.Errorf("connection writes = %d for %d events, want at most %d", got, events, limit)
	}
}

// flushRecorder records how much of the body had been written at its
// last flush.
type flushRecorder struct {
	*httptest.ResponseRecorder
	flushes, flushedAt int
}

func (f *flushRecorder) Flush() {
	f.flushes++
	f.flushedAt = f.Body.Len()
	f.ResponseRecorder.Flush()
}

// TestTheLastEventsOfAStreamLeaveWithTheEndOfTheResponse checks that the
// first event of a stream is flushed at once while its last ones are left
// to the end of the response, which sends them with the end of the body
// in one write: [DONE] and the usage chunk before it on the OpenAI-
// compatible endpoint, message_delta and message_stop on the Anthropic-
// compatible one.
func TestTheLastEventsOfAStreamLeaveWithTheEndOfTheResponse(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name, path, body, keyHeader string
		last                        []string
	}{
		{"chat completions", "/v1/chat/completions", streamBody, "Authorization", []string{"data: [DONE]", `"usage"`}},
		{"messages", "/v1/messages", `{"model":"mock","max_tokens":100,"stream":true,"messages":[{"role":"user","content":"hi"}]}`,
			"X-Api-Key", []string{"event: message_stop", "event: message_delta"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			content, tail := openAIChunks(3)
			provider := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_, _ = io.Copy(io.Discard, r.Body)
				w.Header().Set("Content-Type", "text/event-stream")
				for _, ev := range append(content, tail) {
					_, _ = io.WriteString(w, ev)
					w.(http.Flusher).Flush()
				}
			}))
			t.Cleanup(provider.Close)
			h, err := ai.New(openAIClient(provider.URL), ai.WithAuthenticator(keys()))
			if err != nil {
				t.Fatal(err)
			}
			req := httptest.NewRequest(http.MethodPost, tt.path, strings.NewReader(tt.body))
			key := demoKey
			if tt.keyHeader == "Authorization" {
				key = "Bearer " + demoKey
			}
			req.Header.Set(tt.keyHeader, key)
			w := &flushRecorder{ResponseRecorder: httptest.NewRecorder()}
			h.ServeHTTP(w, req)

			if got, want := w.Code, http.StatusOK; got != want {
				t.Fatalf("status = %d, want %d: %s", got, want, w.Body)
			}
			if w.flushes == 0 {
				t.Fatalf("no flush: %s", w.Body)
			}
			unflushed := w.Body.String()[w.flushedAt:]
			for _, ev := range tt.last {
				if !strings.Contains(unflushed, ev) {
					t.Errorf("%s was flushed by the handler; left unflushed: %q", ev, unflushed)
				}
			}
		})
	}
}
