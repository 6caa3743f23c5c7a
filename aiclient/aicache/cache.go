package aicache

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/portico-dev/portico/aiclient"
)

// Call is what a caller tells the cache about one call, and what the
// cache tells back. Put one in the call's context with [WithCall].
type Call struct {
	// Scope separates entries: a call only ever gets an answer stored in
	// its own scope. The gateway sets the caller's tenant (or its ID when
	// it has none). Calls with no Call share the scope "".
	Scope string
	// Skip bypasses the lookup (Cache-Control: no-cache); the fresh
	// answer is still stored.
	Skip bool
	// Hit is set by the cache when it answered the call.
	Hit bool
	// Semantic is set, with Hit, when a similar request's answer was used.
	Semantic bool
}

type callKey struct{}

// WithCall returns a copy of ctx carrying c.
func WithCall(ctx context.Context, c *Call) context.Context {
	return context.WithValue(ctx, callKey{}, c)
}

func callFrom(ctx context.Context) *Call {
	if c, ok := ctx.Value(callKey{}).(*Call); ok {
		return c
	}
	return &Call{}
}

// Cache is an [aiclient.Provider] answering a request it has seen before
// from its [Store], and passing the others to the next provider. It is
// safe for concurrent use.
//
// A hit returns the stored response with zero usage (so budgets count
// nothing for it), as a whole response or, for a stream, replayed as
// events. Only complete answers are stored: a failed call or a stream
// that ends with an error is not.
type Cache struct {
	next     aiclient.Provider
	store    Store
	ttl      time.Duration
	now      func() time.Time
	semantic *semantic
}

// Option configures a [Cache].
type Option interface{ apply(*Cache) }

type optionFunc func(*Cache)

func (f optionFunc) apply(c *Cache) { f(c) }

// WithStore sets where responses are kept. By default, a [Memory] of
// 10 000 entries.
func WithStore(s Store) Option { return optionFunc(func(c *Cache) { c.store = s }) }

// WithTTL sets how long a response is kept. By default, 5 minutes.
func WithTTL(d time.Duration) Option { return optionFunc(func(c *Cache) { c.ttl = d }) }

// WithClock sets the clock of the TTLs. By default, time.Now.
func WithClock(now func() time.Time) Option { return optionFunc(func(c *Cache) { c.now = now }) }

// New returns a Cache over next. It returns an error for an invalid
// option.
func New(next aiclient.Provider, opts ...Option) (*Cache, error) {
	if next == nil {
		return nil, errors.New("portico/aicache: New needs a provider")
	}
	c := &Cache{next: next, ttl: 5 * time.Minute}
	for _, o := range opts {
		if o != nil {
			o.apply(c)
		}
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.ttl <= 0 {
		return nil, fmt.Errorf("portico/aicache: ttl: %s must be positive", c.ttl)
	}
	if c.semantic != nil {
		c.semantic.now = c.now
		if err := c.semantic.validate(); err != nil {
			return nil, fmt.Errorf("portico/aicache: semantic: %w", err)
		}
	}
	if c.store == nil {
		c.store = NewMemory(0, c.now)
	}
	return c, nil
}

// Name returns the next provider's name.
func (c *Cache) Name() string { return c.next.Name() }

// lookup returns the stored response for req, if any, and where to
// store a fresh answer: its key and, with semantic matching, its index
// entry.
func (c *Cache) lookup(ctx context.Context, req *aiclient.Request, call *Call) (*aiclient.Response, entry) {
	key, err := Key(req)
	if err != nil {
		return nil, entry{}
	}
	e := entry{key: scoped(call.Scope, key)}
	if call.Skip {
		if c.semantic != nil {
			e.probe.partition = partition(call.Scope, req)
		}
		return nil, e
	}
	if resp := c.get(ctx, e.key); resp != nil {
		call.Hit = true
		return resp, e
	}
	if c.semantic != nil {
		var similar string
		if similar, e.probe = c.semantic.find(ctx, call.Scope, req); similar != "" {
			if resp := c.get(ctx, similar); resp != nil {
				call.Hit, call.Semantic = true, true
				return resp, e
			}
		}
	}
	return nil, e
}

// entry is where a fresh answer goes.
type entry struct {
	key   string
	probe probe
}

func (c *Cache) get(ctx context.Context, key string) *aiclient.Response {
	b, err := c.store.Get(ctx, key)
	if err != nil || b == nil {
		return nil
	}
	var resp aiclient.Response
	if json.Unmarshal(b, &resp) != nil {
		return nil
	}
	resp.Usage = aiclient.Usage{}
	return &resp
}

// put stores resp under e's key, and indexes req for semantic matches.
func (c *Cache) put(ctx context.Context, e entry, req *aiclient.Request, resp *aiclient.Response) {
	if e.key == "" || resp == nil {
		return
	}
	b, err := json.Marshal(resp)
	if err != nil {
		return
	}
	ctx = context.WithoutCancel(ctx)
	if c.store.Set(ctx, e.key, b, c.ttl) != nil {
		return
	}
	if c.semantic != nil {
		c.semantic.add(ctx, e.probe, req, e.key, c.ttl)
	}
}

// Chat answers from the store, or calls the next provider and stores
// its answer.
func (c *Cache) Chat(ctx context.Context, req *aiclient.Request) (*aiclient.Response, error) {
	call := callFrom(ctx)
	resp, e := c.lookup(ctx, req, call)
	if resp != nil {
		return resp, nil
	}
	resp, err := c.next.Chat(ctx, req)
	if err == nil {
		c.put(ctx, e, req, resp)
	}
	return resp, err
}

// Stream replays a stored answer as events, or streams the next
// provider's answer and stores it once complete.
func (c *Cache) Stream(ctx context.Context, req *aiclient.Request) (*aiclient.Stream, error) {
	call := callFrom(ctx)
	resp, e := c.lookup(ctx, req, call)
	if resp != nil {
		return Replay(resp), nil
	}
	s, err := c.next.Stream(ctx, req)
	if err != nil {
		return nil, err
	}
	var acc aiclient.Accumulator
	return aiclient.NewStream(func() (aiclient.Event, error) {
		if s.Next() {
			ev := s.Current()
			acc.Add(ev)
			return ev, nil
		}
		if err := s.Err(); err != nil {
			return aiclient.Event{}, err
		}
		c.put(ctx, e, req, acc.Response())
		return aiclient.Event{}, io.EOF
	}, s.Close).WithBuffered(s.Buffered), nil
}

// Replay returns a stream of resp's events: its start (with its
// provider's members, [aiclient.Response.Native]), text (the first text
// event with all of resp's log probabilities), reasoning, each tool call
// whole, its usage and its finish. Every event is at hand, so
// the stream reports itself [aiclient.Stream.Buffered] until its end.
func Replay(resp *aiclient.Response) *aiclient.Stream {
	evs := []aiclient.Event{{Type: aiclient.EventStart, ID: resp.ID, Model: resp.Model, Created: resp.Created, Native: resp.Native}}
	logprobs := resp.Logprobs
	for _, p := range resp.Message.Parts {
		switch p.Type {
		case aiclient.PartText:
			evs = append(evs, aiclient.Event{Type: aiclient.EventText, Text: p.Text, Signature: p.Signature, Logprobs: logprobs})
			logprobs = nil
		case aiclient.PartReasoning:
			evs = append(evs, aiclient.Event{Type: aiclient.EventReasoning, Text: p.Text, Signature: p.Signature, Redacted: p.Redacted})
		}
	}
	for i, tc := range resp.Message.ToolCalls {
		evs = append(evs, aiclient.Event{Type: aiclient.EventToolCall, ToolCall: aiclient.ToolCallDelta{
			Index: i, ID: tc.ID, Name: tc.Name, Arguments: string(tc.Arguments), Signature: tc.Signature}})
	}
	evs = append(evs,
		aiclient.Event{Type: aiclient.EventUsage, Usage: resp.Usage},
		aiclient.Event{Type: aiclient.EventFinish, FinishReason: resp.FinishReason, RawFinishReason: resp.RawFinishReason})
	i := 0
	return aiclient.NewStream(func() (aiclient.Event, error) {
		if i == len(evs) {
			return aiclient.Event{}, io.EOF
		}
		i++
		return evs[i-1], nil
	}, nil).WithBuffered(func() bool { return true })
}
