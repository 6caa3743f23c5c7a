package demo_test

import (
	"context"
	"encoding/json"
	"github.com/portico-dev/portico/aiclient/internal/testkit"
	"reflect"
	"testing"

	"go.uber.org/goleak"

	"github.com/portico-dev/portico/aiclient"
	"github.com/portico-dev/portico/aiclient/demo"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestStreamedAndPlainAnswersAreIdentical(t *testing.T) {
	t.Parallel()
	tool := aiclient.Tool{Name: "weather", Parameters: json.RawMessage(`{"type":"object","properties":{"city":{"type":"string"},"days":{"type":"integer","minimum":1}},"required":["city"]}`)}
	tests := []struct {
		name string
		req  aiclient.Request
	}{
		{"a plain question", aiclient.Request{Messages: []aiclient.Message{aiclient.UserText("How are you?")}}},
		{"a tool call", aiclient.Request{Messages: []aiclient.Message{aiclient.UserText("Paris")}, Tools: []aiclient.Tool{tool}}},
		{"a tool result", aiclient.Request{Messages: []aiclient.Message{aiclient.UserText("Paris"),
			{Role: aiclient.RoleAssistant, ToolCalls: []aiclient.ToolCall{{ID: "c1", Name: "weather", Arguments: json.RawMessage(`{}`)}}},
			aiclient.ToolResult("c1", "sunny")}, Tools: []aiclient.Tool{tool}}},
		{"a truncated answer", aiclient.Request{Messages: []aiclient.Message{aiclient.UserText("a rather long question with many words")}, MaxOutputTokens: 3}},
		{"structured output", aiclient.Request{Messages: []aiclient.Message{aiclient.UserText("x")},
			ResponseFormat: &aiclient.ResponseFormat{Type: aiclient.FormatJSONSchema, Schema: tool.Parameters}}},
	}
	p := demo.New()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			plain, err := p.Chat(context.Background(), &tt.req)
			if err != nil {
				t.Fatal(err)
			}
			s, err := p.Stream(context.Background(), &tt.req)
			if err != nil {
				t.Fatal(err)
			}
			streamed, err := aiclient.Collect(s)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(plain, streamed) {
				t.Errorf("plain %+v\nstreamed %+v", plain, streamed)
			}
			again, _ := p.Chat(context.Background(), &tt.req)
			if !reflect.DeepEqual(plain, again) {
				t.Error("the same request gave two answers")
			}
			if plain.Usage.InputTokens == 0 {
				t.Errorf("input tokens = 0, usage %+v", plain.Usage)
			}
			if plain.Usage.OutputTokens == 0 {
				t.Errorf("output tokens = 0, usage %+v", plain.Usage)
			}
		})
	}
}

func TestAnswersFollowTheRequest(t *testing.T) {
	t.Parallel()
	p := demo.New()
	ctx := context.Background()
	resp, _ := p.Chat(ctx, &aiclient.Request{Messages: []aiclient.Message{aiclient.UserText("hi")}})
	if got, want := resp.Message.Text(), "You said: hi"; got != want {
		t.Errorf("plain: text = %q, want %q", got, want)
	}
	if got, want := resp.FinishReason, aiclient.FinishStop; got != want {
		t.Errorf("plain: finish = %s, want %s", got, want)
	}
	resp, _ = p.Chat(ctx, &aiclient.Request{Messages: []aiclient.Message{aiclient.UserText("Paris")},
		Tools: []aiclient.Tool{{Name: "weather", Parameters: json.RawMessage(`{"type":"object","properties":{"city":{"type":"string"}}}`)}}})
	if got, want := resp.FinishReason, aiclient.FinishToolCalls; got != want {
		t.Errorf("tool call: finish = %s, want %s", got, want)
	}
	if got, want := len(resp.Message.ToolCalls), 1; got != want {
		t.Fatalf("tool call: %d calls, want %d", got, want)
	}
	if got, want := string(resp.Message.ToolCalls[0].Arguments), `{"city":"Paris"}`; got != want {
		t.Errorf("tool call: arguments = %s, want %s", got, want)
	}
	resp, _ = p.Chat(ctx, &aiclient.Request{Messages: []aiclient.Message{aiclient.UserText("a b c d e f g h i j k l")}, MaxOutputTokens: 2})
	if got, want := resp.FinishReason, aiclient.FinishLength; got != want {
		t.Errorf("truncated: finish = %s, want %s", got, want)
	}
	if got, limit := resp.Usage.OutputTokens, int64(2); got > limit {
		t.Errorf("truncated: output tokens = %d, want at most %d", got, limit)
	}
	if _, err := p.Chat(ctx, &aiclient.Request{}); err == nil {
		t.Error("an empty request was answered")
	}
}

func TestEmbeddingsAreDeterministicUnitVectors(t *testing.T) {
	t.Parallel()
	p := demo.New()
	resp, err := p.Embed(context.Background(), &aiclient.EmbedRequest{Input: []string{"cat", "dog", "cat"}, Dimensions: 16})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(resp.Embeddings), 3; got != want {
		t.Fatalf("%d vectors, want %d", got, want)
	}
	if got, want := len(resp.Embeddings[0]), 16; got != want {
		t.Fatalf("%d dimensions, want %d", got, want)
	}
	if !reflect.DeepEqual(resp.Embeddings[0], resp.Embeddings[2]) {
		t.Error("equal inputs gave different vectors")
	}
	if reflect.DeepEqual(resp.Embeddings[0], resp.Embeddings[1]) {
		t.Error("different inputs gave equal vectors")
	}
	var norm float64
	for _, f := range resp.Embeddings[1] {
		norm += float64(f) * float64(f)
	}
	testkit.InRange(t, "norm²", norm, 0.999, 1.001)
}

func FuzzStructuredOutputIsValidJSON(f *testing.F) {
	f.Add(`{"type":"object","properties":{"a":{"type":"array","items":{"type":"number"}}}}`, "text")
	f.Add(`{"anyOf":[{"type":"null"},{"enum":[1,2]}]}`, "")
	f.Add(`not json`, "x")
	p := demo.New()
	f.Fuzz(func(t *testing.T, schema, text string) {
		req := &aiclient.Request{Messages: []aiclient.Message{aiclient.UserText(text)},
			ResponseFormat: &aiclient.ResponseFormat{Type: aiclient.FormatJSONSchema, Schema: json.RawMessage(schema)}}
		resp, err := p.Chat(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		if !json.Valid([]byte(resp.Message.Text())) {
			t.Errorf("schema %q gave invalid JSON %q", schema, resp.Message.Text())
		}
	})
}
