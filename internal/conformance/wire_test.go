package conformance_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	anthropicsdk "github.com/anthropics/anthropic-sdk-go/v2"
	anthropicopt "github.com/anthropics/anthropic-sdk-go/v2/option"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/portico-dev/portico/aiclient"
	"github.com/portico-dev/portico/aiclient/aitest"
	"github.com/portico-dev/portico/gateway/config"
)

// wireConfig is a gateway configured as a user writes it: an OpenAI and
// an Anthropic provider with the default retries and breakers, an alias
// on each, and one falling over from OpenAI to Anthropic.
const wireConfig = `
consumers:
  - {id: sdk, api_keys: [{id: sdk-1, secret: "%[3]s"}]}
ai:
  providers:
    - {name: openai, type: openai, base_url: "%[1]s", api_key: sk-provider}
    - {name: anthropic, type: anthropic, base_url: "%[2]s", api_key: sk-ant-provider}
  models:
    - {alias: gpt, candidates: [{provider: openai, model: gpt-4o}]}
    - {alias: claude, candidates: [{provider: anthropic, model: claude-sonnet-4-5}]}
    - {alias: spread, candidates: [{provider: openai, model: gpt-4o}, {provider: anthropic, model: claude-sonnet-4-5, priority: 1}]}
`

// wired is a configured gateway on an OpenAI and an Anthropic fake.
type wired struct {
	openai, anthropic *aitest.Server
	url               string
}

func newWired(tb testing.TB) *wired {
	tb.Helper()
	w := &wired{openai: aitest.NewServer(aitest.OpenAI), anthropic: aitest.NewServer(aitest.Anthropic)}
	tb.Cleanup(w.openai.Close)
	tb.Cleanup(w.anthropic.Close)
	cfg, err := config.Parse("gateway.yaml", fmt.Appendf(nil, wireConfig, w.openai.URL(), w.anthropic.URL(), gatewayKey),
		func(string) (string, bool) { return "", false })
	if err != nil {
		tb.Fatal(err)
	}
	g, err := cfg.Build()
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = g.Close() })
	srv := httptest.NewServer(g)
	tb.Cleanup(srv.Close)
	w.url = srv.URL
	return w
}

func (w *wired) fake(alias string) *aitest.Server {
	if alias == "claude" {
		return w.anthropic
	}
	return w.openai
}

func claudeSDK(url string) anthropicsdk.Client {
	return anthropicsdk.NewClient(anthropicopt.WithBaseURL(url+"/"), anthropicopt.WithAPIKey(gatewayKey), anthropicopt.WithMaxRetries(0))
}

func withTimeout(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	t.Cleanup(cancel)
	return ctx
}

func chatParams(model string) openai.ChatCompletionNewParams {
	return openai.ChatCompletionNewParams{Model: model, Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Hi")}}
}

func messageParams(model string) anthropicsdk.MessageNewParams {
	return anthropicsdk.MessageNewParams{Model: anthropicsdk.Model(model), MaxTokens: 100,
		Messages: []anthropicsdk.MessageParam{anthropicsdk.NewUserMessage(anthropicsdk.NewTextBlock("Hi"))}}
}

// rateLimited is a provider's 429 asking to wait 7 s, with OpenAI's
// rate-limit headers.
func rateLimited() aitest.Reply {
	return aitest.Reply{
		Status:     429,
		ErrorCode:  "rate_limit_exceeded",
		RetryAfter: 7 * time.Second,
		Header: http.Header{
			"X-Ratelimit-Limit-Requests": {"500"}, "X-Ratelimit-Remaining-Requests": {"0"}, "X-Ratelimit-Reset-Requests": {"7s"}},
	}
}

func TestOpenAISDKGetsAProvider429AtOnceWithItsRetryAfter(t *testing.T) {
	t.Parallel()
	w := newWired(t)
	client := sdk(w.url)
	for _, alias := range []string{"gpt", "claude"} {
		for _, stream := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s, stream %v", alias, stream), func(t *testing.T) {
				fake := w.fake(alias)
				before := len(fake.Requests())
				fake.Push(rateLimited())
				start := time.Now()
				var err error
				if stream {
					s := client.Chat.Completions.NewStreaming(withTimeout(t), chatParams(alias))
					for s.Next() {
					}
					err = s.Err()
					_ = s.Close()
				} else {
					_, err = client.Chat.Completions.New(withTimeout(t), chatParams(alias))
				}
				took := time.Since(start)
				t.Logf("the provider's 429 with Retry-After: 7 reached the SDK in %d ms", took.Milliseconds())
				apiErr := openAIError(t, err, http.StatusTooManyRequests)
				if got, want := apiErr.Code, "rate_limit_exceeded"; got != want {
					t.Errorf("code %q, want %q", got, want)
				}
				if got, want := apiErr.Response.Header.Get("Retry-After"), "7"; got != want {
					t.Errorf("Retry-After %q, want %q", got, want)
				}
				if got, want := apiErr.Response.Header.Get("X-Ratelimit-Remaining-Requests"), "0"; got != want {
					t.Errorf("x-ratelimit-remaining-requests %q, want %q", got, want)
				}
				if apiErr.Response.Header.Get("X-Request-Id") == "" {
					t.Error("no x-request-id")
				}
				if got, want := len(fake.Requests())-before, 1; got != want {
					t.Errorf("the provider got %d requests, want %d", got, want)
				}
				// Generous: the gateway used to wait 14 s; it must not wait the 7 s.
				if took >= 7*time.Second {
					t.Errorf("the 429 took %v to arrive; the provider asked to wait 7 s, longer than max_retry_wait", took)
				}
			})
		}
	}
}

func TestAnthropicSDKGetsAProvider429AtOnceWithItsRetryAfter(t *testing.T) {
	t.Parallel()
	w := newWired(t)
	client := claudeSDK(w.url)
	for _, alias := range []string{"gpt", "claude"} {
		t.Run(alias, func(t *testing.T) {
			fake := w.fake(alias)
			before := len(fake.Requests())
			fake.Push(rateLimited())
			_, err := client.Messages.New(withTimeout(t), messageParams(alias))
			apiErr := anthropicError(t, err, http.StatusTooManyRequests)
			if got, want := apiErr.Response.Header.Get("Retry-After"), "7"; got != want {
				t.Errorf("Retry-After %q, want %q", got, want)
			}
			if apiErr.RequestID == "" {
				t.Error("the SDK read no request ID")
			}
			if got, want := len(fake.Requests())-before, 1; got != want {
				t.Errorf("the provider got %d requests, want %d", got, want)
			}
		})
	}
}

func TestSDKsFailOverOnAProvider429(t *testing.T) {
	t.Parallel()
	w := newWired(t)
	w.openai.Push(rateLimited(), rateLimited())
	w.anthropic.Push(aitest.Text("from the next candidate", 5, 4), aitest.Text("from the next candidate", 5, 4))
	oc := sdk(w.url)
	resp, err := oc.Chat.Completions.New(withTimeout(t), chatParams("spread"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := resp.Choices[0].Message.Content, "from the next candidate"; got != want {
		t.Errorf("OpenAI SDK: content %q, want %q", got, want)
	}
	ac := claudeSDK(w.url)
	msg, err := ac.Messages.New(withTimeout(t), messageParams("spread"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := msg.Content[0].Text, "from the next candidate"; got != want {
		t.Errorf("Anthropic SDK: text %q, want %q", got, want)
	}
	if got, want := len(w.openai.Requests()), 2; got != want {
		t.Errorf("the rate-limited provider got %d requests, want %d", got, want)
	}
}

// Regression test for issue 18: five provider 429s in a row opened the
// model's breaker, and the SDK then got 503 overloaded.
func TestFive429sNoLongerOpenTheBreakerForTheSDK(t *testing.T) {
	t.Parallel()
	w := newWired(t)
	client := sdk(w.url)
	for range 6 {
		w.openai.Push(rateLimited())
		_, err := client.Chat.Completions.New(withTimeout(t), chatParams("gpt"))
		if got, want := openAIError(t, err, http.StatusTooManyRequests).Code, "rate_limit_exceeded"; got != want {
			t.Errorf("code %q, want %q", got, want)
		}
	}
	w.openai.Push(aitest.Text("served", 1, 1))
	resp, err := client.Chat.Completions.New(withTimeout(t), chatParams("gpt"))
	if err != nil {
		t.Fatalf("the call after six 429s: %v", err)
	}
	if got, want := resp.Choices[0].Message.Content, "served"; got != want {
		t.Errorf("content %q, want %q", got, want)
	}
}

func TestAnthropicSDKReadsInputTokensFromMessageStart(t *testing.T) {
	t.Parallel()
	w := newWired(t)
	client := claudeSDK(w.url)
	tests := []struct {
		alias string
		// exact: message_start holds the provider's count; otherwise the
		// gateway's estimate, and message_delta the provider's count.
		exact bool
	}{{"claude", true}, {"gpt", false}}
	for _, tt := range tests {
		t.Run(tt.alias, func(t *testing.T) {
			w.fake(tt.alias).Push(aitest.Reply{Text: "Counted.", Usage: aitestUsage(397, 3)})
			s := client.Messages.NewStreaming(withTimeout(t), messageParams(tt.alias))
			defer s.Close()
			var acc anthropicsdk.Message
			var atStart int64 = -1
			for s.Next() {
				ev := s.Current()
				if ev.Type == "message_start" {
					atStart = ev.AsMessageStart().Message.Usage.InputTokens
				}
				if err := acc.Accumulate(ev); err != nil {
					t.Fatal(err)
				}
			}
			if err := s.Err(); err != nil {
				t.Fatal(err)
			}
			if tt.exact {
				if got, want := atStart, int64(397); got != want {
					t.Errorf("message_start input_tokens %d, want the provider's %d", got, want)
				}
			} else if atStart <= 0 {
				t.Errorf("message_start input_tokens %d, want the gateway's estimate", atStart)
			}
			if got, want := acc.Usage.InputTokens, int64(397); got != want {
				t.Errorf("accumulated input_tokens %d, want %d", got, want)
			}
		})
	}
}

func TestOpenAISDKGetsUsageOnceWithIncludeUsage(t *testing.T) {
	t.Parallel()
	w := newWired(t)
	client := sdk(w.url)
	for _, alias := range []string{"gpt", "claude"} {
		t.Run(alias, func(t *testing.T) {
			w.fake(alias).Push(aitest.Reply{Text: "Usage comes last.", Usage: aitestUsage(11, 4)})
			p := chatParams(alias)
			p.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
			s := client.Chat.Completions.NewStreaming(withTimeout(t), p)
			defer s.Close()
			var acc openai.ChatCompletionAccumulator
			withUsage, nullUsage, chunks := 0, 0, 0
			for s.Next() {
				c := s.Current()
				acc.AddChunk(c)
				chunks++
				switch {
				case c.JSON.Usage.Valid():
					withUsage++
				case c.JSON.Usage.Raw() == "null":
					nullUsage++
				}
			}
			if err := s.Err(); err != nil {
				t.Fatal(err)
			}
			if got, want := withUsage, 1; got != want {
				t.Errorf("%d chunks carry usage, want %d", got, want)
			}
			if got, want := nullUsage, chunks-1; got != want {
				t.Errorf("%d chunks carry \"usage\": null, want %d", got, want)
			}
			if got, want := acc.Usage.PromptTokens, int64(11); got != want {
				t.Errorf("prompt_tokens %d, want %d", got, want)
			}
			if got, want := acc.Usage.CompletionTokens, int64(4); got != want {
				t.Errorf("completion_tokens %d, want %d", got, want)
			}
		})
	}
}

func TestOpenAISDKReadsLogprobs(t *testing.T) {
	t.Parallel()
	w := newWired(t)
	client := sdk(w.url)
	p := chatParams("gpt")
	p.Logprobs, p.TopLogprobs = openai.Bool(true), openai.Int(2)

	t.Run("whole", func(t *testing.T) {
		w.openai.Push(aitest.Reply{Text: "Sure thing", ChunkSize: 5})
		resp, err := client.Chat.Completions.New(withTimeout(t), p)
		if err != nil {
			t.Fatal(err)
		}
		checkLogprobs(t, resp.Choices[0].Logprobs.Content, []string{"Sure ", "thing"})
	})
	t.Run("streamed", func(t *testing.T) {
		w.openai.Push(aitest.Reply{Text: "Sure thing", ChunkSize: 5})
		s := client.Chat.Completions.NewStreaming(withTimeout(t), p)
		defer s.Close()
		var lps []openai.ChatCompletionTokenLogprob
		for s.Next() {
			if c := s.Current(); len(c.Choices) > 0 {
				lps = append(lps, c.Choices[0].Logprobs.Content...)
			}
		}
		if err := s.Err(); err != nil {
			t.Fatal(err)
		}
		checkLogprobs(t, lps, []string{"Sure ", "thing"})
	})
	t.Run("refused by a provider without them", func(t *testing.T) {
		before := len(w.anthropic.Requests())
		q := p
		q.Model = "claude"
		_, err := client.Chat.Completions.New(withTimeout(t), q)
		apiErr := openAIError(t, err, http.StatusBadRequest)
		if got, want := apiErr.Param, "logprobs"; got != want {
			t.Errorf("param %q, want %q", got, want)
		}
		if got, want := len(w.anthropic.Requests())-before, 0; got != want {
			t.Errorf("the provider got %d requests, want %d", got, want)
		}
	})
}

func checkLogprobs(t *testing.T, lps []openai.ChatCompletionTokenLogprob, tokens []string) {
	t.Helper()
	if got, want := len(lps), len(tokens); got != want {
		t.Fatalf("%d logprobs, want %d", got, want)
	}
	for i, lp := range lps {
		if got, want := lp.Token, tokens[i]; got != want {
			t.Errorf("token %d: %q, want %q", i, got, want)
		}
		if got, want := lp.Logprob, -0.1*float64(len(tokens[i])); got != want {
			t.Errorf("token %d: logprob %v, want %v", i, got, want)
		}
		if got, want := len(lp.TopLogprobs), 2; got != want {
			t.Errorf("token %d: %d top_logprobs, want %d", i, got, want)
		}
		if got, want := len(lp.Bytes), len(tokens[i]); got != want {
			t.Errorf("token %d: %d bytes, want %d", i, got, want)
		}
	}
}

func TestUnknownFieldsPassToTheSameWireAndAreRefusedByName(t *testing.T) {
	t.Parallel()
	w := newWired(t)
	client := sdk(w.url)
	p := chatParams("gpt")
	p.LogitBias = map[string]int64{"50256": -100}
	p.ServiceTier = openai.ChatCompletionNewParamsServiceTierDefault
	p.Store = openai.Bool(false)

	t.Run("OpenAI's fields reach an OpenAI provider, and its fields come back", func(t *testing.T) {
		w.openai.Push(aitest.Text("kept", 2, 1))
		before := len(w.openai.Requests())
		resp, err := client.Chat.Completions.New(withTimeout(t), p, option.WithJSONSet("prompt_cache_key", "user-7"))
		if err != nil {
			t.Fatal(err)
		}
		sent := w.openai.Requests()[before].JSON()
		for _, field := range []string{"logit_bias", "service_tier", "store", "prompt_cache_key"} {
			if _, ok := sent[field]; !ok {
				t.Errorf("%s did not reach the provider: %s", field, w.openai.Requests()[before].Body)
			}
		}
		if got, want := resp.SystemFingerprint, "fp_aitest"; got != want {
			t.Errorf("system_fingerprint %q, want %q", got, want)
		}
		if got, want := string(resp.ServiceTier), "default"; got != want {
			t.Errorf("service_tier %q, want %q", got, want)
		}
		if got, want := resp.Model, "gpt-4o"; got != want {
			t.Errorf("model %q, want the provider's %q", got, want)
		}
		if !strings.HasPrefix(resp.ID, "resp_") {
			t.Errorf("id %q is not the provider's", resp.ID)
		}
	})
	t.Run("an embeddings call passes them too", func(t *testing.T) {
		w.openai.Push(aitest.Reply{})
		before := len(w.openai.Requests())
		c := sdk(w.url)
		_, err := c.Embeddings.New(withTimeout(t), openai.EmbeddingNewParams{Model: "gpt",
			Input: openai.EmbeddingNewParamsInputUnion{OfString: openai.String("hi")}}, option.WithJSONSet("safety_identifier", "user-7"))
		if err != nil {
			t.Fatal(err)
		}
		if got, want := w.openai.Requests()[before].JSON()["safety_identifier"], any("user-7"); got != want {
			t.Errorf("safety_identifier %v, want %v", got, want)
		}
	})
	t.Run("a streamed chunk keeps the provider's fields", func(t *testing.T) {
		w.openai.Push(aitest.Text("kept", 2, 1))
		s := client.Chat.Completions.NewStreaming(withTimeout(t), p)
		defer s.Close()
		n := 0
		for s.Next() {
			c := s.Current()
			n++
			if got, want := c.SystemFingerprint, "fp_aitest"; got != want {
				t.Errorf("chunk %d: system_fingerprint %q, want %q", n, got, want)
			}
		}
		if err := s.Err(); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("an Anthropic provider refuses them by name", func(t *testing.T) {
		q := p
		q.Model = "claude"
		_, err := client.Chat.Completions.New(withTimeout(t), q)
		apiErr := openAIError(t, err, http.StatusBadRequest)
		if got, want := apiErr.Param, "logit_bias"; got != want {
			t.Errorf("param %q, want %q", got, want)
		}
	})
	t.Run("Anthropic's fields reach an Anthropic provider", func(t *testing.T) {
		w.anthropic.Push(aitest.Text("kept", 2, 1))
		before := len(w.anthropic.Requests())
		ac := claudeSDK(w.url)
		if _, err := ac.Messages.New(withTimeout(t), messageParams("claude"), anthropicopt.WithJSONSet("top_k", 5)); err != nil {
			t.Fatal(err)
		}
		if got, want := w.anthropic.Requests()[before].JSON()["top_k"], any(5.0); got != want {
			t.Errorf("top_k %v, want %v", got, want)
		}
	})
	t.Run("an OpenAI provider refuses Anthropic's by name", func(t *testing.T) {
		ac := claudeSDK(w.url)
		_, err := ac.Messages.New(withTimeout(t), messageParams("gpt"), anthropicopt.WithJSONSet("top_k", 5))
		apiErr := anthropicError(t, err, http.StatusBadRequest)
		if !strings.Contains(apiErr.Error(), "top_k") {
			t.Errorf("error %q does not name top_k", apiErr.Error())
		}
	})
}

func TestParallelToolCallsIsMappedAcrossWires(t *testing.T) {
	t.Parallel()
	w := newWired(t)
	p := chatParams("claude")
	p.Tools = []openai.ChatCompletionToolUnionParam{weather}
	p.ParallelToolCalls = openai.Bool(false)
	w.anthropic.Push(aitest.Text("one at a time", 3, 3))
	before := len(w.anthropic.Requests())
	c := sdk(w.url)
	if _, err := c.Chat.Completions.New(withTimeout(t), p); err != nil {
		t.Fatal(err)
	}
	choice, _ := w.anthropic.Requests()[before].JSON()["tool_choice"].(map[string]any)
	if got, want := choice["disable_parallel_tool_use"], any(true); got != want {
		t.Errorf("disable_parallel_tool_use %v, want %v", got, want)
	}
}

func TestEveryErrorCarriesTheRequestID(t *testing.T) {
	t.Parallel()
	w := newWired(t)
	w.openai.Push(aitest.Reply{Status: 500}, aitest.Reply{Status: 500}, aitest.Reply{Status: 500})
	calls := []struct {
		name string
		call func(ctx context.Context) error
	}{
		{"a wrong key", func(ctx context.Context) error {
			c := sdkWithKey(w.url, "wrong")
			_, err := c.Chat.Completions.New(ctx, chatParams("gpt"))
			return err
		}},
		{"an unknown model", func(ctx context.Context) error {
			c := sdk(w.url)
			_, err := c.Chat.Completions.New(ctx, chatParams("nope"))
			return err
		}},
		{"a provider failing", func(ctx context.Context) error {
			c := sdk(w.url)
			_, err := c.Chat.Completions.New(ctx, chatParams("gpt"))
			return err
		}},
	}
	for _, c := range calls {
		apiErr, ok := errors.AsType[*openai.Error](c.call(withTimeout(t)))
		if !ok {
			t.Errorf("OpenAI SDK, %s: not an *openai.Error", c.name)
			continue
		}
		if apiErr.Response.Header.Get("X-Request-Id") == "" {
			t.Errorf("OpenAI SDK, %s: no x-request-id", c.name)
		}
	}
	for _, c := range []struct {
		name   string
		client anthropicsdk.Client
		model  string
	}{
		{"a wrong key", anthropicsdk.NewClient(anthropicopt.WithBaseURL(w.url+"/"), anthropicopt.WithAPIKey("wrong"), anthropicopt.WithMaxRetries(0)), "claude"},
		{"an unknown model", claudeSDK(w.url), "nope"},
	} {
		_, err := c.client.Messages.New(withTimeout(t), messageParams(c.model))
		apiErr, ok := errors.AsType[*anthropicsdk.Error](err)
		if !ok {
			t.Errorf("Anthropic SDK, %s: not an *anthropic.Error: %v", c.name, err)
			continue
		}
		if apiErr.RequestID == "" {
			t.Errorf("Anthropic SDK, %s: no request ID", c.name)
		}
		if !strings.Contains(apiErr.RawJSON(), `"request_id":"`+apiErr.RequestID+`"`) {
			t.Errorf("Anthropic SDK, %s: the body %s does not carry the request ID", c.name, apiErr.RawJSON())
		}
	}
}

func TestContentBlockStartCarriesTheEmptyFieldsAnthropicSends(t *testing.T) {
	t.Parallel()
	w := newWired(t)
	for _, alias := range []string{"claude", "gpt"} {
		t.Run(alias, func(t *testing.T) {
			w.fake(alias).Push(aitest.Reply{Reasoning: "Hmm.", Text: "Done."})
			ac := claudeSDK(w.url)
			s := ac.Messages.NewStreaming(withTimeout(t), messageParams(alias))
			defer s.Close()
			starts := map[string]string{}
			for s.Next() {
				if ev := s.Current(); ev.Type == "content_block_start" {
					cb := ev.AsContentBlockStart().ContentBlock
					starts[cb.Type] = cb.RawJSON()
				}
			}
			if err := s.Err(); err != nil {
				t.Fatal(err)
			}
			if got, want := starts["text"], `{"type":"text","text":""}`; got != want {
				t.Errorf("text block start %s, want %s", got, want)
			}
			if got, want := starts["thinking"], `{"type":"thinking","thinking":"","signature":""}`; got != want {
				t.Errorf("thinking block start %s, want %s", got, want)
			}
		})
	}
}

func aitestUsage(in, out int64) aiclient.Usage {
	return aiclient.Usage{InputTokens: in, OutputTokens: out}
}

// BenchmarkProvider429ReachesTheSDK measures how long a provider's 429
// with "Retry-After: 7" takes to reach the OpenAI SDK through the gateway
// (before issue 18: 14 s, the gateway waiting and retrying twice).
func BenchmarkProvider429ReachesTheSDK(b *testing.B) {
	w := newWired(b)
	client := sdk(w.url)
	ctx := context.Background()
	for b.Loop() {
		w.openai.Push(rateLimited())
		if _, err := client.Chat.Completions.New(ctx, chatParams("gpt")); err == nil {
			b.Fatal("no 429")
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/op")
}

// openAIError returns err as the *openai.Error it must be, and checks its
// status.
func openAIError(t *testing.T, err error, status int) *openai.Error {
	t.Helper()
	apiErr, ok := errors.AsType[*openai.Error](err)
	if !ok {
		t.Fatalf("error %v, want an *openai.Error", err)
	}
	if got := apiErr.StatusCode; got != status {
		t.Errorf("status %d, want %d", got, status)
	}
	return apiErr
}

// anthropicError returns err as the *anthropic.Error it must be, and
// checks its status.
func anthropicError(t *testing.T, err error, status int) *anthropicsdk.Error {
	t.Helper()
	apiErr, ok := errors.AsType[*anthropicsdk.Error](err)
	if !ok {
		t.Fatalf("error %v, want an *anthropic.Error", err)
	}
	if got := apiErr.StatusCode; got != status {
		t.Errorf("status %d, want %d", got, status)
	}
	return apiErr
}
