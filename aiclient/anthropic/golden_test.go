package anthropic_test

import (
	"errors"
	"net/http"
	"testing"

	"go.uber.org/goleak"

	"github.com/portico-dev/portico/aiclient"
	"github.com/portico-dev/portico/aiclient/anthropic"
	"github.com/portico-dev/portico/aiclient/internal/testkit"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func connect(baseURL string) aiclient.Provider {
	return anthropic.New(anthropic.WithBaseURL(baseURL), anthropic.WithPolicies())
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
	testkit.ResponseFixtures(t, connect, "m", []testkit.Fixture{
		{Name: "a text answer with cache writes", File: "response_text.json", Want: "response_text.want.json"},
		{Name: "thinking, text and a tool call with cache reads", File: "response_tools.json", Want: "response_tools.want.json"},
	})
}

func TestDecodeStreamFixturesInHostileChunkings(t *testing.T) {
	t.Parallel()
	testkit.StreamFixtures(t, connect, "text/event-stream", "m", []testkit.Fixture{
		{Name: "a text stream with cache reads", File: "stream_text.sse", Want: "stream_text.want.json"},
		{Name: "thinking, text and two tool calls", File: "stream_tools.sse", Want: "stream_tools.want.json"},
	})
}

func TestStreamErrorEventAfterStatus200IsSurfaced(t *testing.T) {
	t.Parallel()
	testkit.StreamError(t, connect, "text/event-stream", "stream_error.sse", "m", "Partial", func(t *testing.T, err error) {
		var e *aiclient.Error
		if !errors.As(err, &e) {
			t.Fatalf("got %v, want an *aiclient.Error", err)
		}
		if got, want := testkit.FactsOf(e), (testkit.ErrorFacts{
			Status:    http.StatusOK,
			Kind:      aiclient.KindOverloaded,
			Code:      "overloaded_error",
			Retryable: true,
		}); got != want {
			t.Errorf("error = %+v, want %+v", got, want)
		}
	})
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
