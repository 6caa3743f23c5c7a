package aiclient

import (
	"cmp"
	"context"
	"errors"
	"io"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sync"

	"go.opentelemetry.io/otel"

	"github.com/portico-dev/portico/internal/attempts"
)

// ErrNotRouted is the cause of the [KindNotFound] error for a model that no
// route names when no default provider is set.
var ErrNotRouted = errors.New("model not routed")

// Client routes calls over several providers. It is itself a [Provider],
// so a Client can serve as a candidate of another.
//
// # Fallback
//
// A call tries its candidates in turn. It moves on to the next one when
// the current one fails with an error another deployment may not have:
// rate limits, exhausted quotas, overload, server errors, timeouts,
// connection failures, and authentication, permission or not-found errors
// (a bad key or a missing deployment). It stops at once on an invalid
// request, a context too long, filtered content, or when ctx is done,
// and returns the last error.
//
// A stream falls back only before its first content reaches the caller:
// [Client.Stream] reads ahead until the first text, reasoning, tool call
// or finish event, so an error answered with a status, or reported at the
// very start of the stream, moves on to the next candidate and the caller
// sees one clean stream. Once content has been delivered, a failure ends
// the stream with the error in [Stream.Err]; it is never retried
// silently, since the caller may have shown half an answer.
//
// Retries with backoff and per-deployment cooling-off live one level down,
// in each adapter's HTTP client (see the adapters' WithPolicies option),
// so a deployment whose circuit is open fails fast and the Client falls
// back to the next candidate.
//
// A Client is safe for concurrent use.
type Client struct {
	cfg config
	tel *telemetry
	mu  sync.Mutex
	rnd *rand.Rand
}

// New returns a Client. It panics on an invalid option.
func New(opts ...Option) *Client {
	var cfg config
	for _, o := range opts {
		if o != nil {
			o.apply(&cfg)
		}
	}
	if cfg.tracers == nil {
		cfg.tracers = otel.GetTracerProvider()
	}
	if cfg.meters == nil {
		cfg.meters = otel.GetMeterProvider()
	}
	if cfg.logger == nil {
		cfg.logger = slog.New(slog.DiscardHandler)
	}
	if cfg.rand == nil {
		cfg.rand = rand.NewPCG(rand.Uint64(), rand.Uint64())
	}
	return &Client{cfg: cfg, tel: newTelemetry(cfg), rnd: rand.New(cfg.rand)}
}

// Name returns "aiclient".
func (c *Client) Name() string { return "aiclient" }

// Cost returns the cost of resp at the prices given with [WithPrices],
// looked up by the model that served it, and whether that model is priced.
func (c *Client) Cost(resp *Response) (float64, bool) {
	return c.cfg.prices.Cost(resp.Model, resp.Usage)
}

// MaxCost returns the most a call to model with input tokens in and
// output tokens out can cost at the prices given with [WithPrices]: the
// highest [Price.MaxCost] among the candidates that may serve it. It
// reports false if a candidate has no price (then counted as free) or the
// model is not routed. Budgets reserve it before the call.
func (c *Client) MaxCost(model string, in, out int64) (float64, bool) {
	cands, ok := c.cfg.routes[model]
	if !ok {
		if c.cfg.fallback == nil {
			return 0, false
		}
		cands = []Candidate{{Model: model}}
	}
	var most float64
	priced := true
	for _, cd := range cands {
		p, ok := c.cfg.prices.Lookup(cmp.Or(cd.Model, model))
		if !ok {
			priced = false
			continue
		}
		most = max(most, p.MaxCost(in, out))
	}
	return most, priced
}

// Chat sends req to the candidates of req.Model in turn until one answers.
func (c *Client) Chat(ctx context.Context, req *Request) (*Response, error) {
	cands, err := c.plan(req.Model)
	if err != nil {
		return nil, err
	}
	for i, cand := range cands {
		r := *req
		r.Model = cand.Model
		resp, err := c.tel.chat(ctx, cand.Provider, &r)
		note(ctx, cand.Provider, err)
		if err == nil {
			return resp, nil
		}
		if i == len(cands)-1 || !c.fallback(ctx, err) {
			return nil, err
		}
		c.logFallback(ctx, req.Model, cand, err)
	}
	panic("unreachable")
}

// Stream sends req to the candidates of req.Model in turn until one
// starts streaming content; see [Client] for what happens on failures.
func (c *Client) Stream(ctx context.Context, req *Request) (*Stream, error) {
	cands, err := c.plan(req.Model)
	if err != nil {
		return nil, err
	}
	for i, cand := range cands {
		r := *req
		r.Model = cand.Model
		s, err := c.tel.stream(ctx, cand.Provider, &r)
		var head []Event
		if err == nil {
			s, head, err = readAhead(s)
		}
		note(ctx, cand.Provider, err)
		if err == nil {
			return replay(s, head), nil
		}
		if i == len(cands)-1 || !c.fallback(ctx, err) {
			return nil, err
		}
		c.logFallback(ctx, req.Model, cand, err)
	}
	panic("unreachable")
}

// note records in the call's attempt log (see internal/attempts) that p
// was tried. A Client serving as a candidate notes its own candidates.
func note(ctx context.Context, p Provider, err error) {
	if _, nested := p.(*Client); !nested {
		attempts.FromContext(ctx).Note(p.Name(), err)
	}
}

// readAhead reads s up to its first content event. On an error before
// that, it closes s and returns the error.
func readAhead(s *Stream) (*Stream, []Event, error) {
	var head []Event
	for s.Next() {
		ev := s.Current()
		head = append(head, ev)
		if ev.Type != EventStart && ev.Type != EventUsage {
			return s, head, nil
		}
	}
	if err := s.Err(); err != nil {
		_ = s.Close()
		return nil, nil, err
	}
	return s, head, nil
}

func replay(s *Stream, head []Event) *Stream {
	return NewStream(func() (Event, error) {
		if len(head) > 0 {
			ev := head[0]
			head = head[1:]
			return ev, nil
		}
		if s.Next() {
			return s.Current(), nil
		}
		if err := s.Err(); err != nil {
			return Event{}, err
		}
		return Event{}, io.EOF
	}, s.Close).WithBuffered(func() bool { return len(head) > 0 || s.Buffered() })
}

// Embed sends req to the candidates of req.Model that are [Embedder]s in
// turn until one answers.
func (c *Client) Embed(ctx context.Context, req *EmbedRequest) (*EmbedResponse, error) {
	cands, err := c.plan(req.Model)
	if err != nil {
		return nil, err
	}
	var last error
	for _, cand := range cands {
		e, ok := cand.Provider.(Embedder)
		if !ok {
			last = &Error{Provider: cand.Provider.Name(), Model: cand.Model, Kind: KindInvalidRequest, Code: "embeddings_unsupported", Message: "provider does not compute embeddings"}
			continue
		}
		r := *req
		r.Model = cand.Model
		resp, err := c.tel.embed(ctx, cand.Provider.Name(), e, &r)
		note(ctx, cand.Provider, err)
		if err == nil {
			return resp, nil
		}
		last = err
		if !c.fallback(ctx, err) {
			return nil, err
		}
		c.logFallback(ctx, req.Model, cand, err)
	}
	return nil, last
}

// Models lists the models of every distinct provider that is a
// [ModelLister] (route candidates and the default provider), followed by
// the route aliases with Provider "aiclient". The first error is returned
// with the models listed so far.
func (c *Client) Models(ctx context.Context) ([]Model, error) {
	var seen []Provider
	var out []Model
	visit := func(p Provider) error {
		if p == nil || slices.Contains(seen, p) {
			return nil
		}
		seen = append(seen, p)
		l, ok := p.(ModelLister)
		if !ok {
			return nil
		}
		ms, err := l.Models(ctx)
		out = append(out, ms...)
		return err
	}
	aliases := make([]string, 0, len(c.cfg.routes))
	for a := range c.cfg.routes {
		aliases = append(aliases, a)
	}
	slices.Sort(aliases)
	for _, a := range aliases {
		for _, cand := range c.cfg.routes[a] {
			if err := visit(cand.Provider); err != nil {
				return out, err
			}
		}
	}
	if err := visit(c.cfg.fallback); err != nil {
		return out, err
	}
	for _, a := range aliases {
		out = append(out, Model{ID: a, Provider: "aiclient"})
	}
	return out, nil
}

// fallback reports whether err lets a call move on to the next candidate.
func (c *Client) fallback(ctx context.Context, err error) bool {
	if ctx.Err() != nil {
		return false
	}
	var e *Error
	if !errors.As(err, &e) {
		return false
	}
	switch e.Kind {
	case KindInvalidRequest, KindContextLength, KindContentFiltered:
		return false
	}
	return true
}

func (c *Client) logFallback(ctx context.Context, alias string, cand Candidate, err error) {
	c.cfg.logger.WarnContext(ctx, "aiclient: falling back to the next candidate",
		slog.String("model", alias), slog.String("provider", cand.Provider.Name()),
		slog.String("candidate_model", cand.Model), slog.Any("error", err))
}

// plan returns the candidates for model in the order to try them.
func (c *Client) plan(model string) ([]Candidate, error) {
	route, ok := c.cfg.routes[model]
	if !ok {
		if c.cfg.fallback == nil {
			return nil, &Error{Model: model, Kind: KindNotFound, Code: "model_not_routed",
				Message: "no route for model " + model + "; add one with WithRoute or set WithDefault", Err: ErrNotRouted}
		}
		return []Candidate{{Provider: c.cfg.fallback, Model: model}}, nil
	}
	cands := slices.Clone(route)
	for i := range cands {
		if cands[i].Model == "" {
			cands[i].Model = model
		}
	}
	slices.SortStableFunc(cands, func(a, b Candidate) int { return cmp.Compare(a.Priority, b.Priority) })
	for start := 0; start < len(cands); {
		end := start
		for end < len(cands) && cands[end].Priority == cands[start].Priority {
			end++
		}
		c.shuffle(cands[start:end])
		start = end
	}
	return cands, nil
}

// shuffle orders cs by repeated weighted draws without replacement.
func (c *Client) shuffle(cs []Candidate) {
	if len(cs) < 2 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := range len(cs) - 1 {
		total := 0
		for _, x := range cs[i:] {
			total += weight(x)
		}
		n := c.rnd.IntN(total)
		for j := i; j < len(cs); j++ {
			n -= weight(cs[j])
			if n < 0 {
				cs[i], cs[j] = cs[j], cs[i]
				break
			}
		}
	}
}

func weight(c Candidate) int {
	if c.Weight <= 0 {
		return 1
	}
	return c.Weight
}
