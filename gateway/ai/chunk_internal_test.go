package ai

import (
	"encoding/json"
	"io"
	"reflect"
	"testing"

	"github.com/portico-dev/portico/aiclient"
	"github.com/portico-dev/portico/internal/sse"
)

// appendChunk is checked against encoding/json, which it stands in for.
func TestAppendChunkWritesWhatEncodingJSONWrites(t *testing.T) {
	t.Parallel()
	text := func(s string) *string { return &s }
	idx := 1
	tc := chatToolCall{Index: &idx, ID: "call_1", Type: "function"}
	tc.Function.Name, tc.Function.Arguments = "get_weather", `{"city":"Zürich <&>"}`
	tests := []struct {
		name  string
		chunk chatCompletion
	}{
		{"a role chunk", chatCompletion{
			ID:      "chatcmpl-1",
			Object:  "chat.completion.chunk",
			Created: 1767225600,
			Model:   "gpt-4o",
			Choices: []chatChoice{{Delta: &respMessage{Role: "assistant", Content: text("")}}},
		}},
		{"ASCII text with usage null", chatCompletion{
			ID:      "chatcmpl-1",
			Object:  "chat.completion.chunk",
			Created: 1,
			Model:   "m",
			Choices: []chatChoice{{Delta: &respMessage{Content: text("Portico forwards this. ")}}},
			Usage:   (*chatUsage)(nil),
		}},
		{"text that JSON escapes", chatCompletion{
			ID:      "c",
			Object:  "chat.completion.chunk",
			Model:   "m",
			Choices: []chatChoice{{Delta: &respMessage{Content: text("a \"quote\", a \\, <b> & \n\t\u2028 é 日本 \xff")}}},
		}},
		{"a refusal", chatCompletion{
			ID:      "c",
			Object:  "chat.completion.chunk",
			Model:   "m",
			Choices: []chatChoice{{Delta: &respMessage{Refusal: text("no")}}},
		}},
		{"a tool call", chatCompletion{
			ID:      "c",
			Object:  "chat.completion.chunk",
			Model:   "m",
			Choices: []chatChoice{{Delta: &respMessage{ToolCalls: []chatToolCall{tc}}}},
		}},
		{"a finish with logprobs", chatCompletion{
			ID:     "c",
			Object: "chat.completion.chunk",
			Model:  "m",
			Choices: []chatChoice{{Delta: &respMessage{}, FinishReason: text("stop"),
				Logprobs: &choiceLogprobs{Content: []aiclient.Logprob{{Token: "a", Logprob: -0.5}}}}},
		}},
		{"usage without choices", chatCompletion{
			ID:                "c",
			Object:            "chat.completion.chunk",
			Model:             "m",
			Choices:           []chatChoice{},
			Usage:             openAIUsage(aiclient.Usage{InputTokens: 12, OutputTokens: 80}),
			SystemFingerprint: json.RawMessage(`"fp_1"`),
		}},
		{"usage in every detail, a fingerprint encoding/json escapes", chatCompletion{
			ID:                "c",
			Object:            "chat.completion",
			Model:             "m",
			Choices:           []chatChoice{},
			Usage:             openAIUsage(aiclient.Usage{InputTokens: 1, OutputTokens: 2, CacheReadTokens: 3, ReasoningTokens: 4}),
			SystemFingerprint: json.RawMessage(`"fp <&> \u00e9"`),
		}},
		{"a fingerprint that is not a string", chatCompletion{
			ID:                "c",
			Object:            "chat.completion",
			Model:             "m",
			Choices:           []chatChoice{},
			SystemFingerprint: json.RawMessage(`{ "a" : [1, 2] }`),
		}},
		{"a whole message", chatCompletion{
			ID:      "c",
			Object:  "chat.completion",
			Model:   "m",
			Choices: []chatChoice{{Message: &respMessage{Role: "assistant", Content: text("hi")}, FinishReason: text("stop")}},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			want, err := json.Marshal(&tt.chunk)
			if err != nil {
				t.Fatal(err)
			}
			if got := appendChunk(nil, &tt.chunk); string(got) != string(want) {
				t.Errorf("appendChunk:\n got %s\nwant %s", got, want)
			}
		})
	}
}

func TestChunkNativeMergesAsWithNativeDoes(t *testing.T) {
	t.Parallel()
	n := &aiclient.Native{Wire: aiclient.WireOpenAI, Fields: map[string]json.RawMessage{
		"system_fingerprint": json.RawMessage(`"fp_abc"`),
		"service_tier":       json.RawMessage(`"default"`),
		"obfuscation":        json.RawMessage(`{ "a" : [1, 2] }`),
	}}
	content := "x"
	c := chatCompletion{
		ID:      "c",
		Object:  "chat.completion.chunk",
		Model:   "m",
		Choices: []chatChoice{{Delta: &respMessage{Content: &content}}},
	}
	want := withNative(&c, n, aiclient.WireOpenAI)
	var nm nativeMembers
	got := nm.encode(nil, &c, n)
	if !nm.fast {
		t.Fatal("chunkNative refused members the chunk does not model")
	}
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("%s: %v", got, err)
	}
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("merged:\n got %s\nwant %s", got, want)
	}
	if nm := chunkNative(&aiclient.Native{Wire: aiclient.WireOpenAI, Fields: map[string]json.RawMessage{"model": json.RawMessage(`"x"`)}}); nm.fast {
		t.Error("chunkNative took a member that replaces one the chunk models")
	}
}

// TestWritingATextChunkDoesNotAllocate checks that the chunks of a
// stream's text, its most frequent events, are written without an
// allocation once the stream's writer is warm.
func TestWritingATextChunkDoesNotAllocate(t *testing.T) {
	cw := &chunkWriter{enc: sse.NewEncoder(io.Discard), id: "chatcmpl-1", model: "m", created: 1, includeUsage: true}
	if err := cw.writeText("warm", nil); err != nil {
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(100, func() {
		if err := cw.writeText("Portico forwards this.", nil); err != nil {
			t.Fatal(err)
		}
	})
	if got, want := allocs, 0.0; got != want {
		t.Errorf("%v allocations per text chunk, want %v", got, want)
	}
}

// TestAppendTextDeltaWritesWhatEncodingJSONWrites checks a Messages
// stream's text delta against the map encoding/json writes it from.
func TestAppendTextDeltaWritesWhatEncodingJSONWrites(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		index int
		text  string
	}{{0, "Portico forwards this. "}, {12, "a \"quote\", a \\, <b> & \n\t\u2028 é 日本 \xff"}, {3, ""}} {
		want := mustJSON(map[string]any{"type": "content_block_delta", "index": tt.index,
			"delta": map[string]any{"type": "text_delta", "text": tt.text}})
		if got := appendTextDelta(nil, tt.index, tt.text); string(got) != string(want) {
			t.Errorf("appendTextDelta(%d, %q):\n got %s\nwant %s", tt.index, tt.text, got, want)
		}
	}
}
