package anthropic_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/portico-dev/portico/aiclient"
	"github.com/portico-dev/portico/aiclient/anthropic"
	"github.com/portico-dev/portico/aiclient/internal/testkit"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func deadline(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestEncodeRequestMatchesGolden(t *testing.T) {
	t.Parallel()
	body, err := anthropic.New().EncodeRequest(testkit.SampleRequest(), true)
	if err != nil {
		t.Fatal(err)
	}
	testkit.Golden(t, "request.golden.json", body)
}

func TestDecodeResponseFixtures(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, fixture, want string }{
		{"a text answer with cache writes", "response_text.json", "response_text.want.json"},
		{"thinking, text and a tool call with cache reads", "response_tools.json", "response_tools.want.json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := testkit.Serve(t, "application/json", testkit.Read(t, tt.fixture), testkit.Chunking{})
			p := anthropic.New(anthropic.WithBaseURL(srv.URL), anthropic.WithPolicies())
			resp, err := p.Chat(deadline(t), &aiclient.Request{Model: "m", Messages: []aiclient.Message{aiclient.UserText("hi")}})
			if err != nil {
				t.Fatal(err)
			}
			testkit.Golden(t, tt.want, testkit.JSON(t, resp))
		})
	}
}

func TestDecodeStreamFixturesInHostileChunkings(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, fixture, want string }{
		{"a text stream with cache reads", "stream_text.sse", "stream_text.want.json"},
		{"thinking, text and two tool calls", "stream_tools.sse", "stream_tools.want.json"},
	}
	for _, tt := range tests {
		for _, c := range testkit.Chunkings {
			t.Run(tt.name+" delivered "+c.Name, func(t *testing.T) {
				t.Parallel()
				srv := testkit.Serve(t, "text/event-stream", testkit.Read(t, tt.fixture), c)
				p := anthropic.New(anthropic.WithBaseURL(srv.URL), anthropic.WithPolicies())
				s, err := p.Stream(deadline(t), &aiclient.Request{Model: "m", Messages: []aiclient.Message{aiclient.UserText("hi")}})
				if err != nil {
					t.Fatal(err)
				}
				resp, err := aiclient.Collect(s)
				if err != nil {
					t.Fatal(err)
				}
				if *testkit.Update && c.Split != nil {
					return
				}
				testkit.Golden(t, tt.want, testkit.JSON(t, resp))
			})
		}
	}
}

func TestStreamErrorEventAfterStatus200IsSurfaced(t *testing.T) {
	t.Parallel()
	for _, c := range testkit.Chunkings {
		t.Run("delivered "+c.Name, func(t *testing.T) {
			t.Parallel()
			srv := testkit.Serve(t, "text/event-stream", testkit.Read(t, "stream_error.sse"), c)
			p := anthropic.New(anthropic.WithBaseURL(srv.URL), anthropic.WithPolicies())
			s, err := p.Stream(deadline(t), &aiclient.Request{Model: "m"})
			if err != nil {
				t.Fatal(err)
			}
			resp, err := aiclient.Collect(s)
			var e *aiclient.Error
			if !errors.As(err, &e) || e.Status != http.StatusOK || e.Kind != aiclient.KindOverloaded || e.Code != "overloaded_error" || !e.Retryable {
				t.Fatalf("got %v (%+v)", err, e)
			}
			if resp.Message.Text() != "Partial" {
				t.Fatalf("partial text %q", resp.Message.Text())
			}
		})
	}
}

func TestFinishReasonsAreNormalised(t *testing.T) {
	t.Parallel()
	tests := map[string]aiclient.FinishReason{
		"end_turn": aiclient.FinishStop, "stop_sequence": aiclient.FinishStop, "pause_turn": aiclient.FinishStop,
		"max_tokens": aiclient.FinishLength, "model_context_window_exceeded": aiclient.FinishLength,
		"tool_use": aiclient.FinishToolCalls, "refusal": aiclient.FinishContentFilter,
	}
	for raw, want := range tests {
		if got := anthropic.FinishReason(raw); got != want {
			t.Errorf("FinishReason(%q) = %q, want %q", raw, got, want)
		}
	}
}
