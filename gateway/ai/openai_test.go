package ai_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/portico-dev/portico/gateway/ai"
)

func TestChatAnswersInOpenAIFormat(t *testing.T) {
	t.Parallel()
	rec := &recorder{}
	srv := serve(t, demoClient(), ai.WithAuthenticator(keys()), ai.WithSink(rec))
	status, _, body := call(t, "POST", srv.URL+"/v1/chat/completions", demoKey,
		`{"model":"demo","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"hello there"}]}`)
	if status != 200 {
		t.Fatalf("status %d: %s", status, body)
	}
	v := decode(t, body)
	if v["object"] != "chat.completion" {
		t.Errorf("object = %v", v["object"])
	}
	choice := v["choices"].([]any)[0].(map[string]any)
	msg := choice["message"].(map[string]any)
	for key, want := range map[string]any{"role": "assistant", "content": "You said: hello there"} {
		if got := msg[key]; got != want {
			t.Errorf("message %s = %v, want %v", key, got, want)
		}
	}
	if got, want := choice["finish_reason"], any("stop"); got != want {
		t.Errorf("finish_reason = %v, want %v", got, want)
	}
	usage := v["usage"].(map[string]any)
	if usage["total_tokens"].(float64) != usage["prompt_tokens"].(float64)+usage["completion_tokens"].(float64) {
		t.Errorf("usage = %v", usage)
	}
	rs := rec.all()
	if len(rs) != 1 {
		t.Fatalf("records = %d, want 1", len(rs))
	}
	r := rs[0]
	type who struct{ Consumer, Tenant, Alias, Provider string }
	if got, want := (who{
		Consumer: r.Consumer,
		Tenant:   r.Tenant,
		Alias:    r.Alias,
		Provider: r.Provider,
	}), (who{
		Consumer: "alice",
		Tenant:   "acme",
		Alias:    "demo",
		Provider: "demo",
	}); got != want {
		t.Errorf("record = %+v, want %+v", got, want)
	}
	if got, want := r.Status, 200; got != want {
		t.Errorf("record status = %d, want %d", got, want)
	}
	if r.Usage.TotalTokens() == 0 {
		t.Errorf("record usage = %+v, want tokens", r.Usage)
	}
	if r.Cost <= 0 {
		t.Errorf("record cost = %v, want > 0", r.Cost)
	}
	if r.Input != nil {
		t.Errorf("record input = %+v, want none (content is not recorded by default)", r.Input)
	}
	if r.Output != nil {
		t.Errorf("record output = %+v, want none (content is not recorded by default)", r.Output)
	}
}

func TestChatStreamsChunksWithUsage(t *testing.T) {
	t.Parallel()
	rec := &recorder{}
	srv := serve(t, demoClient(), ai.WithAuthenticator(keys()), ai.WithSink(rec))
	status, hdr, body := call(t, "POST", srv.URL+"/v1/chat/completions", demoKey,
		`{"model":"demo","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"one two three"}]}`)
	if got, want := status, 200; got != want {
		t.Fatalf("status %d, want %d", got, want)
	}
	if got := hdr.Get("Content-Type"); !strings.HasPrefix(got, "text/event-stream") {
		t.Fatalf("content type %q, want text/event-stream", got)
	}
	data := sseData(body)
	if got, least := len(data), 4; got < least {
		t.Fatalf("%d events, want at least %d: %q", got, least, data)
	}
	if got, want := data[len(data)-1], "[DONE]"; got != want {
		t.Fatalf("last event %q, want %q", got, want)
	}
	var text strings.Builder
	var finish string
	var usage map[string]any
	for _, d := range data[:len(data)-1] {
		var chunk struct {
			Object  string `json:"object"`
			Choices []struct {
				Delta        struct{ Content string } `json:"delta"`
				FinishReason *string                  `json:"finish_reason"`
			} `json:"choices"`
			Usage map[string]any `json:"usage"`
		}
		if err := json.Unmarshal([]byte(d), &chunk); err != nil {
			t.Fatalf("chunk %s: %v", d, err)
		}
		if chunk.Object != "chat.completion.chunk" {
			t.Errorf("object = %q", chunk.Object)
		}
		for _, c := range chunk.Choices {
			text.WriteString(c.Delta.Content)
			if c.FinishReason != nil {
				finish = *c.FinishReason
			}
		}
		if chunk.Usage != nil {
			usage = chunk.Usage
		}
	}
	if got, want := text.String(), "You said: one two three"; got != want {
		t.Errorf("text %q, want %q", got, want)
	}
	if got, want := finish, "stop"; got != want {
		t.Errorf("finish %q, want %q", got, want)
	}
	if usage == nil {
		t.Error("no usage in the stream")
	}
	rs := rec.all()
	if got, want := len(rs), 1; got != want {
		t.Fatalf("%d records, want %d: %+v", got, want, rs)
	}
	if !rs[0].Stream {
		t.Error("the record is not marked as a stream")
	}
	if rs[0].TimeToFirstToken <= 0 {
		t.Errorf("record time to first token = %v, want > 0", rs[0].TimeToFirstToken)
	}
	if rs[0].Usage.OutputTokens == 0 {
		t.Error("record output tokens = 0")
	}
}

func TestErrorsUseOpenAIEnvelope(t *testing.T) {
	t.Parallel()
	srv := serve(t, demoClient(), ai.WithAuthenticator(keys()), ai.WithModels("demo", "other"))
	tests := []struct {
		name, key, path, body string
		status                int
		typ, code             string
	}{
		{
			name:   "a missing key is refused with invalid_api_key",
			key:    "",
			path:   "/v1/chat/completions",
			body:   `{}`,
			status: 401,
			typ:    "invalid_request_error",
			code:   "invalid_api_key",
		},
		{
			name:   "a wrong key is refused with invalid_api_key",
			key:    "nope",
			path:   "/v1/chat/completions",
			body:   `{}`,
			status: 401,
			typ:    "invalid_request_error",
			code:   "invalid_api_key",
		},
		{
			name:   "malformed JSON is a 400",
			key:    demoKey,
			path:   "/v1/chat/completions",
			body:   `{"model":`,
			status: 400,
			typ:    "invalid_request_error",
			code:   "invalid_request",
		},
		{
			name:   "an unknown model is model_not_found",
			key:    demoKey,
			path:   "/v1/chat/completions",
			body:   `{"model":"gpt-9","messages":[{"role":"user","content":"x"}]}`,
			status: 404,
			typ:    "invalid_request_error",
			code:   "model_not_found",
		},
		{
			name:   "an alias outside the caller's list is model_not_found",
			key:    "test-key-bob",
			path:   "/v1/chat/completions",
			body:   `{"model":"demo","messages":[{"role":"user","content":"x"}]}`,
			status: 404,
			typ:    "invalid_request_error",
			code:   "model_not_found",
		},
		{
			name:   "a bad role names the field",
			key:    demoKey,
			path:   "/v1/chat/completions",
			body:   `{"model":"demo","messages":[{"role":"robot","content":"x"}]}`,
			status: 400,
			typ:    "invalid_request_error",
			code:   "invalid_request",
		},
		{
			name:   "n above one is refused",
			key:    demoKey,
			path:   "/v1/chat/completions",
			body:   `{"model":"demo","n":2,"messages":[{"role":"user","content":"x"}]}`,
			status: 400,
			typ:    "invalid_request_error",
			code:   "invalid_request",
		},
		{
			name:   "an unknown path is unknown_url",
			key:    demoKey,
			path:   "/v1/nothing",
			body:   ``,
			status: 404,
			typ:    "invalid_request_error",
			code:   "unknown_url",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			status, _, body := call(t, "POST", srv.URL+tt.path, tt.key, tt.body)
			if status != tt.status {
				t.Fatalf("status = %d, want %d: %s", status, tt.status, body)
			}
			var env struct {
				Error struct {
					Message string  `json:"message"`
					Type    string  `json:"type"`
					Code    *string `json:"code"`
					Param   *string `json:"param"`
				} `json:"error"`
			}
			if err := json.Unmarshal(body, &env); err != nil {
				t.Fatal(err)
			}
			if got, want := env.Error.Type, tt.typ; got != want {
				t.Errorf("error type = %q, want %q", got, want)
			}
			if env.Error.Code == nil {
				t.Errorf("error without code: %s", body)
			} else if got, want := *env.Error.Code, tt.code; got != want {
				t.Errorf("error code = %q, want %q", got, want)
			}
			if env.Error.Message == "" {
				t.Errorf("error without message: %s", body)
			}
		})
	}
}

func TestModelsListsTheCallersAliases(t *testing.T) {
	t.Parallel()
	srv := serve(t, demoClient(), ai.WithAuthenticator(keys()))
	tests := []struct {
		name, key string
		want      []string
	}{
		{"a caller without a list sees every alias", demoKey, []string{"demo", "other"}},
		{"a caller with a list sees only its aliases", "test-key-bob", []string{"other"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			status, _, body := call(t, "GET", srv.URL+"/v1/models", tt.key, "")
			if status != 200 {
				t.Fatalf("status %d: %s", status, body)
			}
			var list struct {
				Object string
				Data   []struct{ ID, Object string }
			}
			if err := json.Unmarshal(body, &list); err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, m := range list.Data {
				ids = append(ids, m.ID)
			}
			if got, want := list.Object, "list"; got != want {
				t.Errorf("object = %q, want %q", got, want)
			}
			if got, want := ids, tt.want; !slices.Equal(got, want) {
				t.Errorf("models = %v, want %v", got, want)
			}
		})
	}
	if status, _, _ := call(t, "GET", srv.URL+"/v1/models/demo", "test-key-bob", ""); status != http.StatusNotFound {
		t.Errorf("bob reading demo: status %d, want 404", status)
	}
}

func TestEmbeddingsInFloatAndBase64(t *testing.T) {
	t.Parallel()
	srv := serve(t, demoClient())
	for _, format := range []string{"float", "base64"} {
		status, _, body := call(t, "POST", srv.URL+"/v1/embeddings", "",
			`{"model":"demo","input":["a","b"],"dimensions":4,"encoding_format":"`+format+`"}`)
		if status != 200 {
			t.Fatalf("%s: status %d: %s", format, status, body)
		}
		v := decode(t, body)
		data := v["data"].([]any)
		if got, want := len(data), 2; got != want {
			t.Fatalf("%s: %d embeddings, want %d", format, got, want)
		}
		if got, want := v["object"], any("list"); got != want {
			t.Fatalf("%s: object = %v, want %v", format, got, want)
		}
		switch e := data[1].(map[string]any)["embedding"].(type) {
		case []any:
			if got, want := format, "float"; got != want {
				t.Errorf("format %s gave floats", format)
			}
			if got, want := len(e), 4; got != want {
				t.Errorf("%s: %d dimensions, want %d", format, got, want)
			}
		case string:
			if got, want := format, "base64"; got != want {
				t.Errorf("format %s gave base64", format)
			}
			if got, want := len(e), 24; got != want { // 16 bytes in base64
				t.Errorf("%s: %d base64 characters, want %d", format, got, want)
			}
		}
	}
}

func TestHandlesNamesTheServedPaths(t *testing.T) {
	t.Parallel()
	h, err := ai.New(demoClient(), ai.WithPrefix("/llm/v1"), ai.WithPrompt(summary))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		path string
		want bool
	}{
		{"/llm/v1/chat/completions", true},
		{"/llm/v1", true},
		{"/llm/v10/models", false},
		{"/v1/chat/completions", false},
		{"/prompts/summarise", true},
		{"/prompts/other", false},
	}
	for _, tt := range tests {
		if got := h.Handles(tt.path); got != tt.want {
			t.Errorf("Handles(%q) = %v, want %v", tt.path, got, tt.want)
		}
	}
}

func TestEndpointsListWhatTheHandlerServes(t *testing.T) {
	t.Parallel()
	h, err := ai.New(demoClient(), ai.WithPrefix("/llm/v1"), ai.WithPrompt(summary))
	if err != nil {
		t.Fatal(err)
	}
	want := []ai.Endpoint{
		{Method: "POST", Path: "/llm/v1/chat/completions"},
		{Method: "POST", Path: "/llm/v1/embeddings"},
		{Method: "GET", Path: "/llm/v1/models"},
		{Method: "GET", Path: "/llm/v1/models/{model...}"},
		{Method: "POST", Path: "/llm/v1/messages"},
		{Method: "POST", Path: "/prompts/summarise", Prompt: "summary"},
	}
	if got := h.Endpoints(); !slices.Equal(got, want) {
		t.Errorf("Endpoints() = %v\nwant %v", got, want)
	}
	if got, want := h.Prefix(), "/llm/v1"; got != want {
		t.Errorf("Prefix() = %q, want %q", got, want)
	}
}

// Regression: a prompt at the path of an endpoint made New panic on the
// duplicate pattern.
func TestAPromptAtAnEndpointsPathIsAnError(t *testing.T) {
	t.Parallel()
	p := summary
	p.Path = "/v1/chat/completions"
	_, err := ai.New(demoClient(), ai.WithPrompt(p))
	if err == nil {
		t.Fatal("error = nil, want one naming prompts[0].path")
	}
	if want := `prompts[0].path: "/v1/chat/completions"`; !strings.Contains(err.Error(), want) {
		t.Errorf("error %v, want one naming %s", err, want)
	}
}
