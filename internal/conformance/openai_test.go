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
					t.Errorf("finish_reason = %q, want %q", got, want)
				}
				if got, want := resp.Usage.PromptTokens, int64(12); got != want {
					t.Errorf("prompt_tokens = %d, want %d", got, want)
				}
				if got, want := resp.Usage.CompletionTokens, int64(5); got != want {
					t.Errorf("completion_tokens = %d, want %d", got, want)
				}
				if got, want := resp.Usage.TotalTokens, int64(17); got != want {
					t.Errorf("total_tokens = %d, want %d", got, want)
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
				if got, want := acc.Choices[0].Message.Content, "Streaming is fun to watch"; got != want {
					t.Errorf("accumulated content = %q, want %q", got, want)
				}
				if got, want := finished, "Streaming is fun to watch"; got != want {
					t.Errorf("finished content = %q, want %q", got, want)
				}
				if got, want := acc.Choices[0].FinishReason, "stop"; got != want {
					t.Errorf("finish_reason = %q, want %q", got, want)
				}
				if got, want := acc.Usage.TotalTokens, int64(15); got != want {
					t.Errorf("total_tokens = %d, want %d", got, want)
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
				if got, want := resp.Choices[0].FinishReason, "tool_calls"; got != want {
					t.Errorf("finish_reason = %q, want %q", got, want)
				}
				if got, want := len(calls), 1; got != want {
					t.Fatalf("%d tool calls, want %d: %s", got, want, resp.RawJSON())
				}
				if got, want := calls[0].Function.Name, "get_weather"; got != want {
					t.Errorf("function name = %q, want %q", got, want)
				}
				if got, want := calls[0].Function.Arguments, `{"city":"Paris"}`; !sameJSON(got, want) {
					t.Errorf("arguments = %s, want %s", got, want)
				}
				if calls[0].ID == "" {
					t.Error("the tool call has no ID")
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
				if got, want := acc.Choices[0].FinishReason, "tool_calls"; got != want {
					t.Errorf("finish_reason = %q, want %q", got, want)
				}
				if got, want := len(calls), 2; got != want {
					t.Fatalf("%d tool calls, want %d: %+v", got, want, calls)
				}
				for i, want := range []string{`{"city":"Paris"}`, `{"city":"Oslo"}`} {
					if got := calls[i].Function.Arguments; !sameJSON(got, want) {
						t.Errorf("calls[%d] arguments = %s, want %s", i, got, want)
					}
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
					t.Fatalf("content %q: %v", resp.Choices[0].Message.Content, err)
				}
				if got, want := out.Label, "positive"; got != want {
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
					var apiErr *openai.Error
					if !errors.As(err, &apiErr) {
						t.Fatalf("embeddings from a provider without them: %v, want an *openai.Error", err)
					}
					if got := apiErr.StatusCode; !slices.Contains([]int{http.StatusBadRequest, http.StatusNotFound}, got) {
						t.Errorf("embeddings from a provider without them: status %d, want 400 or 404", got)
					}
					return
				}
				fake.Push(aitest.Reply{Embeddings: [][]float32{{0.25, 0.5, 0.75}, {1, 0, 0}}})
				resp, err := client.Embeddings.New(ctx, openai.EmbeddingNewParams{Model: "m",
					Input: openai.EmbeddingNewParamsInputUnion{OfArrayOfStrings: []string{"first", "second"}}})
				if err != nil {
					t.Fatal(err)
				}
				if got, want := len(resp.Data), 2; got != want {
					t.Fatalf("%d embeddings, want %d: %s", got, want, resp.RawJSON())
				}
				if got, want := resp.Data[0].Embedding, []float64{0.25, 0.5, 0.75}; !slices.Equal(got, want) {
					t.Errorf("embedding 0 = %v, want %v", got, want)
				}
				if got, want := resp.Data[1].Index, int64(1); got != want {
					t.Errorf("second index = %d, want %d", got, want)
				}
			})

			t.Run("model listing", func(t *testing.T) {
				page, err := client.Models.List(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if got, want := len(page.Data), 1; got != want {
					t.Fatalf("%d models, want %d: %s", got, want, page.RawJSON())
				}
				if got, want := page.Data[0].ID, "m"; got != want {
					t.Errorf("model ID = %q, want %q", got, want)
				}
				if got, want := string(page.Data[0].Object), "model"; got != want {
					t.Errorf("model object = %q, want %q", got, want)
				}
			})

			t.Run("a provider's 429 surfaces as an openai.Error", func(t *testing.T) {
				fake.Push(aitest.Status(http.StatusTooManyRequests, 2*time.Second))
				_, err := client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{
					Model:    "m",
					Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Hi")},
				})
				var apiErr *openai.Error
				if !errors.As(err, &apiErr) {
					t.Fatalf("error %v is not an *openai.Error", err)
				}
				if got, want := apiErr.StatusCode, http.StatusTooManyRequests; got != want {
					t.Errorf("status = %d, want %d", got, want)
				}
				if got, want := apiErr.Code, "rate_limit_exceeded"; got != want {
					t.Errorf("code = %q, want %q (type %q)", got, want, apiErr.Type)
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
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) {
		t.Fatalf("error %v is not an *openai.Error", err)
	}
	if got, want := (apiFacts{apiErr.StatusCode, apiErr.Code, apiErr.Type}), (apiFacts{http.StatusTooManyRequests, "rate_limit_exceeded", "requests"}); got != want {
		t.Fatalf("error = %+v, want %+v", got, want)
	}
	if apiErr.Response.Header.Get("Retry-After") == "" {
		t.Error("no Retry-After")
	}
	wrong := sdkWithKey(srv.URL, "wrong")
	_, err = wrong.Chat.Completions.New(ctx, params)
	if !errors.As(err, &apiErr) {
		t.Fatalf("a wrong key: %v is not an *openai.Error", err)
	}
	if got, want := apiErr.StatusCode, http.StatusUnauthorized; got != want {
		t.Errorf("a wrong key: status %d, want %d", got, want)
	}
	if got, want := apiErr.Code, "invalid_api_key"; got != want {
		t.Errorf("a wrong key: code %q, want %q", got, want)
	}
}

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

// apiFacts is what a test compares of an *openai.Error at once.
type apiFacts struct {
	Status int
	Code   string
	Type   string
}
