package conformance_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/anthropics/anthropic-sdk-go/v2"
	"github.com/anthropics/anthropic-sdk-go/v2/option"

	"github.com/portico-dev/portico/aiclient/aitest"
)

func TestAnthropicSDKOverEveryProvider(t *testing.T) {
	t.Parallel()
	for _, b := range backends {
		t.Run(b.format.String(), func(t *testing.T) {
			t.Parallel()
			fake, srv := gateway(t, b.format)
			ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
			defer cancel()
			params := anthropic.MessageNewParams{
				Model:     "m",
				MaxTokens: 200,
				System:    []anthropic.TextBlockParam{{Text: "Be brief."}},
				Messages:  []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("Hi"))},
			}

			t.Run("a plain call with x-api-key", func(t *testing.T) {
				client := anthropic.NewClient(option.WithBaseURL(srv.URL+"/"), option.WithAPIKey(gatewayKey), option.WithMaxRetries(0))
				fake.Push(aitest.Text("Hello from the fake", 12, 5))
				msg, err := client.Messages.New(ctx, params)
				if err != nil {
					t.Fatal(err)
				}
				wantAnthropicText(t, msg, anthropicText{"Hello from the fake", anthropic.StopReasonEndTurn, 5})
			})

			t.Run("a streamed call with a bearer token", func(t *testing.T) {
				client := anthropic.NewClient(option.WithBaseURL(srv.URL+"/"), option.WithAuthToken(gatewayKey), option.WithMaxRetries(0))
				fake.Push(aitest.Text("Streaming is fun to watch", 9, 6))
				stream := client.Messages.NewStreaming(ctx, params)
				var msg anthropic.Message
				for stream.Next() {
					if err := msg.Accumulate(stream.Current()); err != nil {
						t.Fatal(err)
					}
				}
				if err := stream.Err(); err != nil {
					t.Fatal(err)
				}
				_ = stream.Close()
				wantAnthropicText(t, &msg, anthropicText{"Streaming is fun to watch", anthropic.StopReasonEndTurn, 6})
			})

			t.Run("a streamed tool call", func(t *testing.T) {
				client := anthropic.NewClient(option.WithBaseURL(srv.URL+"/"), option.WithAPIKey(gatewayKey), option.WithMaxRetries(0))
				fake.Push(aitest.Reply{ToolCalls: []aitest.ToolCall{{ID: "call_a", Name: "get_weather", Arguments: `{"city":"Paris"}`}}})
				p := params
				p.Tools = []anthropic.ToolUnionParam{{OfTool: &anthropic.ToolParam{Name: "get_weather",
					InputSchema: anthropic.ToolInputSchemaParam{Properties: map[string]any{"city": map[string]any{"type": "string"}}}}}}
				stream := client.Messages.NewStreaming(ctx, p)
				var msg anthropic.Message
				for stream.Next() {
					if err := msg.Accumulate(stream.Current()); err != nil {
						t.Fatal(err)
					}
				}
				if err := stream.Err(); err != nil {
					t.Fatal(err)
				}
				_ = stream.Close()
				if len(msg.Content) != 1 {
					t.Fatalf("message has %d content blocks, want 1: %+v", len(msg.Content), msg)
				}
				type toolUse struct {
					Type, Name string
					StopReason anthropic.StopReason
				}
				got := toolUse{msg.Content[0].Type, msg.Content[0].Name, msg.StopReason}
				if want := (toolUse{"tool_use", "get_weather", anthropic.StopReasonToolUse}); got != want {
					t.Errorf("tool use = %+v, want %+v", got, want)
				}
				if got, want := string(msg.Content[0].Input), `{"city":"Paris"}`; !sameJSON(got, want) {
					t.Errorf("tool input = %s, want %s", got, want)
				}
			})

			t.Run("a provider's 429 is a rate_limit_error", func(t *testing.T) {
				client := anthropic.NewClient(option.WithBaseURL(srv.URL+"/"), option.WithAPIKey(gatewayKey), option.WithMaxRetries(0))
				fake.Push(aitest.Status(http.StatusTooManyRequests, 0))
				_, err := client.Messages.New(ctx, params)
				var apiErr *anthropic.Error
				if !errors.As(err, &apiErr) {
					t.Fatalf("error %v is not an *anthropic.Error", err)
				}
				if got, want := apiErr.StatusCode, http.StatusTooManyRequests; got != want {
					t.Errorf("status = %d, want %d", got, want)
				}
				if raw := apiErr.RawJSON(); !strings.Contains(raw, `"rate_limit_error"`) {
					t.Errorf("error body = %s", raw)
				}
			})
		})
	}
}

// anthropicText is the comparable part of a one-block text message.
type anthropicText struct {
	Text         string
	StopReason   anthropic.StopReason
	OutputTokens int64
}

// wantAnthropicText fails the test unless msg is one text block matching want.
func wantAnthropicText(t *testing.T, msg *anthropic.Message, want anthropicText) {
	t.Helper()
	if len(msg.Content) != 1 {
		t.Fatalf("message has %d content blocks, want 1: %+v", len(msg.Content), msg)
	}
	if got := (anthropicText{msg.Content[0].Text, msg.StopReason, msg.Usage.OutputTokens}); got != want {
		t.Errorf("message = %+v, want %+v", got, want)
	}
}
