package conformance_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/anthropics/anthropic-sdk-go/v2"
	aoption "github.com/anthropics/anthropic-sdk-go/v2/option"
	"github.com/openai/openai-go/v3"

	"github.com/portico-dev/portico/aiclient"
	"github.com/portico-dev/portico/aiclient/aitest"
	"github.com/portico-dev/portico/gateway/ai"
	"github.com/portico-dev/portico/middleware"
)

// TestBothSDKsSeeABudgetReserveEachCallsMaximumCost calls a gateway whose
// model costs $0.001 a token, input or output, under a budget of $0.10:
// a call of "Hi" (5 tokens by the gateway's estimate) for n tokens
// reserves $0.001 × (5 + n) and is charged what it used.
func TestBothSDKsSeeABudgetReserveEachCallsMaximumCost(t *testing.T) {
	t.Parallel()
	fake := aitest.NewServer(aitest.OpenAI, aitest.WithModels("upstream-model"))
	t.Cleanup(fake.Close)
	client := aiclient.New(
		aiclient.WithRoute("m", aiclient.Candidate{Provider: provider(aitest.OpenAI, fake.URL()), Model: "upstream-model"}),
		aiclient.WithPrices(aiclient.Prices{"upstream-model": {Input: 1000, Output: 1000}}))
	h, err := ai.New(client, ai.WithAuthenticator(ai.NewKeys(map[string]middleware.Consumer{gatewayKey: {ID: "sdk"}})),
		ai.WithBudget(ai.Budget{USD: 0.1, Period: ai.Daily}))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	oa := sdk(srv.URL)
	an := anthropic.NewClient(aoption.WithBaseURL(srv.URL+"/"), aoption.WithAPIKey(gatewayKey), aoption.WithMaxRetries(0))
	chat := func(maxTokens int64) error {
		_, err := oa.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "m", MaxCompletionTokens: openai.Int(maxTokens),
			Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Hi")}})
		return err
	}
	message := func(maxTokens int64) error {
		_, err := an.Messages.New(ctx, anthropic.MessageNewParams{Model: "m", MaxTokens: maxTokens,
			Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("Hi"))}})
		return err
	}

	// $0.205 may be spent: more than the whole budget.
	err = chat(200)
	var oerr *openai.Error
	if !errors.As(err, &oerr) {
		t.Fatalf("a call that may cost more than the budget: %v, want a 429", err)
	}
	if got, want := oerr.StatusCode, http.StatusTooManyRequests; got != want {
		t.Errorf("status %d, want %d", got, want)
	}
	if got, want := oerr.Code, "insufficient_quota"; got != want {
		t.Errorf("code %q, want %q", got, want)
	}
	if !strings.Contains(oerr.Message, "may cost up to $0.205") {
		t.Errorf("message %q does not name the call's maximum cost", oerr.Message)
	}
	if got, want := fake.Pending(), 0; got != want {
		t.Fatalf("%d replies pending before any call was served, want %d", got, want)
	}

	// $0.055 reserved, $0.010 charged: $0.090 left.
	fake.Push(aitest.Text("ok", 5, 5))
	if err := chat(50); err != nil {
		t.Fatalf("a call that fits: %v", err)
	}
	// $0.095 does not fit in what is left, $0.085 does.
	err = message(90)
	var aerr *anthropic.Error
	if !errors.As(err, &aerr) {
		t.Fatalf("a call that no longer fits: %v, want a 429", err)
	}
	if got, want := aerr.StatusCode, http.StatusTooManyRequests; got != want {
		t.Errorf("status %d, want %d", got, want)
	}
	if !strings.Contains(aerr.RawJSON(), "rate_limit_error") {
		t.Errorf("error %s is not a rate_limit_error", aerr.RawJSON())
	}
	fake.Push(aitest.Text("ok", 5, 5))
	if err := message(80); err != nil {
		t.Errorf("a call that fits what reconciliation left: %v", err)
	}
	if got, want := len(fake.Requests()), 2; got != want {
		t.Errorf("the provider got %d calls, want %d", got, want)
	}
}
