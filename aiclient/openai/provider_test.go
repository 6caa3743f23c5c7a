package openai_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/aiclient"
	"github.com/portico-dev/portico/aiclient/aitest"
	"github.com/portico-dev/portico/aiclient/internal/testkit"
	"github.com/portico-dev/portico/aiclient/openai"
	"github.com/portico-dev/portico/resilience"
)

// richReply exercises every part of the neutral response.
func richReply() aitest.Reply {
	return aitest.Reply{
		Model:     "gpt-test-2025",
		Reasoning: "Thinking about ünïcode…",
		Text:      "Voilà: 你好, 世界 🎉",
		ToolCalls: []aitest.ToolCall{
			{Name: "get_weather", Arguments: `{"city":"Zürich","unit":"celsius"}`},
			{Name: "get_time", Arguments: `{"tz":"Europe/Zurich"}`},
		},
		Usage: aiclient.Usage{
			InputTokens:     1200,
			CacheReadTokens: 1024,
			OutputTokens:    350,
			ReasoningTokens: 200,
		},
	}
}

func TestStreamedAndWholeCallsGiveIdenticalResponses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		reply aitest.Reply
	}{
		{"a plain text answer", aitest.Text("Hello, wörld!", 10, 5)},
		{"reasoning, text, two tool calls and cached and reasoning tokens", richReply()},
		{"two tool calls streamed with interleaved fragments", func() aitest.Reply { r := richReply(); r.Interleave = true; r.ChunkSize = 1; return r }()},
		{"a reply cut by the length limit", aitest.Reply{Text: "truncat", FinishReason: "length", Usage: aiclient.Usage{InputTokens: 3, OutputTokens: 7}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := aitest.NewServer(aitest.OpenAI, aitest.WithSplitter(aitest.Bytewise))
			defer srv.Close()
			reply := tt.reply
			reply.ID = "chatcmpl-fixed"
			srv.Push(reply, reply)
			p := openai.New(openai.WithBaseURL(srv.URL()), openai.WithPolicies())
			req := &aiclient.Request{Model: "gpt-test", Messages: []aiclient.Message{aiclient.UserText("hi")}}
			testkit.SameWholeAndStreamed(t, p, req, reply.Usage)
		})
	}
}

func TestInterleavedToolCallFragmentsAreReassembled(t *testing.T) {
	t.Parallel()
	srv := aitest.NewServer(aitest.OpenAI)
	defer srv.Close()
	r := richReply()
	r.Interleave, r.ChunkSize = true, 2
	srv.Push(r)
	p := openai.New(openai.WithBaseURL(srv.URL()), openai.WithPolicies())
	s, err := p.Stream(testkit.Deadline(t), &aiclient.Request{Model: "gpt-test"})
	if err != nil {
		t.Fatal(err)
	}
	var indexes []int
	var events []aiclient.Event
	for s.Next() {
		if ev := s.Current(); ev.Type == aiclient.EventToolCall {
			indexes = append(indexes, ev.ToolCall.Index)
			events = append(events, ev)
		}
	}
	s.Close()
	if s.Err() != nil {
		t.Fatal(s.Err())
	}
	interleaved := false
	for i := 1; i < len(indexes); i++ {
		if indexes[i] < indexes[i-1] {
			interleaved = true
		}
	}
	if !interleaved {
		t.Fatalf("the fixture did not interleave: %v", indexes)
	}
	var acc aiclient.Accumulator
	for _, ev := range events {
		acc.Add(ev)
	}
	calls := acc.Response().Message.ToolCalls
	want := []aiclient.ToolCall{
		{ID: "call_0", Arguments: json.RawMessage(`{"city":"Zürich","unit":"celsius"}`)},
		{Name: "get_time", Arguments: json.RawMessage(`{"tz":"Europe/Zurich"}`)},
	}
	if got, want := len(calls), len(want); got != want {
		t.Fatalf("%d calls, want %d: %s", got, want, mustJSON(t, calls))
	}
	if got, want := calls[0].ID, want[0].ID; got != want {
		t.Errorf("calls[0].ID = %q, want %q", got, want)
	}
	if got, want := calls[1].Name, want[1].Name; got != want {
		t.Errorf("calls[1].Name = %q, want %q", got, want)
	}
	for i := range want {
		if got, want := string(calls[i].Arguments), string(want[i].Arguments); got != want {
			t.Errorf("calls[%d].Arguments = %s, want %s", i, got, want)
		}
	}
}

func TestErrorsAreNormalised(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		reply     aitest.Reply
		kind      aiclient.Kind
		retryable bool
		after     time.Duration
	}{
		{
			name:      "a 429 with retry-after-ms is a retryable rate limit",
			reply:     aitest.Reply{Status: 429, RetryAfter: 1500 * time.Millisecond},
			kind:      aiclient.KindRateLimited,
			retryable: true,
			after:     1500 * time.Millisecond,
		},
		{
			name:      "a 429 for insufficient quota is not retryable",
			reply:     aitest.Reply{Status: 429, ErrorCode: "insufficient_quota"},
			kind:      aiclient.KindQuotaExhausted,
			retryable: false,
			after:     0,
		},
		{
			name:      "a 400 for a long context says so",
			reply:     aitest.Reply{Status: 400, ErrorCode: "context_length_exceeded"},
			kind:      aiclient.KindContextLength,
			retryable: false,
			after:     0,
		},
		{
			name:      "a 401 is an authentication error",
			reply:     aitest.Reply{Status: 401, ErrorCode: "invalid_api_key"},
			kind:      aiclient.KindAuthentication,
			retryable: false,
			after:     0,
		},
		{
			name:      "a 500 is a retryable server error",
			reply:     aitest.Reply{Status: 500},
			kind:      aiclient.KindServer,
			retryable: true,
			after:     0,
		},
		{
			name:      "a 503 is overload",
			reply:     aitest.Reply{Status: 503},
			kind:      aiclient.KindOverloaded,
			retryable: true,
			after:     0,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := aitest.NewServer(aitest.OpenAI)
			defer srv.Close()
			srv.Push(tt.reply)
			p := openai.New(openai.WithBaseURL(srv.URL()), openai.WithAPIKey("sk-secret-key-123"), openai.WithPolicies())
			_, err := p.Chat(testkit.Deadline(t), &aiclient.Request{Model: "gpt-test"})
			var e *aiclient.Error
			if !errors.As(err, &e) {
				t.Fatalf("got %v, want *aiclient.Error", err)
			}
			if got, want := e.Kind, tt.kind; got != want {
				t.Errorf("Kind = %s, want %s", got, want)
			}
			if got, want := e.Retryable, tt.retryable; got != want {
				t.Errorf("Retryable = %v, want %v", got, want)
			}
			if got, want := e.RetryAfter, tt.after; got != want {
				t.Errorf("RetryAfter = %v, want %v", got, want)
			}
			if got, want := e.Provider, "openai"; got != want {
				t.Errorf("Provider = %q, want %q", got, want)
			}
			if got, want := e.Model, "gpt-test"; got != want {
				t.Errorf("Model = %q, want %q", got, want)
			}
			if strings.Contains(e.Error(), "sk-secret") {
				t.Fatalf("the key leaked into %q", e.Error())
			}
		})
	}
}

func TestTheAPIKeyIsRedactedFromProviderMessages(t *testing.T) {
	t.Parallel()
	srv := aitest.NewServer(aitest.OpenAI)
	defer srv.Close()
	srv.Push(aitest.Reply{Status: 401, ErrorMessage: "Incorrect API key provided: sk-secret-key-123."})
	p := openai.New(openai.WithBaseURL(srv.URL()), openai.WithAPIKey("sk-secret-key-123"), openai.WithPolicies())
	_, err := p.Chat(testkit.Deadline(t), &aiclient.Request{Model: "gpt-test"})
	if err == nil {
		t.Fatal("err = nil, want an error")
	}
	if strings.Contains(err.Error(), "sk-secret-key-123") {
		t.Errorf("error %v leaks the key", err)
	}
	if !strings.Contains(err.Error(), "[redacted]") {
		t.Errorf("error %v does not say [redacted]", err)
	}
}

func TestStreamFaultsAfterStatus200AreSurfaced(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		fault aitest.Fault
		code  string
	}{
		{"a stream cut mid-way", aitest.Cut, "stream_interrupted"},
		{"an error event mid-way", aitest.ErrorEvent, "server_error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := aitest.NewServer(aitest.OpenAI)
			defer srv.Close()
			srv.Push(aitest.Reply{Text: "a fairly long answer that will not finish", Fault: tt.fault, FaultAfter: 4})
			p := openai.New(openai.WithBaseURL(srv.URL()), openai.WithPolicies())
			s, err := p.Stream(testkit.Deadline(t), &aiclient.Request{Model: "gpt-test"})
			if err != nil {
				t.Fatal(err)
			}
			resp, err := aiclient.Collect(s)
			var e *aiclient.Error
			if !errors.As(err, &e) {
				t.Fatalf("got %v, want an *aiclient.Error with code %s", err, tt.code)
			}
			if got, want := e.Code, tt.code; got != want {
				t.Errorf("Code = %q, want %q", got, want)
			}
			if got, want := e.Status, http.StatusOK; got != want {
				t.Errorf("Status = %d, want %d", got, want)
			}
			if got := resp.Message.Text(); got != "a fairly " { // the role chunk, then 3 fragments of 3 runes
				t.Fatalf("text before the fault %q", got)
			}
		})
	}
}

func TestRetriesHonourRetryAfterThroughResilience(t *testing.T) {
	t.Parallel()
	srv := aitest.NewServer(aitest.OpenAI)
	defer srv.Close()
	srv.Push(aitest.Reply{Status: 429, RetryAfter: 20 * time.Millisecond}, aitest.Text("ok", 1, 1))
	var delays []time.Duration
	p := openai.New(openai.WithBaseURL(srv.URL()), openai.WithPolicies(resilience.Retry(resilience.RetryConfig{
		MaxAttempts: 3, RetryNonIdempotent: true,
		OnRetry: func(ev resilience.RetryEvent) { delays = append(delays, ev.Delay) },
	})))
	resp, err := p.Chat(testkit.Deadline(t), &aiclient.Request{Model: "gpt-test"})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := resp.Message.Text(), "ok"; got != want {
		t.Errorf("text = %q, want %q", got, want)
	}
	if got, want := len(srv.Requests()), 2; got != want {
		t.Errorf("%d requests, want %d", got, want)
	}
	if got, want := delays, []time.Duration{20 * time.Millisecond}; !slices.Equal(got, want) {
		t.Fatalf("retry delays %v, want the server's %v", got, want)
	}
}

func TestDefaultPoliciesOpenTheCircuitOfAFailingDeployment(t *testing.T) {
	t.Parallel()
	srv := aitest.NewServer(aitest.OpenAI)
	defer srv.Close()
	for range 5 {
		srv.Push(aitest.Reply{Status: 501}) // a server error that is not retried, but counted
	}
	p := openai.New(openai.WithBaseURL(srv.URL()))
	req := &aiclient.Request{Model: "gpt-test"}
	for i := range 5 {
		if _, err := p.Chat(testkit.Deadline(t), req); !aiclient.IsRetryable(err) {
			t.Fatalf("call %d succeeded", i)
		}
	}
	_, err := p.Chat(testkit.Deadline(t), req)
	var e *aiclient.Error
	if !errors.As(err, &e) {
		t.Fatalf("got %v, want an open circuit", err)
	}
	if got, want := e.Code, "circuit_open"; got != want {
		t.Errorf("Code = %q, want %q", got, want)
	}
	if got, want := e.Kind, aiclient.KindServer; got != want {
		t.Errorf("Kind = %s, want %s", got, want)
	}
	if !e.Retryable {
		t.Error("Retryable = false, want true")
	}
	if e.RetryAfter <= 0 {
		t.Errorf("RetryAfter = %v, want > 0", e.RetryAfter)
	}
	if n := len(srv.Requests()); n != 5 {
		t.Fatalf("the open circuit let a request through: %d requests", n)
	}
	// Another model on the same host is another deployment.
	srv.Push(aitest.Text("fine", 1, 1))
	if _, err := p.Chat(testkit.Deadline(t), &aiclient.Request{Model: "gpt-other"}); err != nil {
		t.Fatalf("another deployment is cooling off too: %v", err)
	}
}

func TestAzureUsesDeploymentURLsAndTheAPIKeyHeader(t *testing.T) {
	t.Parallel()
	srv := aitest.NewServer(aitest.OpenAI)
	defer srv.Close()
	srv.Push(aitest.Text("hi", 1, 1))
	base := strings.TrimSuffix(srv.URL(), "/v1")
	p := openai.New(openai.WithBaseURL(base), openai.WithAzure("2024-10-21"), openai.WithAPIKey("azure-key"), openai.WithPolicies())
	if p.Name() != "azure.ai.openai" {
		t.Fatalf("name %q", p.Name())
	}
	if _, err := p.Chat(testkit.Deadline(t), &aiclient.Request{Model: "my-gpt4o", Messages: []aiclient.Message{aiclient.UserText("hi")}}); err != nil {
		t.Fatal(err)
	}
	got := srv.Requests()[0]
	if got, want := got.Path, "/openai/deployments/my-gpt4o/chat/completions"; got != want {
		t.Errorf("path = %s, want %s", got, want)
	}
	if got, want := got.Query, "api-version=2024-10-21"; got != want {
		t.Errorf("query = %s, want %s", got, want)
	}
	if got, want := got.Header.Get("api-key"), "azure-key"; got != want {
		t.Errorf("api-key = %q, want %q", got, want)
	}
	if got := got.Header.Get("Authorization"); got != "" {
		t.Errorf("Authorization = %q, want none", got)
	}
}

func TestCompatibleServersGetBearerKeysCustomHeadersAndExtras(t *testing.T) {
	t.Parallel()
	srv := aitest.NewServer(aitest.OpenAI)
	defer srv.Close()
	srv.Push(aitest.Text("hi", 1, 1))
	p := openai.New(openai.WithBaseURL(srv.URL()), openai.WithAPIKey("gsk-1"), openai.WithHeader("HTTP-Referer", "https://example.com"),
		openai.WithLegacyMaxTokens(), openai.WithName("groq"), openai.WithPolicies())
	_, err := p.Chat(testkit.Deadline(t), &aiclient.Request{Model: "llama-3.3-70b", MaxOutputTokens: 64,
		Extra: map[string]json.RawMessage{"reasoning_effort": json.RawMessage(`"low"`)}})
	if err != nil {
		t.Fatal(err)
	}
	got := srv.Requests()[0]
	body := got.JSON()
	if got, want := got.Header.Get("Authorization"), "Bearer gsk-1"; got != want {
		t.Errorf("Authorization = %q, want %q", got, want)
	}
	if got, want := got.Header.Get("HTTP-Referer"), "https://example.com"; got != want {
		t.Errorf("HTTP-Referer = %q, want %q", got, want)
	}
	if got, want := body["max_tokens"], any(float64(64)); got != want {
		t.Errorf("max_tokens = %v, want %v", got, want)
	}
	if got := body["max_completion_tokens"]; got != nil {
		t.Errorf("max_completion_tokens = %v, want none", got)
	}
	if got, want := body["reasoning_effort"], any("low"); got != want {
		t.Errorf("reasoning_effort = %v, want %v", got, want)
	}
}

func TestEmbeddingsAndModels(t *testing.T) {
	t.Parallel()
	srv := aitest.NewServer(aitest.OpenAI, aitest.WithModels("gpt-4o", "text-embedding-3-small"))
	defer srv.Close()
	srv.Push(aitest.Reply{Embeddings: [][]float32{{0.1, 0.2}, {0.3, 0.4}}, Usage: aiclient.Usage{InputTokens: 8}})
	p := openai.New(openai.WithBaseURL(srv.URL()), openai.WithPolicies())
	emb, err := p.Embed(testkit.Deadline(t), &aiclient.EmbedRequest{Model: "text-embedding-3-small", Input: []string{"a", "b"}, Dimensions: 2})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(emb.Embeddings), 2; got != want {
		t.Fatalf("%d vectors, want %d", got, want)
	}
	if got, want := emb.Embeddings[1][1], float32(0.4); got != want {
		t.Errorf("Embeddings[1][1] = %v, want %v", got, want)
	}
	if got, want := emb.Usage.InputTokens, int64(8); got != want {
		t.Errorf("input tokens = %d, want %d", got, want)
	}
	body := srv.Requests()[0].JSON()
	if got, want := body["dimensions"], any(float64(2)); got != want {
		t.Errorf("dimensions = %v, want %v", got, want)
	}
	if got, want := body["encoding_format"], any("float"); got != want {
		t.Errorf("encoding_format = %v, want %v", got, want)
	}
	models, err := p.Models(testkit.Deadline(t))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(models), 2; got != want {
		t.Fatalf("%d models, want %d: %+v", got, want, models)
	}
	if got, want := models[1].ID, "text-embedding-3-small"; got != want {
		t.Errorf("models[1].ID = %q, want %q", got, want)
	}
	if got, want := models[0].OwnedBy, "aitest"; got != want {
		t.Errorf("models[0].OwnedBy = %q, want %q", got, want)
	}
	if models[0].Created.IsZero() {
		t.Error("models[0].Created is zero")
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// Regression test for issue 18: five 429s in a row opened the circuit, so
// the sixth call got "overloaded" from the breaker instead of the
// provider's own 429.
func TestFive429sInARowDoNotOpenTheCircuit(t *testing.T) {
	t.Parallel()
	srv := aitest.NewServer(aitest.OpenAI)
	defer srv.Close()
	for range 6 {
		srv.Push(aitest.Reply{Status: 429, RetryAfter: 7 * time.Second})
	}
	p := openai.New(openai.WithBaseURL(srv.URL()))
	req := &aiclient.Request{Model: "gpt-test"}
	for i := range 6 {
		_, err := p.Chat(testkit.Deadline(t), req)
		e, ok := errors.AsType[*aiclient.Error](err)
		if !ok {
			t.Fatalf("call %d: got %v, want an *aiclient.Error", i, err)
		}
		if got, want := e.Kind, aiclient.KindRateLimited; got != want {
			t.Errorf("call %d: kind %q, want %q", i, got, want)
		}
		if got, want := e.RetryAfter, 7*time.Second; got != want {
			t.Errorf("call %d: RetryAfter %v, want %v", i, got, want)
		}
		if got, want := e.Header.Get("Retry-After"), "7"; got != want {
			t.Errorf("call %d: header Retry-After %q, want %q", i, got, want)
		}
	}
	// A hint longer than the longest wait is not waited for: one request a call.
	if got, want := len(srv.Requests()), 6; got != want {
		t.Errorf("%d requests reached the provider, want %d", got, want)
	}
}

func TestARetryAfterWithinTheMaxRetryWaitIsRetried(t *testing.T) {
	t.Parallel()
	srv := aitest.NewServer(aitest.OpenAI)
	defer srv.Close()
	srv.Push(aitest.Reply{Status: 429, RetryAfter: time.Second}, aitest.Text("ok", 1, 1))
	p := openai.New(openai.WithBaseURL(srv.URL()), openai.WithMaxRetryWait(2*time.Second))
	resp, err := p.Chat(testkit.Deadline(t), &aiclient.Request{Model: "gpt-test"})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := resp.Message.Text(), "ok"; got != want {
		t.Errorf("text %q, want %q", got, want)
	}
	if got, want := len(srv.Requests()), 2; got != want {
		t.Errorf("%d requests, want %d", got, want)
	}
}
