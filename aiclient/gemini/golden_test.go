package gemini_test

import (
	"errors"
	"net/http"
	"testing"

	"go.uber.org/goleak"

	"github.com/portico-dev/portico/aiclient"
	"github.com/portico-dev/portico/aiclient/gemini"
	"github.com/portico-dev/portico/aiclient/internal/testkit"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func connect(baseURL string) aiclient.Provider {
	return gemini.New(gemini.WithBaseURL(baseURL), gemini.WithPolicies())
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
	testkit.ResponseFixtures(t, connect, "gemini-2.5-flash", []testkit.Fixture{
		{Name: "thoughts, text, cached and thinking tokens", File: "response_text.json", Want: "response_text.want.json"},
		{Name: "parallel function calls with a thought signature", File: "response_tools.json", Want: "response_tools.want.json"},
		{Name: "a prompt blocked before any candidate", File: "response_blocked.json", Want: "response_blocked.want.json"},
	})
}

func TestDecodeStreamFixturesInHostileChunkings(t *testing.T) {
	t.Parallel()
	testkit.StreamFixtures(t, connect, "text/event-stream", "gemini-2.5-flash", []testkit.Fixture{
		{Name: "thoughts and text with usage from the last chunk", File: "stream_text.sse", Want: "stream_text.want.json"},
		{Name: "function calls in the last chunk", File: "stream_tools.sse", Want: "stream_tools.want.json"},
	})
}

func TestStreamErrorAfterStatus200IsSurfaced(t *testing.T) {
	t.Parallel()
	testkit.StreamError(t, connect, "text/event-stream", "stream_error.sse", "gemini-2.5-flash", "Partial", func(t *testing.T, err error) {
		var e *aiclient.Error
		if !errors.As(err, &e) {
			t.Fatalf("got %v, want an *aiclient.Error", err)
		}
		if got, want := testkit.FactsOf(e), (testkit.ErrorFacts{
			Status:    http.StatusOK,
			Kind:      aiclient.KindOverloaded,
			Code:      "UNAVAILABLE",
			Retryable: true,
		}); got != want {
			t.Errorf("error = %+v, want %+v", got, want)
		}
	})
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
