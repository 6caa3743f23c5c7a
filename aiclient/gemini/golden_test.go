package gemini_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/portico-dev/portico/aiclient"
	"github.com/portico-dev/portico/aiclient/gemini"
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
	body, err := gemini.New().EncodeRequest(testkit.SampleRequest())
	if err != nil {
		t.Fatal(err)
	}
	testkit.Golden(t, "request.golden.json", body)
}

func TestDecodeResponseFixtures(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, fixture, want string }{
		{"thoughts, text, cached and thinking tokens", "response_text.json", "response_text.want.json"},
		{"parallel function calls with a thought signature", "response_tools.json", "response_tools.want.json"},
		{"a prompt blocked before any candidate", "response_blocked.json", "response_blocked.want.json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := testkit.Serve(t, "application/json", testkit.Read(t, tt.fixture), testkit.Chunking{})
			p := gemini.New(gemini.WithBaseURL(srv.URL), gemini.WithPolicies())
			resp, err := p.Chat(deadline(t), &aiclient.Request{Model: "gemini-2.5-flash", Messages: []aiclient.Message{aiclient.UserText("hi")}})
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
		{"thoughts and text with usage from the last chunk", "stream_text.sse", "stream_text.want.json"},
		{"function calls in the last chunk", "stream_tools.sse", "stream_tools.want.json"},
	}
	for _, tt := range tests {
		for _, c := range testkit.Chunkings {
			t.Run(tt.name+" delivered "+c.Name, func(t *testing.T) {
				t.Parallel()
				srv := testkit.Serve(t, "text/event-stream", testkit.Read(t, tt.fixture), c)
				p := gemini.New(gemini.WithBaseURL(srv.URL), gemini.WithPolicies())
				s, err := p.Stream(deadline(t), &aiclient.Request{Model: "gemini-2.5-flash", Messages: []aiclient.Message{aiclient.UserText("hi")}})
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

func TestStreamErrorAfterStatus200IsSurfaced(t *testing.T) {
	t.Parallel()
	for _, c := range testkit.Chunkings {
		t.Run("delivered "+c.Name, func(t *testing.T) {
			t.Parallel()
			srv := testkit.Serve(t, "text/event-stream", testkit.Read(t, "stream_error.sse"), c)
			p := gemini.New(gemini.WithBaseURL(srv.URL), gemini.WithPolicies())
			s, err := p.Stream(deadline(t), &aiclient.Request{Model: "gemini-2.5-flash"})
			if err != nil {
				t.Fatal(err)
			}
			resp, err := aiclient.Collect(s)
			var e *aiclient.Error
			if !errors.As(err, &e) || e.Status != http.StatusOK || e.Kind != aiclient.KindOverloaded || e.Code != "UNAVAILABLE" || !e.Retryable {
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
	tests := []struct {
		raw   string
		calls bool
		want  aiclient.FinishReason
	}{
		{"STOP", false, aiclient.FinishStop},
		{"STOP", true, aiclient.FinishToolCalls},
		{"MAX_TOKENS", false, aiclient.FinishLength},
		{"SAFETY", false, aiclient.FinishContentFilter},
		{"RECITATION", false, aiclient.FinishContentFilter},
		{"PROHIBITED_CONTENT", false, aiclient.FinishContentFilter},
		{"MALFORMED_FUNCTION_CALL", true, aiclient.FinishError},
		{"OTHER", false, aiclient.FinishError},
	}
	for _, tt := range tests {
		if got := gemini.FinishReason(tt.raw, tt.calls); got != tt.want {
			t.Errorf("FinishReason(%q, %v) = %q, want %q", tt.raw, tt.calls, got, tt.want)
		}
	}
}
