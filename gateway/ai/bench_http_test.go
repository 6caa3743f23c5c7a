package ai_test

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/portico-dev/portico/aiclient"
	"github.com/portico-dev/portico/aiclient/openai"
	"github.com/portico-dev/portico/gateway/ai"
	"github.com/portico-dev/portico/internal/cputime"
)

// mockAnswer is the text of mockProvider's answers.
var mockAnswer = strings.Repeat("Portico forwards this. ", 12)[:260]

// mockProvider serves OpenAI chat completions on a loopback port, as the
// load harness's mock provider does: a whole answer of about 670 bytes,
// or a stream of 20 content chunks, a finish chunk, a usage chunk and
// [DONE], each flushed. It counts the connections it accepts.
func mockProvider(b *testing.B) (*httptest.Server, *atomic.Int64) {
	const head = `"id":"chatcmpl-bench","created":1767225600,"model":"mock-1","system_fingerprint":"fp_bench"`
	const usage = `"usage":{"prompt_tokens":12,"completion_tokens":80,"total_tokens":92,"prompt_tokens_details":{"cached_tokens":0},"completion_tokens_details":{"reasoning_tokens":0}}`
	whole := fmt.Sprintf(`{%s,"object":"chat.completion","choices":[{"index":0,"finish_reason":"stop","logprobs":null,"message":{"role":"assistant","content":%q,"refusal":null}}],%s}`,
		head, mockAnswer, usage)
	var events []string
	piece := len(mockAnswer) / 20
	for i := range 20 {
		events = append(events, fmt.Sprintf(`{%s,"object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":%q},"finish_reason":null,"logprobs":null}]}`,
			head, mockAnswer[i*piece:(i+1)*piece]))
	}
	events = append(events,
		fmt.Sprintf(`{%s,"object":"chat.completion.chunk","choices":[{"index":0,"delta":{},"finish_reason":"stop","logprobs":null}]}`, head),
		fmt.Sprintf(`{%s,"object":"chat.completion.chunk","choices":[],%s}`, head, usage), "[DONE]")
	dials := new(atomic.Int64)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if !bytes.Contains(body, []byte(`"stream":true`)) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, whole)
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		for _, e := range events {
			_, _ = io.WriteString(w, "data: "+e+"\n\n")
			w.(http.Flusher).Flush()
		}
	}))
	srv.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			dials.Add(1)
		}
	}
	srv.Start()
	b.Cleanup(srv.Close)
	return srv, dials
}

// benchOverHTTP calls the handler's chat completions endpoint, whole or
// streamed, from parallel callers (1: one at a time), with the openai
// adapter calling mockProvider over loopback HTTP and the call record
// written as JSON to a discarded log, as the gateway does: what the
// gateway adds to a provider call, and the provider leg the in-memory
// benchmarks leave out. It reports the connections the provider accepted
// per call (dials/op).
func benchOverHTTP(b *testing.B, stream bool, parallel int) {
	srv, dials := mockProvider(b)
	p := openai.New(openai.WithBaseURL(srv.URL+"/v1"), openai.WithAPIKey("provider-key"))
	client := aiclient.New(aiclient.WithRoute("bench", aiclient.Candidate{Provider: p, Model: "mock-1"}))
	h, err := ai.New(client, ai.WithAuthenticator(keys()), ai.WithLogger(slog.New(slog.NewJSONHandler(io.Discard, nil))))
	if err != nil {
		b.Fatal(err)
	}
	body := []byte(`{"model":"bench","messages":[{"role":"system","content":"You are terse."},{"role":"user","content":"Say something about gateways."}]}`)
	want := `"finish_reason":"stop"`
	if stream {
		body = []byte(`{"model":"bench","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"system","content":"You are terse."},{"role":"user","content":"Say something about gateways."}]}`)
		want = "data: [DONE]"
	}
	one := func() error {
		req := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+demoKey)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), want) {
			return fmt.Errorf("status %d: %s", w.Code, w.Body)
		}
		return nil
	}
	b.ReportAllocs()
	defer cputime.PerOp(b)()
	if parallel <= 1 {
		for b.Loop() {
			if err := one(); err != nil {
				b.Fatal(err)
			}
		}
	} else {
		b.SetParallelism((parallel + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := one(); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	b.ReportMetric(float64(dials.Load())/float64(b.N), "dials/op")
}

// BenchmarkChatOverHTTP is a whole chat completion through the handler
// to a loopback provider (its side included).
func BenchmarkChatOverHTTP(b *testing.B) { benchOverHTTP(b, false, 1) }

// BenchmarkChatOverHTTPParallel is BenchmarkChatOverHTTP from 32
// callers at once, as the load harness calls: the provider's connections
// must be reused for it to cost what the one-at-a-time calls do.
func BenchmarkChatOverHTTPParallel(b *testing.B) { benchOverHTTP(b, false, 32) }

// BenchmarkStreamOverHTTP is a streamed chat completion, 20 chunks and
// usage, through the handler to a loopback provider (its side included).
func BenchmarkStreamOverHTTP(b *testing.B) { benchOverHTTP(b, true, 1) }

// BenchmarkStreamOverHTTPParallel is BenchmarkStreamOverHTTP from 32
// callers at once.
func BenchmarkStreamOverHTTPParallel(b *testing.B) { benchOverHTTP(b, true, 32) }
