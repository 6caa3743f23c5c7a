package openai_test

import (
	"encoding/json"
	"errors"
	"net/http"
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
		Usage: aiclient.Usage{InputTokens: 1200, CacheReadTokens: 1024, OutputTokens: 350, ReasoningTokens: 200},
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
	if len(calls) != 2 || string(calls[0].Arguments) != `{"city":"Zürich","unit":"celsius"}` || string(calls[1].Arguments) != `{"tz":"Europe/Zurich"}` ||
		calls[0].ID != "call_0" || calls[1].Name != "get_time" {
		t.Fatalf("reassembled calls %s", mustJSON(t, calls))
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
		{"a 429 with retry-after-ms is a retryable rate limit", aitest.Reply{Status: 429, RetryAfter: 1500 * time.Millisecond}, aiclient.KindRateLimited, true, 1500 * time.Millisecond},
		{"a 429 for insufficient quota is not retryable", aitest.Reply{Status: 429, ErrorCode: "insufficient_quota"}, aiclient.KindQuotaExhausted, false, 0},
		{"a 400 for a long context says so", aitest.Reply{Status: 400, ErrorCode: "context_length_exceeded"}, aiclient.KindContextLength, false, 0},
		{"a 401 is an authentication error", aitest.Reply{Status: 401, ErrorCode: "invalid_api_key"}, aiclient.KindAuthentication, false, 0},
		{"a 500 is a retryable server error", aitest.Reply{Status: 500}, aiclient.KindServer, true, 0},
		{"a 503 is overload", aitest.Reply{Status: 503}, aiclient.KindOverloaded, true, 0},
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
			if e.Kind != tt.kind || e.Retryable != tt.retryable || e.RetryAfter != tt.after || e.Provider != "openai" || e.Model != "gpt-test" {
				t.Fatalf("error %+v", e)
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
	if err == nil || strings.Contains(err.Error(), "sk-secret-key-123") || !strings.Contains(err.Error(), "[redacted]") {
		t.Fatalf("error %v", err)
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
			if !errors.As(err, &e) || e.Code != tt.code || e.Status != http.StatusOK {
				t.Fatalf("got %v (%+v), want code %s", err, e, tt.code)
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
	if resp.Message.Text() != "ok" || len(srv.Requests()) != 2 {
		t.Fatalf("text %q after %d requests", resp.Message.Text(), len(srv.Requests()))
	}
	if len(delays) != 1 || delays[0] != 20*time.Millisecond {
		t.Fatalf("retry delays %v, want the server's 20ms", delays)
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
	if !errors.As(err, &e) || e.Code != "circuit_open" || e.Kind != aiclient.KindServer || !e.Retryable || e.RetryAfter <= 0 {
		t.Fatalf("got %v (%+v), want an open circuit", err, e)
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
	if got.Path != "/openai/deployments/my-gpt4o/chat/completions" || got.Query != "api-version=2024-10-21" {
		t.Fatalf("request to %s?%s", got.Path, got.Query)
	}
	if got.Header.Get("api-key") != "azure-key" || got.Header.Get("Authorization") != "" {
		t.Fatalf("headers %v", got.Header)
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
	if got.Header.Get("Authorization") != "Bearer gsk-1" || got.Header.Get("HTTP-Referer") != "https://example.com" {
		t.Fatalf("headers %v", got.Header)
	}
	if body["max_tokens"] != float64(64) || body["max_completion_tokens"] != nil || body["reasoning_effort"] != "low" {
		t.Fatalf("body %v", body)
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
	if len(emb.Embeddings) != 2 || emb.Embeddings[1][1] != 0.4 || emb.Usage.InputTokens != 8 {
		t.Fatalf("embeddings %+v", emb)
	}
	if body := srv.Requests()[0].JSON(); body["dimensions"] != float64(2) || body["encoding_format"] != "float" {
		t.Fatalf("body %v", body)
	}
	models, err := p.Models(testkit.Deadline(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(models) != 2 || models[1].ID != "text-embedding-3-small" || models[0].OwnedBy != "aitest" || models[0].Created.IsZero() {
		t.Fatalf("models %+v", models)
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
