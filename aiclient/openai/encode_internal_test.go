package openai

import (
	"encoding/json"
	"math"
	"testing"
)

// checkAppendRequest checks appendRequest against json.Marshal for w,
// and that it takes w when take is set.
func checkAppendRequest(t *testing.T, w *chatRequest, take bool) {
	t.Helper()
	want, err := json.Marshal(w)
	if err != nil {
		t.Fatal(err)
	}
	got, ok := appendRequest(nil, w)
	if ok != take {
		t.Fatalf("appendRequest took %s: %v, want %v", want, ok, take)
	}
	if ok && string(got) != string(want) {
		t.Errorf("appendRequest:\n got %s\nwant %s", got, want)
	}
}

func TestAppendRequestWritesWhatEncodingJSONWrites(t *testing.T) {
	t.Parallel()
	f := func(v float64) *float64 { return &v }
	seed, top, no := int64(-3), 2, false
	tests := []struct {
		name string
		req  chatRequest
		take bool
	}{
		{"the common call", chatRequest{Model: "mock-1", Messages: []message{{Role: "system", Content: "You are terse."}, {Role: "user", Content: "Say something about gateways."}}, MaxCompletionTokens: 100}, true},
		{"a stream with usage", chatRequest{Model: "m", Messages: []message{{Role: "user", Content: "hi"}}, Stream: true, StreamOptions: &streamOptions{IncludeUsage: true}}, true},
		{"every scalar", chatRequest{Model: "m", Messages: []message{{Role: "assistant", Content: "", ReasoningContent: "r", Refusal: "no"}, {Role: "tool", Content: "x", ToolCallID: "c1"}},
			Temperature: f(0.7), TopP: f(1), MaxTokens: 5, Stop: []string{"a", "<b>"}, Seed: &seed, User: "u", Logprobs: true, TopLogprobs: &top, ParallelToolCalls: &no}, true},
		{"text encoding/json escapes", chatRequest{Model: "m\u00e9", Messages: []message{{Role: "user", Content: "a \"q\" \\ <b> & \n\t\u2028 日本 \xff"}}}, true},
		{"no messages", chatRequest{Model: "m"}, true},
		{"empty messages", chatRequest{Model: "m", Messages: []message{}}, true},
		{"a message without content", chatRequest{Model: "m", Messages: []message{{Role: "assistant"}}}, true},
		{"temperatures", chatRequest{Model: "m", Temperature: f(0), TopP: f(123456.789)}, true},
		{"a negative zero", chatRequest{Model: "m", Temperature: f(math.Copysign(0, -1))}, true},
		{"a tiny temperature", chatRequest{Model: "m", Temperature: f(1e-7)}, false},
		{"a huge temperature", chatRequest{Model: "m", Temperature: f(1e21)}, false},
		{"parts", chatRequest{Model: "m", Messages: []message{{Role: "user", Content: []contentPart{{Type: "text", Text: "a"}}}}}, false},
		{"tool calls", chatRequest{Model: "m", Messages: []message{{Role: "assistant", ToolCalls: []toolCall{{ID: "c"}}}}}, false},
		{"tools", chatRequest{Model: "m", Tools: []tool{{Type: "function"}}}, false},
		{"a tool choice", chatRequest{Model: "m", ToolChoice: "auto"}, false},
		{"a response format", chatRequest{Model: "m", ResponseFormat: &responseFormat{Type: "json_object"}}, false},
		{"metadata", chatRequest{Model: "m", Metadata: map[string]string{"k": "v"}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			checkAppendRequest(t, &tt.req, tt.take)
		})
	}
}

// FuzzAppendRequest checks appendRequest against json.Marshal for
// requests of text messages with any strings and numbers.
func FuzzAppendRequest(f *testing.F) {
	f.Add("mock-1", "user", "hello", "", 0.7, 100, int64(1), true)
	f.Add("m\u00e9", "assistant", "", "<b>", 1e-7, 0, int64(-1), false)
	f.Fuzz(func(t *testing.T, model, role, content, user string, temp float64, maxTokens int, seed int64, stream bool) {
		w := chatRequest{Model: model, Messages: []message{{Role: role, Content: content}, {Role: role}}, User: user,
			Temperature: &temp, MaxCompletionTokens: maxTokens, Seed: &seed, Stream: stream, Stop: []string{content}}
		want, err := json.Marshal(&w)
		got, ok := appendRequest(nil, &w)
		if !ok {
			return
		}
		if err != nil {
			t.Fatalf("appendRequest took %+v, which encoding/json refuses: %v", w, err)
		}
		if string(got) != string(want) {
			t.Fatalf("appendRequest:\n got %s\nwant %s", got, want)
		}
	})
}
