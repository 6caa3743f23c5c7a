package aiclient_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/portico-dev/portico/aiclient"
	"github.com/portico-dev/portico/aiclient/anthropic"
	"github.com/portico-dev/portico/aiclient/bedrock"
	"github.com/portico-dev/portico/aiclient/gemini"
	"github.com/portico-dev/portico/aiclient/ollama"
	"github.com/portico-dev/portico/aiclient/openai"
)

// encoders are the adapters' request encoders, by provider name.
func encoders(t *testing.T) map[string]func(*aiclient.Request) ([]byte, error) {
	t.Helper()
	br, err := bedrock.New(context.Background(), bedrock.WithRegion("us-east-1"), bedrock.WithAPIKey("k"))
	if err != nil {
		t.Fatal(err)
	}
	return map[string]func(*aiclient.Request) ([]byte, error){
		"openai":    func(r *aiclient.Request) ([]byte, error) { return openai.New().EncodeRequest(r, false) },
		"anthropic": func(r *aiclient.Request) ([]byte, error) { return anthropic.New().EncodeRequest(r, false) },
		"gemini":    gemini.New().EncodeRequest,
		"ollama":    func(r *aiclient.Request) ([]byte, error) { return ollama.New().EncodeRequest(r, false) },
		"bedrock":   br.EncodeRequest,
	}
}

func TestAdaptersPassTheirOwnWiresMembersAndRefuseOthersByName(t *testing.T) {
	t.Parallel()
	members := map[aiclient.Wire]string{aiclient.WireOpenAI: "logit_bias", aiclient.WireAnthropic: "top_k"}
	speaks := map[string]aiclient.Wire{"openai": aiclient.WireOpenAI, "anthropic": aiclient.WireAnthropic}
	for name, encode := range encoders(t) {
		for w, member := range members {
			req := &aiclient.Request{Model: "m", Messages: []aiclient.Message{aiclient.UserText("hi")},
				Native: &aiclient.Native{Wire: w, Fields: map[string]json.RawMessage{member: json.RawMessage(`{"1":-100}`)}}}
			body, err := encode(req)
			if speaks[name] == w {
				var got map[string]json.RawMessage
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				if err := json.Unmarshal(body, &got); err != nil {
					t.Fatalf("%s: body %s: %v", name, body, err)
				}
				if got, want := string(got[member]), `{"1":-100}`; got != want {
					t.Errorf("%s: %s = %s, want %s", name, member, got, want)
				}
				continue
			}
			e, ok := errors.AsType[*aiclient.Error](err)
			if !ok {
				t.Errorf("%s: %s of %s sent as %s, want a refusal", name, member, w, body)
				continue
			}
			if got, want := e.Param, member; got != want {
				t.Errorf("%s: param %q, want %q", name, got, want)
			}
		}
	}
}

func TestAdaptersSendLogprobsWhereTheProviderHasThem(t *testing.T) {
	t.Parallel()
	top := 3
	req := &aiclient.Request{
		Model:       "m",
		Messages:    []aiclient.Message{aiclient.UserText("hi")},
		Logprobs:    true,
		TopLogprobs: &top,
	}
	wants := map[string]string{"openai": `"logprobs":true`, "gemini": `"responseLogprobs":true`}
	for name, encode := range encoders(t) {
		body, err := encode(req)
		want, has := wants[name]
		if !has {
			e, ok := errors.AsType[*aiclient.Error](err)
			if !ok {
				t.Fatalf("%s: error %v, want an *aiclient.Error", name, err)
			}
			if got, want := e.Param, "logprobs"; got != want {
				t.Errorf("%s: Param = %q, want %q", name, got, want)
			}
			if got, want := e.Kind, aiclient.KindInvalidRequest; got != want {
				t.Errorf("%s: Kind = %s, want %s", name, got, want)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !json.Valid(body) {
			t.Errorf("%s: body %s is not JSON", name, body)
		}
		if !strings.Contains(string(body), want) {
			t.Errorf("%s: body %s does not hold %s", name, body, want)
		}
	}
}

func TestAdaptersAskForOneToolCallAtATimeWhereTheProviderCan(t *testing.T) {
	t.Parallel()
	req := &aiclient.Request{
		Model:             "m",
		Messages:          []aiclient.Message{aiclient.UserText("hi")},
		Tools:             []aiclient.Tool{{Name: "lookup"}},
		ParallelToolCalls: new(bool),
	}
	wants := map[string]string{"openai": `"parallel_tool_calls":false`, "anthropic": `"tool_choice":{"type":"auto","disable_parallel_tool_use":true}`}
	for name, encode := range encoders(t) {
		body, err := encode(req)
		want, has := wants[name]
		if !has {
			e, ok := errors.AsType[*aiclient.Error](err)
			if !ok {
				t.Fatalf("%s: error %v, want an *aiclient.Error", name, err)
			}
			if got, want := e.Param, "parallel_tool_calls"; got != want {
				t.Errorf("%s: Param = %q, want %q", name, got, want)
			}
			if got, want := e.Kind, aiclient.KindInvalidRequest; got != want {
				t.Errorf("%s: Kind = %s, want %s", name, got, want)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !strings.Contains(string(body), want) {
			t.Errorf("%s: body %s does not hold %s", name, body, want)
		}
	}
}

func TestEmbeddersRefuseAnotherWiresMembersByName(t *testing.T) {
	t.Parallel()
	req := &aiclient.EmbedRequest{Model: "m", Input: []string{"x"},
		Native: &aiclient.Native{Wire: aiclient.WireOpenAI, Fields: map[string]json.RawMessage{"truncate": json.RawMessage(`true`)}}}
	for name, e := range map[string]aiclient.Embedder{"gemini": gemini.New(), "ollama": ollama.New()} {
		_, err := e.Embed(context.Background(), req)
		got, ok := errors.AsType[*aiclient.Error](err)
		if !ok {
			t.Fatalf("%s: error %v, want an *aiclient.Error", name, err)
		}
		if got, want := got.Param, "truncate"; got != want {
			t.Errorf("%s: Param = %q, want %q", name, got, want)
		}
	}
}
