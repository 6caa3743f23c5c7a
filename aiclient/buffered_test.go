package aiclient_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/portico-dev/portico/aiclient"
	"github.com/portico-dev/portico/aiclient/anthropic"
	"github.com/portico-dev/portico/aiclient/openai"
)

// burstServer answers every request with body as an event stream, in
// one write.
func burstServer(t *testing.T, body string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestStreamBufferedIsForwardedThroughTheClient(t *testing.T) {
	t.Parallel()
	const chunk = `data: {"id":"c1","model":"m","choices":[{"index":0,"delta":{"content":"x"}}]}` + "\n\n"
	// An empty delta between the first two contents means nothing to the
	// caller: Buffered reads past it.
	const empty = `data: {"id":"c1","model":"m","choices":[{"index":0,"delta":{}}]}` + "\n\n"
	tests := []struct {
		name     string
		provider func(url string) aiclient.Provider
		body     string
		events   int
	}{
		{
			name: "openai",
			provider: func(url string) aiclient.Provider {
				return openai.New(openai.WithBaseURL(url), openai.WithAPIKey("k"), openai.WithPolicies())
			},
			body:   chunk + empty + chunk + chunk + `data: {"id":"c1","model":"m","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}` + "\n\ndata: [DONE]\n\n",
			events: 5,
		},
		{
			name: "anthropic",
			provider: func(url string) aiclient.Provider {
				return anthropic.New(anthropic.WithBaseURL(url), anthropic.WithAPIKey("k"), anthropic.WithPolicies())
			},
			body: "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m1\",\"model\":\"claude\",\"usage\":{\"input_tokens\":3,\"output_tokens\":1}}}\n\n" +
				"event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n" +
				"event: ping\ndata: {\"type\":\"ping\"}\n\n" +
				"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"x\"}}\n\n" +
				"event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n" +
				"event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":2}}\n\n" +
				"event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
			events: 0,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := burstServer(t, tt.body)
			c := aiclient.New(aiclient.WithRoute("a", aiclient.Candidate{Provider: tt.provider(srv.URL), Model: "m"}))
			s, err := c.Stream(context.Background(), &aiclient.Request{Model: "a", Messages: []aiclient.Message{aiclient.UserText("hi")}})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			n := 0
			for s.Next() {
				n++
				// The provider sent everything at once: while events are
				// left, the next one (or the end) is already here.
				if got, want := s.Buffered(), true; got != want {
					t.Errorf("after event %d (%v): Buffered() = %v, want %v", n, s.Current().Type, got, want)
				}
			}
			if err := s.Err(); err != nil {
				t.Fatal(err)
			}
			if tt.events > 0 {
				if got, want := n, tt.events; got != want {
					t.Errorf("events = %d, want %d", got, want)
				}
			}
			if got, want := s.Buffered(), false; got != want {
				t.Errorf("after the end: Buffered() = %v, want %v", got, want)
			}
		})
	}
}

func TestStreamWithoutAHintIsNeverBuffered(t *testing.T) {
	t.Parallel()
	evs := []aiclient.Event{{Type: aiclient.EventText, Text: "a"}, {Type: aiclient.EventText, Text: "b"}}
	s := aiclient.NewStream(func() (aiclient.Event, error) {
		if len(evs) == 0 {
			return aiclient.Event{}, io.EOF
		}
		ev := evs[0]
		evs = evs[1:]
		return ev, nil
	}, nil)
	for s.Next() {
		if got, want := s.Buffered(), false; got != want {
			t.Errorf("Buffered() = %v, want %v", got, want)
		}
	}
}
