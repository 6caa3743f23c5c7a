package aiclient_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/portico-dev/portico/aiclient"
)

func TestUnknownKeepsTheMembersNoFieldModels(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, body string
		want       string
	}{
		{"known members are left out", `{"model":"m","logit_bias":{"1":-100},"store":false}`, `{"logit_bias":{"1":-100},"store":false}`},
		{"a null member is absent", `{"model":"m","service_tier":null}`, `null`},
		{"nothing unknown is nil", `{"model":"m"}`, `null`},
		{"a body that is not an object is nil", `[1,2]`, `null`},
	}
	for _, tt := range tests {
		got, err := json.Marshal(aiclient.Unknown([]byte(tt.body), "model"))
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != tt.want {
			t.Errorf("%s: got %s, want %s", tt.name, got, tt.want)
		}
	}
}

func TestNativeMembersBelongToOneWire(t *testing.T) {
	t.Parallel()
	n := &aiclient.Native{Wire: aiclient.WireOpenAI, Fields: map[string]json.RawMessage{"store": json.RawMessage(`false`), "logit_bias": json.RawMessage(`{}`)}}
	if got, want := len(n.For(aiclient.WireOpenAI)), 2; got != want {
		t.Errorf("For(openai): %d members, want %d", got, want)
	}
	if got := n.For(aiclient.WireAnthropic); got != nil {
		t.Errorf("For(anthropic): %v, want nil", got)
	}
	if err := n.Refuse("openai", "gpt", aiclient.WireOpenAI); err != nil {
		t.Errorf("the same wire refused them: %v", err)
	}
	var none *aiclient.Native
	if err := none.Refuse("anthropic", "claude", aiclient.WireAnthropic); err != nil {
		t.Errorf("no members were refused: %v", err)
	}
	e, ok := errors.AsType[*aiclient.Error](n.Refuse("anthropic", "claude", aiclient.WireAnthropic))
	if !ok {
		t.Fatal("another wire did not refuse them with an *aiclient.Error")
	}
	if got, want := e.Kind, aiclient.KindInvalidRequest; got != want {
		t.Errorf("kind %q, want %q", got, want)
	}
	if got, want := e.Param, "logit_bias"; got != want {
		t.Errorf("param %q, want the first member in order, %q", got, want)
	}
	if e.Retryable {
		t.Error("a refused member is retryable")
	}
}

func TestRateLimitHeaderKeepsOnlyTheRateLimitHeaders(t *testing.T) {
	t.Parallel()
	h := http.Header{
		"Retry-After":                        {"7"},
		"X-Ratelimit-Remaining-Tokens":       {"0"},
		"Anthropic-Ratelimit-Requests-Reset": {"2025-01-01T00:00:07Z"},
		"Content-Type":                       {"application/json"},
		"Set-Cookie":                         {"session=secret"},
	}
	got := aiclient.RateLimitHeader(h)
	if got, want := len(got), 3; got != want {
		t.Errorf("%d headers, want %d: %v", got, want, h)
	}
	for _, name := range []string{"Set-Cookie", "Content-Type"} {
		if v := got.Get(name); v != "" {
			t.Errorf("%s kept: %q", name, v)
		}
	}
	if got := aiclient.RateLimitHeader(http.Header{"Content-Type": {"text/plain"}}); got != nil {
		t.Errorf("no rate-limit headers: got %v, want nil", got)
	}
}

func TestAccumulatorKeepsCreatedNativeAndLogprobs(t *testing.T) {
	t.Parallel()
	created := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	native := &aiclient.Native{Wire: aiclient.WireOpenAI, Fields: map[string]json.RawMessage{"system_fingerprint": json.RawMessage(`"fp_1"`)}}
	var acc aiclient.Accumulator
	for _, ev := range []aiclient.Event{
		{
			Type:    aiclient.EventStart,
			ID:      "r",
			Created: created,
			Native:  native,
		},
		{Type: aiclient.EventText, Text: "Hi", Logprobs: []aiclient.Logprob{{Token: "Hi", Logprob: -0.5}}},
		{Type: aiclient.EventText, Logprobs: []aiclient.Logprob{{Token: "!", Logprob: -1}}},
	} {
		acc.Add(ev)
	}
	resp := acc.Response()
	if got, want := resp.Created, created; !got.Equal(want) {
		t.Errorf("created %v, want %v", got, want)
	}
	if got, want := resp.Native, native; got != want {
		t.Errorf("native %v, want %v", got, want)
	}
	if got, want := len(resp.Logprobs), 2; got != want {
		t.Fatalf("%d logprobs, want %d", got, want)
	}
	if got, want := resp.Logprobs[1].Token, "!"; got != want {
		t.Errorf("second token %q, want %q", got, want)
	}
	if got, want := resp.Message.Text(), "Hi"; got != want {
		t.Errorf("text %q, want %q", got, want)
	}
}

func ExampleNative_Refuse() {
	req := &aiclient.Request{Model: "claude-sonnet-4-5", Native: &aiclient.Native{Wire: aiclient.WireOpenAI,
		Fields: aiclient.Unknown([]byte(`{"model":"m","messages":[],"logit_bias":{"50256":-100}}`), "model", "messages")}}
	fmt.Println(req.Native.Refuse("openai", req.Model, aiclient.WireOpenAI))
	var e *aiclient.Error
	if errors.As(req.Native.Refuse("anthropic", req.Model, aiclient.WireAnthropic), &e) {
		fmt.Println(e.Kind, e.Param)
	}
	// Output:
	// <nil>
	// invalid_request logit_bias
}
