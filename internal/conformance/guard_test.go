package conformance_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	anthropicsdk "github.com/anthropics/anthropic-sdk-go/v2"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/portico-dev/portico/aiclient"
	"github.com/portico-dev/portico/aiclient/aicache"
	"github.com/portico-dev/portico/aiclient/aitest"
	"github.com/portico-dev/portico/aiclient/guard"
	"github.com/portico-dev/portico/gateway/ai"
	"github.com/portico-dev/portico/middleware"
)

// guardedGateway serves alias "m" through a guard (blocking secrets,
// masking e-mail addresses) over a response cache over a fake provider of
// format, which writes its answers one byte at a time.
func guardedGateway(t *testing.T, format aitest.Format) (*aitest.Server, *httptest.Server) {
	t.Helper()
	fake := aitest.NewServer(format, aitest.WithSplitter(aitest.Bytewise))
	t.Cleanup(fake.Close)
	c, err := aicache.New(provider(format, fake.URL()))
	if err != nil {
		t.Fatal(err)
	}
	g, err := guard.New(c, []guard.Rule{
		{Name: "no-secrets", Action: guard.Block, Detector: guard.Secrets()},
		{Name: "pii", Action: guard.Mask, Detector: guard.Email()},
	})
	if err != nil {
		t.Fatal(err)
	}
	client := aiclient.New(aiclient.WithRoute("m", aiclient.Candidate{Provider: g, Model: "upstream-model"}))
	h, err := ai.New(client, ai.WithAuthenticator(ai.NewKeys(map[string]middleware.Consumer{gatewayKey: {ID: "sdk", Tenant: "t"}})))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return fake, srv
}

const maskedReply = "I wrote to <EMAIL_1>."

func TestOpenAISDKStreamsRestoredValuesAndCacheHits(t *testing.T) {
	t.Parallel()
	fake, srv := guardedGateway(t, aitest.OpenAI)
	fake.Push(aitest.Reply{Text: maskedReply, ChunkSize: 1})
	client := sdk(srv.URL)
	params := openai.ChatCompletionNewParams{Model: "m", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Write to jane@example.com.")}}
	for i := range 2 {
		var hdr *http.Response
		stream := client.Chat.Completions.NewStreaming(withTimeout(t), params, option.WithResponseInto(&hdr))
		var acc openai.ChatCompletionAccumulator
		for stream.Next() {
			acc.AddChunk(stream.Current())
		}
		if err := stream.Err(); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
		_ = stream.Close()
		if got, want := acc.Choices[0].Message.Content, "I wrote to jane@example.com."; got != want {
			t.Errorf("call %d: content = %q, want %q", i, got, want)
		}
		wantHit := ""
		if i == 1 {
			wantHit = "hit"
		}
		if got := hdr.Header.Get(ai.CacheHeader); got != wantHit {
			t.Errorf("call %d: %s = %q, want %q", i, ai.CacheHeader, got, wantHit)
		}
	}
	if got, want := len(fake.Requests()), 1; got != want {
		t.Errorf("provider requests = %d, want %d", got, want)
	}
}

func TestOpenAISDKGetsABlockNamingTheRule(t *testing.T) {
	t.Parallel()
	fake, srv := guardedGateway(t, aitest.OpenAI)
	client := sdk(srv.URL)
	_, err := client.Chat.Completions.New(withTimeout(t), openai.ChatCompletionNewParams{Model: "m",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("key AKIAIOSFODNN7EXAMPLE")}})
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) {
		t.Fatalf("err = %v, want an *openai.Error", err)
	}
	if got, want := apiErr.StatusCode, 400; got != want {
		t.Errorf("status = %d, want %d", got, want)
	}
	if got, want := apiErr.Code, guard.CodeBlocked; got != want {
		t.Errorf("code = %q, want %q", got, want)
	}
	if got, want := len(fake.Requests()), 0; got != want {
		t.Errorf("provider requests = %d, want %d", got, want)
	}
}

func TestAnthropicSDKStreamsRestoredValues(t *testing.T) {
	t.Parallel()
	fake, srv := guardedGateway(t, aitest.Anthropic)
	fake.Push(aitest.Reply{Text: maskedReply, ChunkSize: 1})
	params := anthropicsdk.MessageNewParams{Model: "m", MaxTokens: 100,
		Messages: []anthropicsdk.MessageParam{anthropicsdk.NewUserMessage(anthropicsdk.NewTextBlock("Write to jane@example.com."))}}
	claude := claudeSDK(srv.URL)
	stream := claude.Messages.NewStreaming(withTimeout(t), params)
	var msg anthropicsdk.Message
	for stream.Next() {
		if err := msg.Accumulate(stream.Current()); err != nil {
			t.Fatal(err)
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	_ = stream.Close()
	if got, want := msg.Content[0].Text, "I wrote to jane@example.com."; got != want {
		t.Errorf("text = %q, want %q", got, want)
	}
	_, err := claude.Messages.New(withTimeout(t), anthropicsdk.MessageNewParams{Model: "m", MaxTokens: 100,
		Messages: []anthropicsdk.MessageParam{anthropicsdk.NewUserMessage(anthropicsdk.NewTextBlock("token ghp_abcdefghijklmnopqrstuvwxyz0123456789"))}})
	var apiErr *anthropicsdk.Error
	if !errors.As(err, &apiErr) {
		t.Fatalf("err = %v, want an *anthropic.Error", err)
	}
	if got, want := apiErr.StatusCode, 400; got != want {
		t.Errorf("status = %d, want %d", got, want)
	}
}
