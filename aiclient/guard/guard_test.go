package guard_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portico-dev/portico/aiclient"
	"github.com/portico-dev/portico/aiclient/guard"
)

// echo is a provider that answers with the text of the last user message,
// and a tool call whose "text" argument holds it too. Streams are cut
// into pieces of size bytes.
type echo struct {
	mu   sync.Mutex
	seen []*aiclient.Request
	size int
}

func (e *echo) Name() string { return "echo" }

func (e *echo) last() *aiclient.Request {
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.seen) == 0 {
		return nil
	}
	return e.seen[len(e.seen)-1]
}

func (e *echo) reply(req *aiclient.Request) (string, string) {
	e.mu.Lock()
	e.seen = append(e.seen, req)
	e.mu.Unlock()
	text := req.Messages[len(req.Messages)-1].Text()
	args, _ := json.Marshal(map[string]string{"text": text})
	return "You said: " + text, string(args)
}

func (e *echo) Chat(_ context.Context, req *aiclient.Request) (*aiclient.Response, error) {
	text, args := e.reply(req)
	return &aiclient.Response{Model: req.Model, FinishReason: aiclient.FinishStop, Message: aiclient.Message{
		Role: aiclient.RoleAssistant, Parts: []aiclient.Part{aiclient.Text(text)},
		ToolCalls: []aiclient.ToolCall{{ID: "c1", Name: "send", Arguments: json.RawMessage(args)}},
	}}, nil
}

func (e *echo) Stream(_ context.Context, req *aiclient.Request) (*aiclient.Stream, error) {
	text, args := e.reply(req)
	evs := []aiclient.Event{{Type: aiclient.EventStart, Model: req.Model}}
	for _, c := range chunks(text, e.size) {
		evs = append(evs, aiclient.Event{Type: aiclient.EventText, Text: c})
	}
	evs = append(evs, aiclient.Event{Type: aiclient.EventToolCall, ToolCall: aiclient.ToolCallDelta{Index: 0, ID: "c1", Name: "send"}})
	for _, c := range chunks(args, e.size) {
		evs = append(evs, aiclient.Event{Type: aiclient.EventToolCall, ToolCall: aiclient.ToolCallDelta{Index: 0, Arguments: c}})
	}
	evs = append(evs, aiclient.Event{Type: aiclient.EventFinish, FinishReason: aiclient.FinishToolCalls})
	i := 0
	return aiclient.NewStream(func() (aiclient.Event, error) {
		if i == len(evs) {
			return aiclient.Event{}, io.EOF
		}
		i++
		return evs[i-1], nil
	}, nil), nil
}

func chunks(s string, n int) []string {
	var out []string
	for len(s) > n {
		out = append(out, s[:n])
		s = s[n:]
	}
	return append(out, s)
}

func newGuard(t *testing.T, p aiclient.Provider, rules []guard.Rule, opts ...guard.Option) *guard.Guard {
	t.Helper()
	g, err := guard.New(p, rules, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

const secretText = "mail jane@example.com, card 4111 1111 1111 1111, and jane@example.com again"

func maskRules() []guard.Rule {
	return []guard.Rule{
		{Name: "email", Action: guard.Mask, Detector: guard.Email()},
		{Name: "card", Action: guard.Mask, Detector: guard.Card()},
	}
}

func TestTheProviderSeesPlaceholdersAndTheCallerTheValues(t *testing.T) {
	t.Parallel()
	p := &echo{size: 1}
	g := newGuard(t, p, maskRules())
	req := &aiclient.Request{Model: "m", Messages: []aiclient.Message{aiclient.UserText(secretText)}}
	resp, err := g.Chat(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := p.last().Messages[0].Text(), "mail <EMAIL_1>, card <CARD_1>, and <EMAIL_1> again"; got != want {
		t.Errorf("provider saw %q, want %q", got, want)
	}
	if got, want := req.Messages[0].Text(), secretText; got != want {
		t.Errorf("caller's request became %q, want it unchanged", got)
	}
	if got, want := resp.Message.Text(), "You said: "+secretText; got != want {
		t.Errorf("response text = %q, want %q", got, want)
	}
	if got, want := string(resp.Message.ToolCalls[0].Arguments), `{"text":"`+secretText+`"}`; got != want {
		t.Errorf("tool arguments = %s, want %s", got, want)
	}
}

func TestStreamsAreRestoredWhateverTheChunkSize(t *testing.T) {
	t.Parallel()
	for size := 1; size <= 40; size++ {
		p := &echo{size: size}
		g := newGuard(t, p, maskRules())
		s, err := g.Stream(t.Context(), &aiclient.Request{Model: "m", Messages: []aiclient.Message{aiclient.UserText(secretText)}})
		if err != nil {
			t.Fatal(err)
		}
		resp, err := aiclient.Collect(s)
		if err != nil {
			t.Fatalf("size %d: %v", size, err)
		}
		if got, want := resp.Message.Text(), "You said: "+secretText; got != want {
			t.Errorf("size %d: text = %q, want %q", size, got, want)
		}
		if got, want := string(resp.Message.ToolCalls[0].Arguments), `{"text":"`+secretText+`"}`; got != want {
			t.Errorf("size %d: tool arguments = %s, want %s", size, got, want)
		}
	}
}

func TestMaskedToolArgumentsInTheRequestStayValidJSON(t *testing.T) {
	t.Parallel()
	p := &echo{size: 3}
	g := newGuard(t, p, maskRules())
	req := &aiclient.Request{Model: "m", Messages: []aiclient.Message{
		{Role: aiclient.RoleAssistant, ToolCalls: []aiclient.ToolCall{{ID: "c0", Name: "send", Arguments: json.RawMessage(`{"to":"jane@example.com"}`)}}},
		aiclient.ToolResult("c0", "sent"),
		aiclient.UserText("thanks"),
	}}
	if _, err := g.Chat(t.Context(), req); err != nil {
		t.Fatal(err)
	}
	if got, want := string(p.last().Messages[0].ToolCalls[0].Arguments), `{"to":"<EMAIL_1>"}`; got != want {
		t.Errorf("provider saw arguments %s, want %s", got, want)
	}
}

func TestABlockingRuleRefusesTheCallNamingTheRule(t *testing.T) {
	t.Parallel()
	p := &echo{size: 1}
	g := newGuard(t, p, []guard.Rule{{Name: "no-secrets", Action: guard.Block, Detector: guard.Secrets()}})
	_, err := g.Chat(t.Context(), &aiclient.Request{Model: "m", Messages: []aiclient.Message{aiclient.UserText("key AKIAIOSFODNN7EXAMPLE")}})
	rule, ok := guard.IsBlocked(err)
	if !ok {
		t.Fatalf("err = %v, want a block", err)
	}
	if got, want := rule, "no-secrets"; got != want {
		t.Errorf("rule = %q, want %q", got, want)
	}
	var ae *aiclient.Error
	if !errors.As(err, &ae) {
		t.Fatalf("err = %T, want *aiclient.Error", err)
	}
	if got, want := ae.Code, guard.CodeBlocked; got != want {
		t.Errorf("code = %q, want %q", got, want)
	}
	if strings.Contains(ae.Message, "AKIA") {
		t.Errorf("message %q holds the secret", ae.Message)
	}
	if p.last() != nil {
		t.Error("the provider was called")
	}
	if _, err := g.Stream(t.Context(), &aiclient.Request{Model: "m", Messages: []aiclient.Message{aiclient.UserText("key AKIAIOSFODNN7EXAMPLE")}}); err == nil {
		t.Error("the stream was not blocked")
	}
}

func TestAFlaggingRuleReportsAndLetsTheCallThrough(t *testing.T) {
	t.Parallel()
	p := &echo{size: 1}
	var mu sync.Mutex
	var found []guard.Finding
	g := newGuard(t, p, []guard.Rule{{Name: "ips", Action: guard.Flag, Detector: guard.IP()}},
		guard.OnFinding(func(_ context.Context, f guard.Finding) { mu.Lock(); found = append(found, f); mu.Unlock() }))
	if _, err := g.Chat(t.Context(), &aiclient.Request{Model: "m", Messages: []aiclient.Message{aiclient.UserText("ping 10.0.0.1 and 10.0.0.2")}}); err != nil {
		t.Fatal(err)
	}
	if got, want := p.last().Messages[0].Text(), "ping 10.0.0.1 and 10.0.0.2"; got != want {
		t.Errorf("provider saw %q, want %q", got, want)
	}
	mu.Lock()
	defer mu.Unlock()
	if got, want := len(found), 1; got != want {
		t.Fatalf("findings = %d, want %d", got, want)
	}
	if got, want := found[0], (guard.Finding{
		Rule:   "ips",
		Action: guard.Flag,
		Kind:   "IP",
		Count:  2,
	}); got != want {
		t.Errorf("finding = %+v, want %+v", got, want)
	}
}

func TestRulesRunInOrder(t *testing.T) {
	t.Parallel()
	p := &echo{size: 1}
	// The mask comes first, so the block rule no longer sees an address.
	g := newGuard(t, p, []guard.Rule{
		{Name: "mask-email", Action: guard.Mask, Detector: guard.Email()},
		{Name: "block-email", Action: guard.Block, Detector: guard.Email()},
	})
	if _, err := g.Chat(t.Context(), &aiclient.Request{Model: "m", Messages: []aiclient.Message{aiclient.UserText("a@b.io")}}); err != nil {
		t.Errorf("masked then blocked: %v", err)
	}
	g = newGuard(t, p, []guard.Rule{
		{Name: "block-email", Action: guard.Block, Detector: guard.Email()},
		{Name: "mask-email", Action: guard.Mask, Detector: guard.Email()},
	})
	_, err := g.Chat(t.Context(), &aiclient.Request{Model: "m", Messages: []aiclient.Message{aiclient.UserText("a@b.io")}})
	if _, ok := guard.IsBlocked(err); !ok {
		t.Error("blocked first: the call went through")
	}
}

func TestChecks(t *testing.T) {
	t.Parallel()
	who := func(ctx context.Context) string { id, _ := ctx.Value(consumerKey{}).(string); return id }
	allowed := guard.AllowModels(who, map[string][]string{"alice": {"small"}, "*": {"small", "large"}})
	long := strings.Repeat("word ", 100)
	for _, tc := range []struct {
		name     string
		check    guard.Check
		consumer string
		model    string
		text     string
		blocked  bool
	}{
		{
			name:     "a short prompt passes",
			check:    guard.MaxPromptTokens(50),
			consumer: "",
			model:    "m",
			text:     "hello",
			blocked:  false,
		},
		{
			name:     "a long prompt is blocked",
			check:    guard.MaxPromptTokens(50),
			consumer: "",
			model:    "m",
			text:     long,
			blocked:  true,
		},
		{
			name:     "an allowed model passes",
			check:    allowed,
			consumer: "alice",
			model:    "small",
			text:     "hi",
			blocked:  false,
		},
		{
			name:     "a model not allowed for the consumer is blocked",
			check:    allowed,
			consumer: "alice",
			model:    "large",
			text:     "hi",
			blocked:  true,
		},
		{
			name:     "others use the default list",
			check:    allowed,
			consumer: "bob",
			model:    "large",
			text:     "hi",
			blocked:  false,
		},
		{
			name:     "a model on no list is blocked",
			check:    allowed,
			consumer: "bob",
			model:    "huge",
			text:     "hi",
			blocked:  true,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			g := newGuard(t, &echo{size: 1}, []guard.Rule{{Name: "check", Action: guard.Block, Check: tc.check}})
			ctx := context.WithValue(t.Context(), consumerKey{}, tc.consumer)
			_, err := g.Chat(ctx, &aiclient.Request{Model: tc.model, Messages: []aiclient.Message{aiclient.UserText(tc.text)}})
			if _, got := guard.IsBlocked(err); got != tc.blocked {
				t.Errorf("blocked = %v, want %v (err %v)", got, tc.blocked, errors.Unwrap(err))
			}
		})
	}
}

type consumerKey struct{}

func TestTheExternalCheck(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Input []string `json:"input"`
		}
		_ = json.NewDecoder(r.Body).Decode(&body)
		text := strings.Join(body.Input, " ")
		switch {
		case strings.Contains(text, "down"):
			w.WriteHeader(http.StatusInternalServerError)
		case strings.Contains(text, "slow"):
			select {
			case <-r.Context().Done():
			case <-time.After(10 * time.Second):
			}
		default:
			_ = json.NewEncoder(w).Encode(map[string]any{"flagged": strings.Contains(text, "bad"), "reason": "bad words"})
		}
	}))
	t.Cleanup(srv.Close)
	// The checks that answer get a timeout a loaded machine keeps (with
	// 100ms a clean text was blocked, failing closed, when its check was
	// slow); the ones that hang get a short one.
	ext := &guard.External{URL: srv.URL, Timeout: 5 * time.Second, Client: srv.Client()}
	hasty := &guard.External{URL: srv.URL, Timeout: 100 * time.Millisecond, Client: srv.Client()}
	for _, tc := range []struct {
		name     string
		text     string
		failOpen bool
		blocked  bool
	}{
		{
			name:     "a clean text passes",
			text:     "hello",
			failOpen: false,
			blocked:  false,
		},
		{
			name:     "a flagged text is blocked",
			text:     "bad stuff",
			failOpen: false,
			blocked:  true,
		},
		{
			name:     "a failing service blocks when closed",
			text:     "down",
			failOpen: false,
			blocked:  true,
		},
		{
			name:     "a failing service lets through when open",
			text:     "down",
			failOpen: true,
			blocked:  false,
		},
		{
			name:     "a timeout blocks when closed",
			text:     "slow",
			failOpen: false,
			blocked:  true,
		},
		{
			name:     "a timeout lets through when open",
			text:     "slow",
			failOpen: true,
			blocked:  false,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			check := ext
			if tc.text == "slow" {
				check = hasty
			}
			g := newGuard(t, &echo{size: 1}, []guard.Rule{{
				Name:     "moderation",
				Action:   guard.Block,
				Check:    check,
				FailOpen: tc.failOpen,
			}})
			_, err := g.Chat(t.Context(), &aiclient.Request{Model: "m", Messages: []aiclient.Message{aiclient.UserText(tc.text)}})
			if _, got := guard.IsBlocked(err); got != tc.blocked {
				t.Errorf("blocked = %v, want %v (err %v)", got, tc.blocked, errors.Unwrap(err))
			}
		})
	}
}

func TestAnOutputRuleBlocksResponsesAndStreams(t *testing.T) {
	t.Parallel()
	rules := []guard.Rule{{
		Name:     "no-ips-out",
		Action:   guard.Block,
		Detector: guard.IP(),
		Output:   true,
	}}
	g := newGuard(t, &echo{size: 2}, rules)
	req := &aiclient.Request{Model: "m", Messages: []aiclient.Message{aiclient.UserText("10.1.2.3")}}
	// The request rule also sees the address: use a request without one
	// for the output, by masking nothing and echoing.
	_, err := g.Chat(t.Context(), req)
	rule, ok := guard.IsBlocked(err)
	if !ok {
		t.Fatalf("chat err = %v, want blocked", err)
	}
	if got, want := rule, "no-ips-out"; got != want {
		t.Errorf("blocked by %q, want %q", got, want)
	}
	s, err := g.Stream(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	_, err = aiclient.Collect(s)
	var b *guard.BlockedError
	if !errors.As(err, &b) {
		t.Fatalf("stream err = %v, want a block", err)
	}
	if got, want := b.Output, true; got != want {
		t.Errorf("Output = %v, want %v", got, want)
	}
}

func TestInvalidRulesNameTheField(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		rule guard.Rule
		want string
	}{
		{guard.Rule{Action: guard.Block, Detector: guard.Email()}, "rules[0].name"},
		{guard.Rule{Name: "x", Action: "drop", Detector: guard.Email()}, "rules[0].action"},
		{guard.Rule{Name: "x", Action: guard.Block}, "exactly one of a detector and a check"},
		{guard.Rule{Name: "x", Action: guard.Mask, Check: guard.MaxPromptTokens(1)}, "cannot mask"},
		{guard.Rule{
			Name:   "x",
			Action: guard.Block,
			Check:  guard.MaxPromptTokens(1),
			Output: true,
		}, "rules[0].output"},
	} {
		_, err := guard.New(&echo{}, []guard.Rule{tc.rule})
		if err == nil {
			t.Fatalf("New(%+v) = nil, want an error with %q", tc.rule, tc.want)
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New(%+v) = %v, want an error with %q", tc.rule, err, tc.want)
		}
	}
}

func TestEstimateTokensCountsImagesAndTheResponseSchema(t *testing.T) {
	t.Parallel()
	text := &aiclient.Request{Model: "m", Messages: []aiclient.Message{aiclient.UserText("abcd")}}
	if got, want := guard.EstimateTokens(text), int64(4+1); got != want {
		t.Errorf("EstimateTokens(4 bytes of text) = %d, want %d", got, want)
	}
	image := &aiclient.Request{Model: "m", Messages: []aiclient.Message{{Role: aiclient.RoleUser,
		Parts: []aiclient.Part{aiclient.ImageURL("https://example.com/a.png")}}}}
	if got, want := guard.EstimateTokens(image), int64(4+765); got != want {
		t.Errorf("EstimateTokens(one image) = %d, want %d", got, want)
	}
	schema := &aiclient.Request{Model: "m", Messages: []aiclient.Message{aiclient.UserText("abcd")},
		ResponseFormat: &aiclient.ResponseFormat{Schema: json.RawMessage(`{"type":"object"}`)}}
	if got, want := guard.EstimateTokens(schema), int64(4+1+5); got != want {
		t.Errorf("EstimateTokens(text and a 17-byte schema) = %d, want %d", got, want)
	}
}
