package demo_test

import (
	"context"
	"encoding/json"
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
			if plain.Usage.InputTokens == 0 || plain.Usage.OutputTokens == 0 {
				t.Errorf("usage %+v", plain.Usage)
			}
		})
	}
}

func TestAnswersFollowTheRequest(t *testing.T) {
	t.Parallel()
	p := demo.New()
	ctx := context.Background()
	resp, _ := p.Chat(ctx, &aiclient.Request{Messages: []aiclient.Message{aiclient.UserText("hi")}})
	if resp.Message.Text() != "You said: hi" || resp.FinishReason != aiclient.FinishStop {
		t.Errorf("plain: %+v", resp)
	}
	resp, _ = p.Chat(ctx, &aiclient.Request{Messages: []aiclient.Message{aiclient.UserText("Paris")},
		Tools: []aiclient.Tool{{Name: "weather", Parameters: json.RawMessage(`{"type":"object","properties":{"city":{"type":"string"}}}`)}}})
	if len(resp.Message.ToolCalls) != 1 || string(resp.Message.ToolCalls[0].Arguments) != `{"city":"Paris"}` || resp.FinishReason != aiclient.FinishToolCalls {
		t.Errorf("tool call: %+v", resp)
	}
	resp, _ = p.Chat(ctx, &aiclient.Request{Messages: []aiclient.Message{aiclient.UserText("a b c d e f g h i j k l")}, MaxOutputTokens: 2})
	if resp.FinishReason != aiclient.FinishLength || resp.Usage.OutputTokens > 2 {
		t.Errorf("truncated: %+v", resp)
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
	if len(resp.Embeddings) != 3 || len(resp.Embeddings[0]) != 16 {
		t.Fatalf("shape %d×%d", len(resp.Embeddings), len(resp.Embeddings[0]))
	}
	if !reflect.DeepEqual(resp.Embeddings[0], resp.Embeddings[2]) || reflect.DeepEqual(resp.Embeddings[0], resp.Embeddings[1]) {
		t.Error("equal inputs must give equal vectors, different inputs different ones")
	}
	var norm float64
	for _, f := range resp.Embeddings[1] {
		norm += float64(f) * float64(f)
	}
	if norm < 0.999 || norm > 1.001 {
		t.Errorf("norm² = %v", norm)
	}
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
