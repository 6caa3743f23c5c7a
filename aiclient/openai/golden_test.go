package openai_test

import (
	"errors"
	"net/http"
	"testing"

	"go.uber.org/goleak"

	"github.com/portico-dev/portico/aiclient"
	"github.com/portico-dev/portico/aiclient/internal/testkit"
	"github.com/portico-dev/portico/aiclient/openai"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func connect(baseURL string) aiclient.Provider {
	return openai.New(openai.WithBaseURL(baseURL), openai.WithPolicies())
}

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
	testkit.ResponseFixtures(t, connect, "m", []testkit.Fixture{
		{Name: "a text answer with cached prompt tokens", File: "response_text.json", Want: "response_text.want.json"},
		{Name: "parallel tool calls with reasoning tokens", File: "response_tools.json", Want: "response_tools.want.json"},
	})
}

func TestDecodeStreamFixturesInHostileChunkings(t *testing.T) {
	t.Parallel()
	testkit.StreamFixtures(t, connect, "text/event-stream", "m", []testkit.Fixture{
		{Name: "a text stream with usage and Azure filter chunks", File: "stream_text.sse", Want: "stream_text.want.json"},
		{Name: "two parallel tool calls with interleaved fragments", File: "stream_tools.sse", Want: "stream_tools.want.json"},
	})
}

func TestStreamErrorAfterStatus200IsSurfaced(t *testing.T) {
	t.Parallel()
	testkit.StreamError(t, connect, "text/event-stream", "stream_error.sse", "m", "Partial", func(t *testing.T, err error) {
		var e *aiclient.Error
		if !errors.As(err, &e) {
			t.Fatalf("got %v, want an *aiclient.Error", err)
		}
		if got, want := testkit.FactsOf(e), (testkit.ErrorFacts{
			Status:    http.StatusOK,
			Kind:      aiclient.KindServer,
			Code:      "server_error",
			Retryable: true,
		}); got != want {
			t.Fatalf("error = %+v, want %+v", got, want)
		}
	})
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
