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
				if got, want := len(msg.Content), 1; got != want {
					t.Fatalf("%d content blocks, want %d: %s", got, want, msg.RawJSON())
				}
				if got, want := msg.Content[0].Text, "Hello from the fake"; got != want {
					t.Errorf("text = %q, want %q", got, want)
				}
				if got, want := msg.StopReason, anthropic.StopReasonEndTurn; got != want {
					t.Errorf("stop_reason = %q, want %q", got, want)
				}
				if got := msg.Usage.OutputTokens; got != 5 {
					t.Errorf("output_tokens = %d, want 5", got)
				}
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
				if got, want := len(msg.Content), 1; got != want {
					t.Fatalf("%d content blocks, want %d: %+v", got, want, msg)
				}
				if got, want := msg.Content[0].Text, "Streaming is fun to watch"; got != want {
					t.Errorf("text = %q, want %q", got, want)
				}
				if got, want := msg.StopReason, anthropic.StopReasonEndTurn; got != want {
					t.Errorf("stop_reason = %q, want %q", got, want)
				}
				if got := msg.Usage.OutputTokens; got != 6 {
					t.Errorf("output_tokens = %d, want 6", got)
				}
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
				if got, want := len(msg.Content), 1; got != want {
					t.Fatalf("%d content blocks, want %d: %+v", got, want, msg)
				}
				if got, want := msg.Content[0].Type, "tool_use"; got != want {
					t.Errorf("content type = %q, want %q", got, want)
				}
				if got, want := msg.Content[0].Name, "get_weather"; got != want {
					t.Errorf("tool name = %q, want %q", got, want)
				}
				if got, want := string(msg.Content[0].Input), `{"city":"Paris"}`; !sameJSON(got, want) {
					t.Errorf("tool input = %s, want %s", got, want)
				}
				if got, want := msg.StopReason, anthropic.StopReasonToolUse; got != want {
					t.Errorf("stop_reason = %q, want %q", got, want)
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
					t.Fatalf("status = %d, want %d", got, want)
				}
				if raw := apiErr.RawJSON(); !strings.Contains(raw, `"rate_limit_error"`) {
					t.Errorf("error body = %s", raw)
				}
			})
		})
	}
}
