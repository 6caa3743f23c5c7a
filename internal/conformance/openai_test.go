package conformance_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/shared"

	"github.com/portico-dev/portico/aiclient/aitest"
	"github.com/portico-dev/portico/gateway/ai"
)

func sdk(url string) openai.Client {
	return openai.NewClient(option.WithBaseURL(url+"/v1/"), option.WithAPIKey(gatewayKey), option.WithMaxRetries(0))
}

var weather = openai.ChatCompletionFunctionTool(shared.FunctionDefinitionParam{
	Name:        "get_weather",
	Description: openai.String("Current weather in a city"),
	Parameters: shared.FunctionParameters{
		"type":       "object",
		"properties": map[string]any{"city": map[string]any{"type": "string"}},
		"required":   []string{"city"},
	},
})

func TestOpenAISDKOverEveryProvider(t *testing.T) {
	t.Parallel()
	for _, b := range backends {
		t.Run(b.format.String(), func(t *testing.T) {
			t.Parallel()
			fake, srv := gateway(t, b.format)
			client := sdk(srv.URL)
			ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
			defer cancel()

			t.Run("a chat call", func(t *testing.T) {
				fake.Push(aitest.Text("Hello from the fake", 12, 5))
				resp, err := client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{
					Model:    "m",
					Messages: []openai.ChatCompletionMessageParamUnion{openai.SystemMessage("Be brief."), openai.UserMessage("Hi")},
				})
				if err != nil {
					t.Fatal(err)
				}
				if got, want := resp.Choices[0].Message.Content, "Hello from the fake"; got != want {
					t.Errorf("content = %q, want %q", got, want)
				}
				if got, want := resp.Choices[0].FinishReason, "stop"; got != want {
					t.Errorf("finish reason = %q, want %q", got, want)
				}
				type usage struct{ Prompt, Completion, Total int64 }
				got := usage{resp.Usage.PromptTokens, resp.Usage.CompletionTokens, resp.Usage.TotalTokens}
				if want := (usage{12, 5, 17}); got != want {
					t.Errorf("usage = %+v, want %+v", got, want)
				}
			})

			t.Run("a streamed call folded by the accumulator", func(t *testing.T) {
				fake.Push(aitest.Text("Streaming is fun to watch", 9, 6))
				stream := client.Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{
					Model:         "m",
					Messages:      []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Stream please")},
					StreamOptions: openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)},
				})
				var acc openai.ChatCompletionAccumulator
				finished := ""
				for stream.Next() {
					acc.AddChunk(stream.Current())
					if c, ok := acc.JustFinishedContent(); ok {
						finished = c
					}
				}
				if err := stream.Err(); err != nil {
					t.Fatal(err)
				}
				_ = stream.Close()
				const want = "Streaming is fun to watch"
				if got := acc.Choices[0].Message.Content; got != want {
					t.Errorf("accumulated content = %q, want %q", got, want)
				}
				if finished != want {
					t.Errorf("JustFinishedContent = %q, want %q", finished, want)
				}
				if got, want := acc.Choices[0].FinishReason, "stop"; got != want {
					t.Errorf("finish reason = %q, want %q", got, want)
				}
				if got, want := acc.Usage.TotalTokens, int64(15); got != want {
					t.Errorf("total tokens = %d, want %d", got, want)
				}
			})

			t.Run("a tool call", func(t *testing.T) {
				fake.Push(aitest.Reply{ToolCalls: []aitest.ToolCall{{ID: "call_a", Name: "get_weather", Arguments: `{"city":"Paris"}`}}})
				resp, err := client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{
					Model:    "m",
					Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Weather in Paris?")},
					Tools:    []openai.ChatCompletionToolUnionParam{weather},
				})
				if err != nil {
					t.Fatal(err)
				}
				calls := resp.Choices[0].Message.ToolCalls
				if len(calls) != 1 {
					t.Fatalf("%d tool calls, want 1: %s", len(calls), resp.RawJSON())
				}
				if got, want := calls[0].Function.Name, "get_weather"; got != want {
					t.Errorf("function = %q, want %q", got, want)
				}
				if got, want := calls[0].Function.Arguments, `{"city":"Paris"}`; !sameJSON(got, want) {
					t.Errorf("arguments = %s, want %s", got, want)
				}
				if calls[0].ID == "" {
					t.Error("the tool call has no ID")
				}
				if got, want := resp.Choices[0].FinishReason, "tool_calls"; got != want {
					t.Errorf("finish reason = %q, want %q", got, want)
				}
				req := fake.Requests()[len(fake.Requests())-1].JSON()
				if req == nil {
					t.Error("the provider got no JSON request")
				}
			})

			t.Run("a streamed tool call", func(t *testing.T) {
				fake.Push(aitest.Reply{ToolCalls: []aitest.ToolCall{
					{ID: "call_a", Name: "get_weather", Arguments: `{"city":"Paris"}`},
					{ID: "call_b", Name: "get_weather", Arguments: `{"city":"Oslo"}`},
				}, Interleave: true, ChunkSize: 2})
				stream := client.Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{
					Model:    "m",
					Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Weather in Paris and Oslo?")},
					Tools:    []openai.ChatCompletionToolUnionParam{weather},
				})
				var acc openai.ChatCompletionAccumulator
				var done []string
				for stream.Next() {
					acc.AddChunk(stream.Current())
					if tc, ok := acc.JustFinishedToolCall(); ok {
						done = append(done, tc.Arguments)
					}
				}
				if err := stream.Err(); err != nil {
					t.Fatal(err)
				}
				_ = stream.Close()
				calls := acc.Choices[0].Message.ToolCalls
				if len(calls) != 2 {
					t.Fatalf("%d tool calls, want 2: %+v", len(calls), calls)
				}
				for i, want := range []string{`{"city":"Paris"}`, `{"city":"Oslo"}`} {
					if got := calls[i].Function.Arguments; !sameJSON(got, want) {
						t.Errorf("call %d arguments = %s, want %s", i, got, want)
					}
				}
				if got, want := acc.Choices[0].FinishReason, "tool_calls"; got != want {
					t.Errorf("finish reason = %q, want %q", got, want)
				}
				if len(done) == 0 {
					t.Error("the accumulator never reported a finished tool call")
				}
			})

			t.Run("JSON Schema output", func(t *testing.T) {
				fake.Push(aitest.Text(`{"label":"positive","score":0.9}`, 20, 8))
				resp, err := client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{
					Model:    "m",
					Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("I love it")},
					ResponseFormat: openai.ChatCompletionNewParamsResponseFormatUnion{OfJSONSchema: &shared.ResponseFormatJSONSchemaParam{
						JSONSchema: shared.ResponseFormatJSONSchemaJSONSchemaParam{
							Name:   "sentiment",
							Strict: openai.Bool(true),
							Schema: map[string]any{"type": "object", "properties": map[string]any{
								"label": map[string]any{"type": "string"}, "score": map[string]any{"type": "number"},
							}, "required": []string{"label", "score"}, "additionalProperties": false},
						},
					}},
				})
				if err != nil {
					t.Fatal(err)
				}
				var out struct {
					Label string
					Score float64
				}
				if err := json.Unmarshal([]byte(resp.Choices[0].Message.Content), &out); err != nil {
					t.Errorf("content %q: %v", resp.Choices[0].Message.Content, err)
				} else if got, want := out.Label, "positive"; got != want {
					t.Errorf("label = %q, want %q", got, want)
				}
				if sent := string(fake.Requests()[len(fake.Requests())-1].Body); !strings.Contains(sent, "label") {
					t.Errorf("the schema did not reach the provider: %s", sent)
				}
			})

			t.Run("embeddings", func(t *testing.T) {
				if !b.embeds {
					_, err := client.Embeddings.New(ctx, openai.EmbeddingNewParams{Model: "m",
						Input: openai.EmbeddingNewParamsInputUnion{OfArrayOfStrings: []string{"a"}}})
					apiErr, ok := errors.AsType[*openai.Error](err)
					if !ok {
						t.Fatalf("error %v, want an *openai.Error", err)
					}
					if want := []int{http.StatusBadRequest, http.StatusNotFound}; !slices.Contains(want, apiErr.StatusCode) {
						t.Errorf("embeddings from a provider without them: status = %d, want one of %d", apiErr.StatusCode, want)
					}
					return
				}
				fake.Push(aitest.Reply{Embeddings: [][]float32{{0.25, 0.5, 0.75}, {1, 0, 0}}})
				resp, err := client.Embeddings.New(ctx, openai.EmbeddingNewParams{Model: "m",
					Input: openai.EmbeddingNewParamsInputUnion{OfArrayOfStrings: []string{"first", "second"}}})
				if err != nil {
					t.Fatal(err)
				}
				if len(resp.Data) != 2 {
					t.Fatalf("%d embeddings, want 2: %s", len(resp.Data), resp.RawJSON())
				}
				if got, want := resp.Data[0].Embedding, []float64{0.25, 0.5, 0.75}; !slices.Equal(got, want) {
					t.Errorf("first embedding = %v, want %v", got, want)
				}
				if got, want := resp.Data[1].Index, int64(1); got != want {
					t.Errorf("second embedding index = %d, want %d", got, want)
				}
			})

			t.Run("model listing", func(t *testing.T) {
				page, err := client.Models.List(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if len(page.Data) != 1 {
					t.Fatalf("%d models, want 1: %s", len(page.Data), page.RawJSON())
				}
				type model struct{ ID, Object string }
				if got, want := (model{page.Data[0].ID, string(page.Data[0].Object)}), (model{"m", "model"}); got != want {
					t.Errorf("model = %+v, want %+v", got, want)
				}
			})

			t.Run("a provider's 429 surfaces as an openai.Error", func(t *testing.T) {
				fake.Push(aitest.Status(http.StatusTooManyRequests, 2*time.Second))
				_, err := client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{
					Model:    "m",
					Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Hi")},
				})
				apiErr := openAIError(t, err, http.StatusTooManyRequests)
				if got, want := apiErr.Code, "rate_limit_exceeded"; got != want {
					t.Errorf("code = %q, want %q", got, want)
				}
				if got, want := apiErr.Response.Header.Get("Retry-After"), "2"; got != want {
					t.Errorf("Retry-After = %q, want %q", got, want)
				}
			})
		})
	}
}

func TestOpenAISDKSeesTheGatewaysOwnLimitAsA429(t *testing.T) {
	t.Parallel()
	fake, srv := gateway(t, aitest.OpenAI, ai.WithLimit(ai.Limit{Requests: 1}))
	fake.Push(aitest.Text("ok", 1, 1))
	client := sdk(srv.URL)
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	params := openai.ChatCompletionNewParams{Model: "m", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Hi")}}
	if _, err := client.Chat.Completions.New(ctx, params); err != nil {
		t.Fatal(err)
	}
	_, err := client.Chat.Completions.New(ctx, params)
	apiErr := openAIError(t, err, http.StatusTooManyRequests)
	if got, want := (apiErrorFields{apiErr.Code, apiErr.Type}), (apiErrorFields{"rate_limit_exceeded", "requests"}); got != want {
		t.Errorf("the gateway's limit: error = %+v, want %+v", got, want)
	}
	if apiErr.Response.Header.Get("Retry-After") == "" {
		t.Error("no Retry-After")
	}
	wrong := sdkWithKey(srv.URL, "wrong")
	_, err = wrong.Chat.Completions.New(ctx, params)
	apiErr = openAIError(t, err, http.StatusUnauthorized)
	if got, want := apiErr.Code, "invalid_api_key"; got != want {
		t.Errorf("a wrong key: code = %q, want %q", got, want)
	}
}

// apiErrorFields is the comparable part of an *openai.Error.
type apiErrorFields struct{ Code, Type string }

func sdkWithKey(url, key string) openai.Client {
	return openai.NewClient(option.WithBaseURL(url+"/v1/"), option.WithAPIKey(key), option.WithMaxRetries(0))
}

func sameJSON(a, b string) bool {
	var x, y any
	if json.Unmarshal([]byte(a), &x) != nil || json.Unmarshal([]byte(b), &y) != nil {
		return false
	}
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	return string(xa) == string(ya)
}
