package aicache_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portico-dev/portico/aiclient"
	"github.com/portico-dev/portico/aiclient/aicache"
	"github.com/portico-dev/portico/aiclient/aitest"
)

// counter is a provider answering "answer <n>" to its n-th call.
type counter struct {
	calls atomic.Int64
	fail  bool
}

func (p *counter) Name() string { return "counter" }

func (p *counter) answer() *aiclient.Response {
	n := p.calls.Add(1)
	return &aiclient.Response{
		Model:        "m",
		FinishReason: aiclient.FinishStop,
		Message: aiclient.Message{Role: aiclient.RoleAssistant, Parts: []aiclient.Part{aiclient.Text("answer " + string(rune('0'+n)))},
			ToolCalls: []aiclient.ToolCall{{ID: "c1", Name: "f", Arguments: json.RawMessage(`{"a":1}`)}}},
		Usage: aiclient.Usage{InputTokens: 10, OutputTokens: 5},
	}
}

func (p *counter) Chat(context.Context, *aiclient.Request) (*aiclient.Response, error) {
	return p.answer(), nil
}

func (p *counter) Stream(context.Context, *aiclient.Request) (*aiclient.Stream, error) {
	s := aicache.Replay(p.answer())
	if !p.fail {
		return s, nil
	}
	n := 0
	return aiclient.NewStream(func() (aiclient.Event, error) {
		if n++; n > 2 {
			return aiclient.Event{}, errors.New("cut")
		}
		s.Next()
		return s.Current(), nil
	}, nil), nil
}

func req(text string) *aiclient.Request {
	return &aiclient.Request{Model: "m", Messages: []aiclient.Message{aiclient.UserText(text)}}
}

func newCache(t *testing.T, p aiclient.Provider, opts ...aicache.Option) *aicache.Cache {
	t.Helper()
	c, err := aicache.New(p, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func chat(t *testing.T, c *aicache.Cache, ctx context.Context, r *aiclient.Request) (string, *aicache.Call) {
	t.Helper()
	call := &aicache.Call{Scope: "acme"}
	if v, ok := ctx.Value(scopeKey{}).(string); ok {
		call.Scope = v
	}
	resp, err := c.Chat(aicache.WithCall(ctx, call), r)
	if err != nil {
		t.Fatal(err)
	}
	return resp.Message.Text(), call
}

type scopeKey struct{}

func TestTheSameRequestIsAnsweredFromTheCacheAtNoCost(t *testing.T) {
	t.Parallel()
	p := &counter{}
	c := newCache(t, p)
	first, call1 := chat(t, c, t.Context(), req("hi"))
	call := &aicache.Call{Scope: "acme"}
	resp, err := c.Chat(aicache.WithCall(t.Context(), call), req("hi"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := resp.Message.Text(), first; got != want {
		t.Errorf("second answer = %q, want %q", got, want)
	}
	if got, want := call1.Hit, false; got != want {
		t.Errorf("first call hit = %v, want %v", got, want)
	}
	if got, want := call.Hit, true; got != want {
		t.Errorf("second call hit = %v, want %v", got, want)
	}
	if got, want := resp.Usage, (aiclient.Usage{}); got != want {
		t.Errorf("hit usage = %+v, want zero", got)
	}
	if got, want := p.calls.Load(), int64(1); got != want {
		t.Errorf("provider calls = %d, want %d", got, want)
	}
}

func TestTheKeyIgnoresKeyOrderAndIrrelevantFields(t *testing.T) {
	t.Parallel()
	a := req("hi")
	a.Tools = []aiclient.Tool{{Name: "f", Parameters: json.RawMessage(`{"type":"object","properties":{"x":{"type":"string"}}}`)}}
	a.User, a.Metadata = "u1", map[string]string{"trace": "1"}
	b := req("hi")
	b.Tools = []aiclient.Tool{{Name: "f", Parameters: json.RawMessage(`{"properties":{"x":{"type":"string"}},"type":"object"}`)}}
	b.User = "u2"
	ka, _ := aicache.Key(a)
	kb, _ := aicache.Key(b)
	if ka != kb {
		t.Errorf("keys differ: %s and %s", ka, kb)
	}
	d := req("hi")
	d.Temperature = aiclient.Float(0.5)
	if kd, _ := aicache.Key(d); kd == ka {
		t.Error("a different temperature has the same key")
	}
	e := req("hi!")
	if ke, _ := aicache.Key(e); ke == ka {
		t.Error("a different message has the same key")
	}
}

func TestScopesDoNotShare(t *testing.T) {
	t.Parallel()
	p := &counter{}
	c := newCache(t, p)
	a, _ := chat(t, c, context.WithValue(t.Context(), scopeKey{}, "acme"), req("hi"))
	b, call := chat(t, c, context.WithValue(t.Context(), scopeKey{}, "globex"), req("hi"))
	if a == b {
		t.Errorf("another tenant got %q from the cache", b)
	}
	if call.Hit {
		t.Error("another tenant's call was a hit")
	}
}

func TestEntriesExpireAfterTheTTL(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	now := time.Unix(1000, 0)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	p := &counter{}
	c := newCache(t, p, aicache.WithTTL(time.Minute), aicache.WithClock(clock))
	chat(t, c, t.Context(), req("hi"))
	mu.Lock()
	now = now.Add(59 * time.Second)
	mu.Unlock()
	if _, call := chat(t, c, t.Context(), req("hi")); !call.Hit {
		t.Error("a call within the TTL missed")
	}
	mu.Lock()
	now = now.Add(2 * time.Second)
	mu.Unlock()
	if _, call := chat(t, c, t.Context(), req("hi")); call.Hit {
		t.Error("a call after the TTL hit")
	}
}

func TestSkipBypassesTheLookupAndRefreshes(t *testing.T) {
	t.Parallel()
	p := &counter{}
	c := newCache(t, p)
	chat(t, c, t.Context(), req("hi"))
	call := &aicache.Call{Scope: "acme", Skip: true}
	resp, err := c.Chat(aicache.WithCall(t.Context(), call), req("hi"))
	if err != nil {
		t.Fatal(err)
	}
	if call.Hit {
		t.Error("a skipped call hit")
	}
	if got, _ := chat(t, c, t.Context(), req("hi")); got != resp.Message.Text() {
		t.Errorf("after the skip: %q, want the refreshed %q", got, resp.Message.Text())
	}
}

func TestAStreamIsStoredOnceCompleteAndReplayed(t *testing.T) {
	t.Parallel()
	p := &counter{}
	c := newCache(t, p)
	s, err := c.Stream(t.Context(), req("hi"))
	if err != nil {
		t.Fatal(err)
	}
	first, err := aiclient.Collect(s)
	if err != nil {
		t.Fatal(err)
	}
	call := &aicache.Call{}
	s, err = c.Stream(aicache.WithCall(t.Context(), call), req("hi"))
	if err != nil {
		t.Fatal(err)
	}
	again, err := aiclient.Collect(s)
	if err != nil {
		t.Fatal(err)
	}
	if !call.Hit {
		t.Error("the second stream missed")
	}
	if got, want := again.Message.Text(), first.Message.Text(); got != want {
		t.Errorf("replayed text = %q, want %q", got, want)
	}
	if got, want := string(again.Message.ToolCalls[0].Arguments), `{"a":1}`; got != want {
		t.Errorf("replayed arguments = %s, want %s", got, want)
	}
	if got, want := p.calls.Load(), int64(1); got != want {
		t.Errorf("provider calls = %d, want %d", got, want)
	}
}

func TestAFailedStreamIsNotStored(t *testing.T) {
	t.Parallel()
	p := &counter{fail: true}
	c := newCache(t, p)
	s, err := c.Stream(t.Context(), req("hi"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := aiclient.Collect(s); err == nil {
		t.Fatal("the cut stream ended cleanly")
	}
	_, call := chat(t, c, context.WithValue(t.Context(), scopeKey{}, ""), req("hi"))
	if call.Hit {
		t.Error("a cut stream's answer was stored")
	}
}

func TestInvalidOptionsAreRefused(t *testing.T) {
	t.Parallel()
	if _, err := aicache.New(&counter{}, aicache.WithTTL(-time.Second)); err == nil {
		t.Error("a negative TTL was accepted")
	}
	if _, err := aicache.New(&counter{}, aicache.WithSemantic(nil, "e", 0.9)); err == nil {
		t.Error("a semantic cache without an embedder was accepted")
	}
	if _, err := aicache.New(&counter{}, aicache.WithSemantic(aitest.Vectors{}, "e", 1.5)); err == nil {
		t.Error("a threshold above 1 was accepted")
	}
}

var _ = io.EOF

func TestReplayKeepsTheProvidersMembersAndLogprobsAndIsBuffered(t *testing.T) {
	t.Parallel()
	resp := (&counter{}).answer()
	resp.Native = &aiclient.Native{Wire: aiclient.WireOpenAI, Fields: map[string]json.RawMessage{"system_fingerprint": json.RawMessage(`"fp_1"`)}}
	resp.Logprobs = []aiclient.Logprob{{Token: "answer", Logprob: -0.5}, {Token: " 1", Logprob: -0.25}}
	s := aicache.Replay(resp)
	events := 0
	for {
		if got, want := s.Buffered(), true; got != want {
			t.Errorf("Buffered before event %d = %v, want %v", events, got, want)
		}
		if !s.Next() {
			break
		}
		events++
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	if got, want := s.Buffered(), false; got != want {
		t.Errorf("Buffered after the end = %v, want %v", got, want)
	}
	if events == 0 {
		t.Fatal("Replay yielded no events")
	}
	got, err := aiclient.Collect(aicache.Replay(resp))
	if err != nil {
		t.Fatal(err)
	}
	if got.Native == nil {
		t.Fatal("the replayed response lost its provider's members")
	}
	if got, want := string(got.Native.Fields["system_fingerprint"]), `"fp_1"`; got != want {
		t.Errorf("replayed system_fingerprint = %s, want %s", got, want)
	}
	if got, want := len(got.Logprobs), len(resp.Logprobs); got != want {
		t.Fatalf("replayed log probabilities = %d, want %d", got, want)
	}
	if got, want := got.Logprobs[1].Token, " 1"; got != want {
		t.Errorf("replayed second logprob token = %q, want %q", got, want)
	}
}

func TestAStreamPassesOnTheProvidersBufferedHint(t *testing.T) {
	t.Parallel()
	c := newCache(t, &counter{})
	s, err := c.Stream(t.Context(), req("hint"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// The provider's stream is a Replay, whose events are all at hand.
	if got, want := s.Buffered(), true; got != want {
		t.Errorf("Buffered of a cache miss over a buffered stream = %v, want %v", got, want)
	}
}
