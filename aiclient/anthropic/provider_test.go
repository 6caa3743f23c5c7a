package anthropic_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/portico-dev/portico/aiclient"
	"github.com/portico-dev/portico/aiclient/aitest"
	"github.com/portico-dev/portico/aiclient/anthropic"
	"github.com/portico-dev/portico/aiclient/internal/testkit"
)

func TestStreamedAndWholeCallsGiveIdenticalResponses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		reply aitest.Reply
	}{
		{"a plain text answer", aitest.Text("Bonjour, ça va? 👋", 10, 5)},
		{"thinking, text, two tool calls and cache reads and writes", aitest.Reply{
			Reasoning: "Let me think… über carefully.",
			Signature: "sig-abc==",
			Text:      "Calling tools: 天气",
			ToolCalls: []aitest.ToolCall{{ID: "toolu_1", Name: "get_weather", Arguments: `{"city":"Zürich"}`}, {ID: "toolu_2", Name: "get_time", Arguments: `{}`}},
			Usage: aiclient.Usage{
				InputTokens:      5000,
				CacheReadTokens:  4000,
				CacheWriteTokens: 900,
				OutputTokens:     300,
			},
			ChunkSize: 2,
		}},
		{"a reply stopped by max_tokens", aitest.Reply{Text: "cut", FinishReason: "max_tokens", Usage: aiclient.Usage{InputTokens: 1, OutputTokens: 1}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := aitest.NewServer(aitest.Anthropic, aitest.WithSplitter(aitest.Bytewise), aitest.WithCRLF())
			defer srv.Close()
			reply := tt.reply
			reply.ID = "msg_fixed"
			srv.Push(reply, reply)
			p := anthropic.New(anthropic.WithBaseURL(srv.URL()), anthropic.WithPolicies())
			req := &aiclient.Request{Model: "claude-test", Messages: []aiclient.Message{aiclient.UserText("hi")}}
			testkit.SameWholeAndStreamed(t, p, req, tt.reply.Usage)
		})
	}
}

func TestHeadersAndDefaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		opts   []anthropic.Option
		header map[string]string
		max    float64
	}{
		{
			name:   "an API key goes in x-api-key with the default version and max_tokens",
			opts:   []anthropic.Option{anthropic.WithAPIKey("sk-ant-1")},
			header: map[string]string{"x-api-key": "sk-ant-1", "anthropic-version": "2023-06-01", "Authorization": ""},
			max:    4096,
		},
		{
			name:   "an auth token goes as a bearer token, with betas and a custom default",
			opts:   []anthropic.Option{anthropic.WithAuthToken("tok"), anthropic.WithBeta("context-1m-2025-08-07"), anthropic.WithMaxTokens(1000), anthropic.WithVersion("2024-01-01")},
			header: map[string]string{"Authorization": "Bearer tok", "x-api-key": "", "anthropic-beta": "context-1m-2025-08-07", "anthropic-version": "2024-01-01"},
			max:    1000,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := aitest.NewServer(aitest.Anthropic)
			defer srv.Close()
			srv.Push(aitest.Text("ok", 1, 1))
			p := anthropic.New(append(tt.opts, anthropic.WithBaseURL(srv.URL()), anthropic.WithPolicies())...)
			if _, err := p.Chat(testkit.Deadline(t), &aiclient.Request{Model: "claude", Messages: []aiclient.Message{aiclient.UserText("hi")}}); err != nil {
				t.Fatal(err)
			}
			got := srv.Requests()[0]
			for k, v := range tt.header {
				if got.Header.Get(k) != v {
					t.Errorf("%s = %q, want %q", k, got.Header.Get(k), v)
				}
			}
			if got, want := got.Path, "/v1/messages"; got != want {
				t.Errorf("path = %s, want %s", got, want)
			}
			if got, want := got.JSON()["max_tokens"], tt.max; got != want {
				t.Errorf("max_tokens = %v, want %v", got, want)
			}
		})
	}
}

func TestErrorsAreNormalised(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		reply     aitest.Reply
		kind      aiclient.Kind
		retryable bool
	}{
		{
			name:      "529 overloaded_error is retryable overload",
			reply:     aitest.Reply{Status: 529, RetryAfter: time.Second},
			kind:      aiclient.KindOverloaded,
			retryable: true,
		},
		{
			name:      "429 rate_limit_error is a rate limit",
			reply:     aitest.Reply{Status: 429},
			kind:      aiclient.KindRateLimited,
			retryable: true,
		},
		{
			name:      "a prompt too long is a context length error",
			reply:     aitest.Reply{Status: 400, ErrorMessage: "prompt is too long: 250000 tokens > 200000 maximum"},
			kind:      aiclient.KindContextLength,
			retryable: false,
		},
		{
			name:      "billing_error is an exhausted quota",
			reply:     aitest.Reply{Status: 400, ErrorCode: "billing_error"},
			kind:      aiclient.KindQuotaExhausted,
			retryable: false,
		},
		{
			name:      "permission_error is a permission error",
			reply:     aitest.Reply{Status: 403},
			kind:      aiclient.KindPermission,
			retryable: false,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := aitest.NewServer(aitest.Anthropic)
			defer srv.Close()
			srv.Push(tt.reply)
			p := anthropic.New(anthropic.WithBaseURL(srv.URL()), anthropic.WithPolicies())
			_, err := p.Chat(testkit.Deadline(t), &aiclient.Request{Model: "claude"})
			var e *aiclient.Error
			if !errors.As(err, &e) {
				t.Fatalf("got %v, want an *aiclient.Error", err)
			}
			if got, want := e.Kind, tt.kind; got != want {
				t.Errorf("Kind = %s, want %s", got, want)
			}
			if got, want := e.Retryable, tt.retryable; got != want {
				t.Errorf("Retryable = %v, want %v", got, want)
			}
			if got, want := e.RetryAfter, tt.reply.RetryAfter; got != want {
				t.Errorf("RetryAfter = %v, want %v", got, want)
			}
		})
	}
}

func TestRateLimitResetHeadersGiveTheRetryAfter(t *testing.T) {
	t.Parallel()
	reset := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("anthropic-ratelimit-input-tokens-remaining", "0")
		w.Header().Set("anthropic-ratelimit-input-tokens-reset", reset)
		w.Header().Set("anthropic-ratelimit-requests-remaining", "10")
		w.Header().Set("anthropic-ratelimit-requests-reset", time.Now().Add(time.Second).UTC().Format(time.RFC3339))
		w.WriteHeader(http.StatusTooManyRequests)
		w.Write([]byte(`{"type":"error","error":{"type":"rate_limit_error","message":"Number of input tokens has exceeded your per-minute rate limit"}}`))
	}))
	defer srv.Close()
	p := anthropic.New(anthropic.WithBaseURL(srv.URL), anthropic.WithPolicies())
	_, err := p.Chat(testkit.Deadline(t), &aiclient.Request{Model: "claude"})
	var e *aiclient.Error
	if !errors.As(err, &e) {
		t.Fatalf("got %v, want an *aiclient.Error", err)
	}
	testkit.InRange(t, "RetryAfter from the exhausted input-token limit", e.RetryAfter, 59*time.Minute, time.Hour)
}

func TestStreamCutBeforeMessageStopIsAnError(t *testing.T) {
	t.Parallel()
	srv := aitest.NewServer(aitest.Anthropic)
	defer srv.Close()
	srv.Push(aitest.Reply{Text: "this will be cut short", Fault: aitest.Cut, FaultAfter: 5})
	p := anthropic.New(anthropic.WithBaseURL(srv.URL()), anthropic.WithPolicies())
	s, err := p.Stream(testkit.Deadline(t), &aiclient.Request{Model: "claude"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = aiclient.Collect(s)
	var e *aiclient.Error
	if !errors.As(err, &e) {
		t.Fatalf("got %v, want an *aiclient.Error", err)
	}
	if got, want := e.Code, "stream_interrupted"; got != want {
		t.Fatalf("Code = %q, want %q", got, want)
	}
}

func TestToolResultsAndThinkingRoundTrip(t *testing.T) {
	t.Parallel()
	body, err := anthropic.New().EncodeRequest(&aiclient.Request{Model: "claude", Messages: []aiclient.Message{
		aiclient.UserText("weather?"),
		{Role: aiclient.RoleAssistant, Parts: []aiclient.Part{
			{Type: aiclient.PartReasoning, Text: "thinking", Signature: "sig"},
			{Type: aiclient.PartReasoning, Text: "opaque", Redacted: true},
		}, ToolCalls: []aiclient.ToolCall{{ID: "t1", Name: "w", Arguments: json.RawMessage(`{"a":1}`)}, {ID: "t2", Name: "w", Arguments: json.RawMessage(`not json`)}}},
		aiclient.ToolResult("t1", "sunny"),
		{
			Role:       aiclient.RoleTool,
			ToolCallID: "t2",
			Parts:      []aiclient.Part{aiclient.Text("bad input")},
			IsError:    true,
		},
	}}, false)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"model":"claude","max_tokens":4096,"messages":[{"role":"user","content":[{"type":"text","text":"weather?"}]},` +
		`{"role":"assistant","content":[{"type":"thinking","thinking":"thinking","signature":"sig"},{"type":"redacted_thinking","data":"opaque"},` +
		`{"type":"tool_use","id":"t1","name":"w","input":{"a":1}},{"type":"tool_use","id":"t2","name":"w","input":{}}]},` +
		`{"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":"sunny"},{"type":"tool_result","tool_use_id":"t2","content":"bad input","is_error":true}]}]}`
	if string(body) != want {
		t.Fatalf("got  %s\nwant %s", body, want)
	}
}

func TestModels(t *testing.T) {
	t.Parallel()
	srv := aitest.NewServer(aitest.Anthropic, aitest.WithModels("claude-opus-4-1", "claude-sonnet-4-5"))
	defer srv.Close()
	models, err := anthropic.New(anthropic.WithBaseURL(srv.URL())).Models(testkit.Deadline(t))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(models), 2; got != want {
		t.Fatalf("%d models, want %d: %+v", got, want, models)
	}
	if got, want := models[1].ID, "claude-sonnet-4-5"; got != want {
		t.Errorf("models[1].ID = %q, want %q", got, want)
	}
	if models[0].Created.IsZero() {
		t.Error("models[0].Created is zero")
	}
}

func TestCacheBreakpointsBecomeCacheControl(t *testing.T) {
	t.Parallel()
	long := aiclient.Text("a long shared document")
	long.Cache = true
	sys := aiclient.System("system")
	sys.Parts[0].Cache = true
	body, err := anthropic.New().EncodeRequest(&aiclient.Request{Model: "claude",
		Messages: []aiclient.Message{sys, aiclient.User(long, aiclient.Text("question"))},
		Tools:    []aiclient.Tool{{Name: "t", Cache: true}},
	}, false)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"model":"claude","max_tokens":4096,"system":[{"type":"text","text":"system","cache_control":{"type":"ephemeral"}}],` +
		`"messages":[{"role":"user","content":[{"type":"text","text":"a long shared document","cache_control":{"type":"ephemeral"}},{"type":"text","text":"question"}]}],` +
		`"tools":[{"name":"t","input_schema":{"type":"object","properties":{}},"cache_control":{"type":"ephemeral"}}]}`
	if string(body) != want {
		t.Fatalf("got  %s\nwant %s", body, want)
	}
}
