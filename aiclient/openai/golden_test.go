package openai_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/portico-dev/portico/aiclient"
	"github.com/portico-dev/portico/aiclient/internal/testkit"
	"github.com/portico-dev/portico/aiclient/openai"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestEncodeRequestMatchesGolden(t *testing.T) {
	t.Parallel()
	body, err := openai.New().EncodeRequest(testkit.SampleRequest(), true)
	if err != nil {
		t.Fatal(err)
	}
	testkit.Golden(t, "request.golden.json", body)
}

func TestDecodeResponseFixtures(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, fixture, want string }{
		{"a text answer with cached prompt tokens", "response_text.json", "response_text.want.json"},
		{"parallel tool calls with reasoning tokens", "response_tools.json", "response_tools.want.json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := testkit.Serve(t, "application/json", testkit.Read(t, tt.fixture), testkit.Chunking{})
			p := openai.New(openai.WithBaseURL(srv.URL), openai.WithPolicies())
			resp, err := p.Chat(context.Background(), &aiclient.Request{Model: "m", Messages: []aiclient.Message{aiclient.UserText("hi")}})
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
		{"a text stream with usage and Azure filter chunks", "stream_text.sse", "stream_text.want.json"},
		{"two parallel tool calls with interleaved fragments", "stream_tools.sse", "stream_tools.want.json"},
	}
	for _, tt := range tests {
		for _, c := range testkit.Chunkings {
			t.Run(tt.name+" delivered "+c.Name, func(t *testing.T) {
				t.Parallel()
				srv := testkit.Serve(t, "text/event-stream", testkit.Read(t, tt.fixture), c)
				p := openai.New(openai.WithBaseURL(srv.URL), openai.WithPolicies())
				s, err := p.Stream(context.Background(), &aiclient.Request{Model: "m", Messages: []aiclient.Message{aiclient.UserText("hi")}})
				if err != nil {
					t.Fatal(err)
				}
				resp, err := aiclient.Collect(s)
				if err != nil {
					t.Fatal(err)
				}
				if *testkit.Update && c.Split != nil {
					return // write the golden file once, from the whole delivery
				}
				testkit.Golden(t, tt.want, testkit.JSON(t, resp))
			})
		}
	}
}

func TestStreamErrorAfterStatus200IsSurfaced(t *testing.T) {
	t.Parallel()
	for _, c := range testkit.Chunkings {
		t.Run("delivered "+c.Name, func(t *testing.T) {
			t.Parallel()
			srv := testkit.Serve(t, "text/event-stream", testkit.Read(t, "stream_error.sse"), c)
			p := openai.New(openai.WithBaseURL(srv.URL), openai.WithPolicies())
			s, err := p.Stream(context.Background(), &aiclient.Request{Model: "m"})
			if err != nil {
				t.Fatal(err)
			}
			resp, err := aiclient.Collect(s)
			var e *aiclient.Error
			if !errors.As(err, &e) {
				t.Fatalf("got %v, want an *aiclient.Error", err)
			}
			if e.Status != http.StatusOK || e.Kind != aiclient.KindServer || e.Code != "server_error" || !e.Retryable {
				t.Fatalf("error %+v", e)
			}
			if resp.Message.Text() != "Partial" {
				t.Fatalf("partial response %q, want the text before the error", resp.Message.Text())
			}
		})
	}
}

func TestFinishReasonsAreNormalised(t *testing.T) {
	t.Parallel()
	tests := []struct {
		raw  string
		want aiclient.FinishReason
	}{
		{"stop", aiclient.FinishStop},
		{"length", aiclient.FinishLength},
		{"tool_calls", aiclient.FinishToolCalls},
		{"function_call", aiclient.FinishToolCalls},
		{"content_filter", aiclient.FinishContentFilter},
		{"error", aiclient.FinishError},
		{"eos", aiclient.FinishStop},
	}
	for _, tt := range tests {
		if got := openai.FinishReason(tt.raw); got != tt.want {
			t.Errorf("FinishReason(%q) = %q, want %q", tt.raw, got, tt.want)
		}
	}
}

// deadline bounds a test's calls generously, for loaded machines.
func deadline(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}
