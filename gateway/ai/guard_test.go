package ai_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/portico-dev/portico/aiclient"
	"github.com/portico-dev/portico/aiclient/aitest"
	"github.com/portico-dev/portico/aiclient/guard"
	"github.com/portico-dev/portico/aiclient/openai"
	"github.com/portico-dev/portico/gateway/ai"
	"github.com/portico-dev/portico/middleware"
)

// guarded serves the alias "m" through a guard over a fake provider of
// format, split into single bytes on the wire. Bob's calls also meet a
// rule blocking IP addresses.
func guarded(t *testing.T, format aitest.Format, opts ...ai.Option) (*aitest.Server, string) {
	t.Helper()
	fake := aitest.NewServer(format, aitest.WithSplitter(aitest.Bytewise))
	t.Cleanup(fake.Close)
	var p aiclient.Provider
	if format == aitest.Anthropic {
		p = anthropicProvider(fake.URL())
	} else {
		p = openai.New(openai.WithBaseURL(fake.URL()), openai.WithAPIKey("sk"), openai.WithPolicies())
	}
	isBob := func(ctx context.Context) bool { c := middleware.ConsumerFrom(ctx); return c != nil && c.ID == "bob" }
	g, err := guard.New(p, []guard.Rule{
		{Name: "no-secrets", Action: guard.Block, Detector: guard.Secrets()},
		{
			Name:     "bob-no-ips",
			Action:   guard.Block,
			Detector: guard.IP(),
			When:     isBob,
		},
		{Name: "pii", Action: guard.Mask, Detector: guard.Email()},
		{Name: "cards", Action: guard.Mask, Detector: guard.Card()},
	})
	if err != nil {
		t.Fatal(err)
	}
	client := aiclient.New(
		aiclient.WithRoute("m", aiclient.Candidate{Provider: g, Model: "up"}),
		aiclient.WithRoute("other", aiclient.Candidate{Provider: g, Model: "up"}),
	)
	srv := serve(t, client, append([]ai.Option{ai.WithAuthenticator(keys())}, opts...)...)
	return fake, srv.URL
}

const piiPrompt = "Send 4111 1111 1111 1111 to jane@example.com"

// upstreamSaw returns the body of the provider's last request.
func upstreamSaw(t *testing.T, fake *aitest.Server) string {
	t.Helper()
	rs := fake.Requests()
	if len(rs) == 0 {
		t.Fatal("the provider got no request")
	}
	return string(rs[len(rs)-1].Body)
}

func checkMasked(t *testing.T, body string) {
	t.Helper()
	for _, secret := range []string{"jane@example.com", "4111 1111 1111 1111"} {
		if strings.Contains(body, secret) {
			t.Errorf("the provider saw %q: %s", secret, body)
		}
	}
	if !strings.Contains(body, "EMAIL_1") {
		t.Errorf("the provider saw no placeholder: %s", body)
	}
}

var placeholderReply = aitest.Reply{
	Text:      "Sent <CARD_1> to <EMAIL_1>.",
	ToolCalls: []aitest.ToolCall{{Name: "send", Arguments: `{"to":"<EMAIL_1>","card":"<CARD_1>"}`}},
	ChunkSize: 1,
}

const (
	restoredText = "Sent 4111 1111 1111 1111 to jane@example.com."
	restoredArgs = `{"to":"jane@example.com","card":"4111 1111 1111 1111"}`
)

func TestMaskedValuesAreRestoredThroughTheOpenAIEndpoint(t *testing.T) {
	t.Parallel()
	fake, url := guarded(t, aitest.OpenAI)
	fake.Push(placeholderReply)
	status, _, body := call(t, "POST", url+"/v1/chat/completions", demoKey,
		`{"model":"m","messages":[{"role":"user","content":"`+piiPrompt+`"}]}`)
	if got, want := status, 200; got != want {
		t.Fatalf("status %d, want %d: %s", got, want, body)
	}
	checkMasked(t, upstreamSaw(t, fake))
	var resp struct {
		Choices []struct {
			Message struct {
				Content   string `json:"content"`
				ToolCalls []struct {
					Function struct {
						Arguments string `json:"arguments"`
					} `json:"function"`
				} `json:"tool_calls"`
			} `json:"message"`
		} `json:"choices"`
	}
	if err := json.Unmarshal(body, &resp); err != nil {
		t.Fatal(err)
	}
	if got, want := resp.Choices[0].Message.Content, restoredText; got != want {
		t.Errorf("content = %q, want %q", got, want)
	}
	if got, want := resp.Choices[0].Message.ToolCalls[0].Function.Arguments, restoredArgs; got != want {
		t.Errorf("arguments = %s, want %s", got, want)
	}
}

func TestMaskedValuesAreRestoredInAnOpenAIStreamSplitAtEveryByte(t *testing.T) {
	t.Parallel()
	fake, url := guarded(t, aitest.OpenAI)
	fake.Push(placeholderReply)
	status, _, body := call(t, "POST", url+"/v1/chat/completions", demoKey,
		`{"model":"m","stream":true,"messages":[{"role":"user","content":"`+piiPrompt+`"}]}`)
	if got, want := status, 200; got != want {
		t.Fatalf("status %d, want %d: %s", got, want, body)
	}
	checkMasked(t, upstreamSaw(t, fake))
	var text, args strings.Builder
	for _, d := range sseData(body) {
		var chunk struct {
			Choices []struct {
				Delta struct {
					Content   string `json:"content"`
					ToolCalls []struct {
						Function struct {
							Arguments string `json:"arguments"`
						} `json:"function"`
					} `json:"tool_calls"`
				} `json:"delta"`
			} `json:"choices"`
		}
		if json.Unmarshal([]byte(d), &chunk) != nil || len(chunk.Choices) == 0 {
			continue
		}
		text.WriteString(chunk.Choices[0].Delta.Content)
		for _, tc := range chunk.Choices[0].Delta.ToolCalls {
			args.WriteString(tc.Function.Arguments)
		}
	}
	if got, want := text.String(), restoredText; got != want {
		t.Errorf("streamed text = %q, want %q", got, want)
	}
	if got, want := args.String(), restoredArgs; got != want {
		t.Errorf("streamed arguments = %s, want %s", got, want)
	}
	for _, placeholder := range []string{"<EMAIL_", "<CARD_"} {
		if strings.Contains(string(body), placeholder) {
			t.Errorf("a placeholder %s reached the client: %s", placeholder, body)
		}
	}
}

func TestMaskedValuesAreRestoredInAnAnthropicStream(t *testing.T) {
	t.Parallel()
	fake, url := guarded(t, aitest.Anthropic)
	fake.Push(aitest.Reply{Text: "Sent <CARD_1> to <EMAIL_1>.", ChunkSize: 1})
	status, _, body := call(t, "POST", url+"/v1/messages", demoKey,
		`{"model":"m","max_tokens":100,"stream":true,"messages":[{"role":"user","content":"`+piiPrompt+`"}]}`)
	if got, want := status, 200; got != want {
		t.Fatalf("status %d, want %d: %s", got, want, body)
	}
	checkMasked(t, upstreamSaw(t, fake))
	var text strings.Builder
	for _, d := range sseData(body) {
		var ev struct {
			Delta struct {
				Text string `json:"text"`
			} `json:"delta"`
		}
		if json.Unmarshal([]byte(d), &ev) == nil {
			text.WriteString(ev.Delta.Text)
		}
	}
	if got, want := text.String(), restoredText; got != want {
		t.Errorf("streamed text = %q, want %q", got, want)
	}
}

func TestABlockedCallGetsEachAPIsErrorNamingTheRule(t *testing.T) {
	t.Parallel()
	fake, url := guarded(t, aitest.OpenAI)
	prompt := `key AKIAIOSFODNN7EXAMPLE`
	status, _, body := call(t, "POST", url+"/v1/chat/completions", demoKey,
		`{"model":"m","messages":[{"role":"user","content":"`+prompt+`"}]}`)
	if got, want := status, 400; got != want {
		t.Errorf("OpenAI status %d, want %d: %s", got, want, body)
	}
	e := decode(t, body)["error"].(map[string]any)
	if got, want := e["code"], guard.CodeBlocked; got != want {
		t.Errorf("OpenAI code = %v, want %v", got, want)
	}
	msg := e["message"].(string)
	if !strings.Contains(msg, `"no-secrets"`) {
		t.Errorf("OpenAI message = %q, want the rule named", msg)
	}
	if strings.Contains(msg, "AKIA") {
		t.Errorf("OpenAI message = %q shows the secret", msg)
	}
	status, _, body = call(t, "POST", url+"/v1/messages", demoKey,
		`{"model":"m","max_tokens":10,"stream":true,"messages":[{"role":"user","content":"`+prompt+`"}]}`)
	if got, want := status, 400; got != want {
		t.Errorf("Anthropic status %d, want %d: %s", got, want, body)
	}
	a := decode(t, body)
	if got, want := a["type"], "error"; got != want {
		t.Errorf("Anthropic type = %v, want %v", got, want)
	}
	if got, want := a["error"].(map[string]any)["type"], "invalid_request_error"; got != want {
		t.Errorf("Anthropic error type = %v, want %v", got, want)
	}
	if msg := a["error"].(map[string]any)["message"].(string); !strings.Contains(msg, `"no-secrets"`) {
		t.Errorf("Anthropic message = %q, want the rule named", msg)
	}
	if got, want := len(fake.Requests()), 0; got != want {
		t.Errorf("the provider got %d requests, want %d", got, want)
	}
}

func TestARuleScopedToAConsumerMeetsOnlyItsCalls(t *testing.T) {
	t.Parallel()
	fake, url := guarded(t, aitest.OpenAI)
	fake.Push(aitest.Reply{Text: "ok"})
	status, _, body := call(t, "POST", url+"/v1/chat/completions", demoKey,
		`{"model":"other","messages":[{"role":"user","content":"ping 10.0.0.1"}]}`)
	if got, want := status, 200; got != want {
		t.Errorf("alice: status %d, want %d: %s", got, want, body)
	}
	status, _, body = call(t, "POST", url+"/v1/chat/completions", "test-key-bob",
		`{"model":"other","messages":[{"role":"user","content":"ping 10.0.0.1"}]}`)
	if got, want := status, 400; got != want {
		t.Errorf("bob: status %d, want %d: %s", got, want, body)
	}
	if !strings.Contains(string(body), "bob-no-ips") {
		t.Errorf("bob: the error does not name the rule: %s", body)
	}
}

func TestCallRecordsNameTheGuardrailsThatMatched(t *testing.T) {
	t.Parallel()
	rec := &recorder{}
	fake, url := guarded(t, aitest.OpenAI, ai.WithSink(rec))
	fake.Push(aitest.Reply{Text: "ok"})
	call(t, "POST", url+"/v1/chat/completions", demoKey,
		`{"model":"m","messages":[{"role":"user","content":"`+piiPrompt+`"}]}`)
	call(t, "POST", url+"/v1/chat/completions", demoKey,
		`{"model":"m","messages":[{"role":"user","content":"key AKIAIOSFODNN7EXAMPLE"}]}`)
	rs := rec.all()
	if got, want := len(rs), 2; got != want {
		t.Fatalf("records = %d, want %d", got, want)
	}
	want := []ai.Guardrail{{
		Rule:   "pii",
		Action: "mask",
		Kind:   "EMAIL",
		Count:  1,
	}, {
		Rule:   "cards",
		Action: "mask",
		Kind:   "CARD",
		Count:  1,
	}}
	if got := rs[0].Guardrails; !slices.Equal(got, want) {
		t.Errorf("masked call's guardrails = %+v, want %+v", got, want)
	}
	want = []ai.Guardrail{{
		Rule:   "no-secrets",
		Action: "block",
		Kind:   "SECRET",
		Count:  1,
	}}
	if got := rs[1].Guardrails; !slices.Equal(got, want) {
		t.Errorf("blocked call's guardrails = %+v, want %+v", got, want)
	}
	if got, want := rs[1].Error, "guardrail"; got != want {
		t.Errorf("blocked call's error = %q, want %q", got, want)
	}
}

func TestGuardrailFindingsAreCountedByRuleKindAndAction(t *testing.T) {
	t.Parallel()
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	t.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
	fake, url := guarded(t, aitest.OpenAI, ai.WithMeterProvider(mp))
	fake.Push(aitest.Reply{Text: "ok"})
	call(t, "POST", url+"/v1/chat/completions", demoKey,
		`{"model":"m","messages":[{"role":"user","content":"mail jane@example.com and joe@example.com"}]}`)
	call(t, "POST", url+"/v1/chat/completions", demoKey,
		`{"model":"m","messages":[{"role":"user","content":"key AKIAIOSFODNN7EXAMPLE"}]}`)

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	type point struct{ rule, kind, action string }
	got := map[point]int64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name != "portico.ai.guardrail.findings" {
				continue
			}
			for _, p := range m.Data.(metricdata.Sum[int64]).DataPoints {
				if got, want := p.Attributes.Len(), 3; got != want {
					t.Errorf("a data point has %d attributes, want %d: %v", got, want, p.Attributes.ToSlice())
				}
				var k point
				for _, kv := range p.Attributes.ToSlice() {
					switch kv.Key {
					case "portico.ai.guardrail.rule":
						k.rule = kv.Value.AsString()
					case "portico.ai.guardrail.kind":
						k.kind = kv.Value.AsString()
					case "portico.ai.guardrail.action":
						k.action = kv.Value.AsString()
					}
				}
				got[k] += p.Value
			}
		}
	}
	if got, want := got[point{"pii", "EMAIL", "mask"}], int64(2); got != want {
		t.Errorf("pii findings = %d, want %d", got, want)
	}
	if got, want := got[point{"no-secrets", "SECRET", "block"}], int64(1); got != want {
		t.Errorf("no-secrets findings = %d, want %d", got, want)
	}
	if got, want := len(got), 2; got != want {
		t.Errorf("data points = %d, want %d: %v", got, want, got)
	}
}
