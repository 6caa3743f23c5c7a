package gemini_test

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/aiclient"
	"github.com/portico-dev/portico/aiclient/aitest"
	"github.com/portico-dev/portico/aiclient/gemini"
	"github.com/portico-dev/portico/aiclient/internal/testkit"
	"github.com/portico-dev/portico/resilience"
)

func TestStreamedAndWholeCallsGiveIdenticalResponses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		reply aitest.Reply
	}{
		{"a plain text answer with a signature", aitest.Reply{Text: "Grüß Gott — 你好!", Signature: "c2lnbmF0dXJl", Usage: aiclient.Usage{InputTokens: 6, OutputTokens: 9}}},
		{"thoughts, text, two function calls and cached and thinking tokens", aitest.Reply{
			Reasoning: "Pondering… carefully.",
			Signature: "sig-fc",
			Text:      "Let me look that up.",
			ToolCalls: []aitest.ToolCall{{Name: "get_weather", Arguments: `{"city":"Kraków"}`}, {Name: "get_time", Arguments: `{"tz":"Europe/Warsaw"}`}},
			Usage: aiclient.Usage{
				InputTokens:     3000,
				CacheReadTokens: 2048,
				OutputTokens:    500,
				ReasoningTokens: 350,
			},
		}},
		{"a reply cut at MAX_TOKENS", aitest.Reply{Text: "truncated", FinishReason: "MAX_TOKENS", Usage: aiclient.Usage{InputTokens: 2, OutputTokens: 3}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := aitest.NewServer(aitest.Gemini, aitest.WithSplitter(aitest.SplitRunes), aitest.WithCRLF())
			defer srv.Close()
			reply := tt.reply
			reply.ID = "resp-fixed"
			srv.Push(reply, reply)
			p := gemini.New(gemini.WithBaseURL(srv.URL()), gemini.WithAPIKey("AIza-test"), gemini.WithPolicies())
			req := &aiclient.Request{Model: "gemini-2.5-flash", Messages: []aiclient.Message{aiclient.UserText("hi")}}
			testkit.SameWholeAndStreamed(t, p, req, tt.reply.Usage)
			reqs := srv.Requests()
			if got, want := reqs[0].Path, "/v1beta/models/gemini-2.5-flash:generateContent"; got != want {
				t.Errorf("chat path = %s, want %s", got, want)
			}
			if got, want := reqs[1].Path, "/v1beta/models/gemini-2.5-flash:streamGenerateContent"; got != want {
				t.Errorf("stream path = %s, want %s", got, want)
			}
			if got, want := reqs[1].Query, "alt=sse"; got != want {
				t.Errorf("stream query = %s, want %s", got, want)
			}
			if got, want := reqs[0].Header.Get("x-goog-api-key"), "AIza-test"; got != want {
				t.Errorf("x-goog-api-key = %q, want %q", got, want)
			}
		})
	}
}

func TestRetryInfoGivesTheRetryAfter(t *testing.T) {
	t.Parallel()
	srv := aitest.NewServer(aitest.Gemini)
	defer srv.Close()
	srv.Push(aitest.Reply{Status: 429, RetryAfter: 37 * time.Second, ErrorMessage: "You exceeded your current quota. key=AIza-secret"})
	p := gemini.New(gemini.WithBaseURL(srv.URL()), gemini.WithAPIKey("AIza-secret"), gemini.WithPolicies())
	_, err := p.Chat(testkit.Deadline(t), &aiclient.Request{Model: "gemini-2.5-pro"})
	var e *aiclient.Error
	if !errors.As(err, &e) {
		t.Fatalf("got %v, want an *aiclient.Error", err)
	}
	if got, want := e.Kind, aiclient.KindRateLimited; got != want {
		t.Errorf("Kind = %s, want %s", got, want)
	}
	if got, want := e.RetryAfter, 37*time.Second; got != want {
		t.Errorf("RetryAfter = %v, want %v", got, want)
	}
	if got, want := e.Code, "RESOURCE_EXHAUSTED"; got != want {
		t.Errorf("Code = %q, want %q", got, want)
	}
	if !e.Retryable {
		t.Error("Retryable = false, want true")
	}
	if strings.Contains(e.Error(), "AIza-secret") {
		t.Fatalf("the key leaked: %v", e)
	}
}

func TestToolResultsAreNamedAfterTheirCalls(t *testing.T) {
	t.Parallel()
	p := gemini.New()
	conv := []aiclient.Message{
		aiclient.UserText("weather?"),
		{Role: aiclient.RoleAssistant, ToolCalls: []aiclient.ToolCall{{
			ID:        "call_0",
			Name:      "get_weather",
			Arguments: json.RawMessage(`{"city":"Oslo"}`),
			Signature: "sig",
		}}},
		aiclient.ToolResult("call_0", "sunny"),
		{
			Role:       aiclient.RoleTool,
			ToolCallID: "other",
			Name:       "get_time",
			Parts:      []aiclient.Part{aiclient.Text("noon")},
			IsError:    true,
		},
	}
	body, err := p.EncodeRequest(&aiclient.Request{Model: "m", Messages: conv})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"contents":[{"role":"user","parts":[{"text":"weather?"}]},` +
		`{"role":"model","parts":[{"thoughtSignature":"sig","functionCall":{"name":"get_weather","args":{"city":"Oslo"}}}]},` +
		`{"role":"user","parts":[{"functionResponse":{"name":"get_weather","response":{"result":"sunny"}}},{"functionResponse":{"name":"get_time","response":{"error":"noon"}}}]}]}`
	if string(body) != want {
		t.Fatalf("got  %s\nwant %s", body, want)
	}
	_, err = p.EncodeRequest(&aiclient.Request{Model: "m", Messages: []aiclient.Message{aiclient.ToolResult("unknown", "x")}})
	testkit.WantError(t, err, "Message.Name")
}

func TestEmbeddingsAndModels(t *testing.T) {
	t.Parallel()
	srv := aitest.NewServer(aitest.Gemini, aitest.WithModels("gemini-2.5-flash", "gemini-embedding-001"))
	defer srv.Close()
	srv.Push(aitest.Reply{Embeddings: [][]float32{{0.5, -0.5}, {1, 0}}})
	p := gemini.New(gemini.WithBaseURL(srv.URL()), gemini.WithPolicies())
	emb, err := p.Embed(testkit.Deadline(t), &aiclient.EmbedRequest{Model: "gemini-embedding-001", Input: []string{"a", "b"}, Dimensions: 2})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(emb.Embeddings), 2; got != want {
		t.Fatalf("%d vectors, want %d", got, want)
	}
	if got, want := emb.Embeddings[0][1], float32(-0.5); got != want {
		t.Fatalf("Embeddings[0][1] = %v, want %v", got, want)
	}
	body := srv.Requests()[0].JSON()
	first := body["requests"].([]any)[0].(map[string]any)
	if got, want := first["model"], any("models/gemini-embedding-001"); got != want {
		t.Errorf("embed request model = %v, want %v", got, want)
	}
	if got, want := first["outputDimensionality"], any(float64(2)); got != want {
		t.Errorf("embed request outputDimensionality = %v, want %v", got, want)
	}
	models, err := p.Models(testkit.Deadline(t))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(models), 2; got != want {
		t.Fatalf("%d models, want %d: %+v", got, want, models)
	}
	if got, want := models[1].ID, "gemini-embedding-001"; got != want {
		t.Fatalf("models[1].ID = %q, want %q", got, want)
	}
}

func TestRetriesHonourRetryInfoThroughResilience(t *testing.T) {
	t.Parallel()
	srv := aitest.NewServer(aitest.Gemini)
	defer srv.Close()
	srv.Push(aitest.Reply{Status: 429, RetryAfter: 30 * time.Millisecond}, aitest.Text("ok", 1, 1))
	var delays []time.Duration
	p := gemini.New(gemini.WithBaseURL(srv.URL()), gemini.WithPolicies(resilience.Retry(resilience.RetryConfig{
		MaxAttempts: 2, RetryNonIdempotent: true,
		OnRetry: func(ev resilience.RetryEvent) { delays = append(delays, ev.Delay) },
	})))
	resp, err := p.Chat(testkit.Deadline(t), &aiclient.Request{Model: "gemini-2.5-flash"})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := resp.Message.Text(), "ok"; got != want {
		t.Fatalf("text = %q, want %q", got, want)
	}
	if got, want := delays, []time.Duration{30 * time.Millisecond}; !slices.Equal(got, want) {
		t.Fatalf("retry delays %v, want RetryInfo's %v", got, want)
	}
}

func TestLogprobsResultIsReadInOpenAIsShape(t *testing.T) {
	t.Parallel()
	body := `{"candidates":[{"content":{"role":"model","parts":[{"text":"Hi!"}]},"finishReason":"STOP",
		"logprobsResult":{"topCandidates":[{"candidates":[{"token":"Hi","logProbability":-0.25},{"token":"Hey","logProbability":-1.5}]},
		{"candidates":[{"token":"!","logProbability":-0.5}]}],
		"chosenCandidates":[{"token":"Hi","logProbability":-0.25},{"token":"!","logProbability":-0.5}]}}],
		"createTime":"2025-10-02T09:14:51.483021Z","modelVersion":"gemini-2.5-flash","responseId":"r1"}`
	resp, err := gemini.New().DecodeResponse("gemini-2.5-flash", []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	got, err := json.Marshal(resp.Logprobs)
	if err != nil {
		t.Fatal(err)
	}
	want := `[{"token":"Hi","logprob":-0.25,"bytes":[72,105],"top_logprobs":[{"token":"Hi","logprob":-0.25,"bytes":[72,105]},{"token":"Hey","logprob":-1.5,"bytes":[72,101,121]}]},` +
		`{"token":"!","logprob":-0.5,"bytes":[33],"top_logprobs":[{"token":"!","logprob":-0.5,"bytes":[33]}]}]`
	if string(got) != want {
		t.Errorf("logprobs %s, want %s", got, want)
	}
	if got, want := resp.Created, time.Date(2025, 10, 2, 9, 14, 51, 483021000, time.UTC); !got.Equal(want) {
		t.Errorf("created %v, want %v", got, want)
	}
	if got, want := resp.Message.Text(), "Hi!"; got != want {
		t.Errorf("text %q, want %q", got, want)
	}
}
