package ai_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/portico-dev/portico/gateway/ai"
)

// fuzzBody sends body to path and checks that the answer is a success or
// a client error in valid JSON, never a crash or a server error.
func fuzzBody(f *testing.F, path string, seeds ...string) {
	for _, s := range seeds {
		f.Add(s)
	}
	h, err := ai.New(demoClient(), ai.WithPrompt(sentiment))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body string) {
		req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader([]byte(body)))
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code >= 500 {
			t.Fatalf("status %d for %q: %s", w.Code, body, w.Body)
		}
		if w.Header().Get("Content-Type") != "text/event-stream" && !json.Valid(w.Body.Bytes()) {
			t.Fatalf("invalid JSON answer for %q: %s", body, w.Body)
		}
	})
}

func FuzzChatRequest(f *testing.F) {
	fuzzBody(f, "/v1/chat/completions",
		`{"model":"demo","messages":[{"role":"user","content":"hi"}]}`,
		`{"model":"demo","stream":true,"messages":[{"role":"user","content":[{"type":"text","text":"x"},{"type":"image_url","image_url":{"url":"data:image/png;base64,AAAA"}}]}]}`,
		`{"model":"demo","tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object"}}}],"tool_choice":{"type":"function","function":{"name":"f"}},"messages":[{"role":"user","content":"x"}]}`,
		`{"model":"demo","response_format":{"type":"json_schema","json_schema":{"name":"n","schema":{"type":"array","items":{"type":"integer"}}}},"stop":["a"],"messages":[{"role":"assistant","tool_calls":[{"id":"1","type":"function","function":{"name":"f","arguments":"{"}}]},{"role":"tool","tool_call_id":"1","content":"r"}]}`,
	)
}

func FuzzMessagesRequest(f *testing.F) {
	fuzzBody(f, "/v1/messages",
		`{"model":"demo","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}`,
		`{"model":"demo","max_tokens":10,"stream":true,"system":[{"type":"text","text":"s"}],"messages":[{"role":"user","content":[{"type":"image","source":{"type":"base64","media_type":"image/png","data":"AAAA"}}]}]}`,
		`{"model":"demo","max_tokens":10,"tool_choice":{"type":"any"},"tools":[{"name":"f","input_schema":{"type":"object"}}],"messages":[{"role":"assistant","content":[{"type":"tool_use","id":"t","name":"f","input":{}}]},{"role":"user","content":[{"type":"tool_result","tool_use_id":"t","content":"ok"}]}]}`,
	)
}

func FuzzPromptInput(f *testing.F) {
	fuzzBody(f, "/prompts/sentiment", `{"text":"good"}`, `{"text":1}`, `[]`, `{"text":"\u0000"}`)
}
