package resilience

import (
	"errors"
	"net/http"

	"github.com/failsafe-go/failsafe-go"
	"github.com/failsafe-go/failsafe-go/timeout"
)

// Transport is an http.RoundTripper that applies resilience policies
// around another RoundTripper. Create it with [NewTransport]; it is safe
// for concurrent use.
type Transport struct {
	next     http.RoundTripper
	plan     plan
	breakers *breakers
	bulk     *bulkheads
	budget   *Budget
	hedging  *hedger
	metrics  *metrics

	// run runs a request through the failsafe-go policies, composed
	// once; single runs a request that may not be hedged. Both are nil
	// when no policy needs failsafe-go, and attempts then run directly.
	run, single step
	// direct is set when no policy applies at all.
	direct bool
}

// NewTransport returns a Transport that sends requests through next with
// the given policies and options. If next is nil, http.DefaultTransport is used.
//
// Each attempt calls next.RoundTrip afresh with a copy of the request
// that carries the attempt's own context and body (a deep clone when
// hedged attempts may run at once), so next may pick a different upstream
// instance every time (and may key the attempt's circuit breaker by that
// instance; see [Instance]). As for any http.RoundTripper, next must not
// modify the request it is given.
// The policies apply in a fixed order, outermost first, whatever the order
// they are given in:
//
//	Fallback ─► OverallTimeout ─► Retry | Hedge ─► Timeout ─► CircuitBreaker ─► Bulkhead ─► next
//
// NewTransport panics if a policy is given twice, or Retry with Hedge.
func NewTransport(next http.RoundTripper, opts ...Option) *Transport {
	if next == nil {
		next = http.DefaultTransport
	}
	t := &Transport{next: next, plan: plan{seen: make(map[string]bool, len(opts))}}
	for _, p := range opts {
		if p == nil {
			continue
		}
		p.apply(&t.plan)
	}
	t.breakers, t.bulk = t.plan.breakers, t.plan.bulks
	switch {
	case t.plan.retry != nil && t.plan.retry.Budget != nil:
		t.budget = t.plan.retry.Budget
	case t.plan.hedge != nil && t.plan.hedge.Budget != nil:
		t.budget = t.plan.hedge.Budget
	case t.plan.retry != nil || t.plan.hedge != nil:
		t.budget = NewBudget(BudgetConfig{})
	}
	if t.plan.hedge != nil {
		t.hedging = newHedger(t.plan.hedge)
	}
	t.metrics = newMetrics(t.plan.meter, t)
	t.compose()
	return t
}

// compose composes the failsafe-go policies, outermost first, around the
// step that sends an attempt, as failsafe-go's executor would on every
// call, but once. Only the retry policy's executor keeps state of its
// own for a call: it is made for each call, inside a step composed once.
func (t *Transport) compose() {
	p := &t.plan
	var outer []failsafe.Policy[*try]
	if p.fallback != nil {
		outer = append(outer, p.fallback.policy())
	}
	if p.overall > 0 {
		outer = append(outer, timeout.New[*try](p.overall))
	}
	if len(outer) == 0 && p.attempt == 0 && p.retry == nil && p.hedge == nil {
		t.direct = t.breakers == nil && t.bulk == nil
		return
	}
	attempt := send
	if p.attempt > 0 {
		attempt = wrap(timeout.New[*try](p.attempt), attempt)
	}
	around := func(inner step) step {
		for i := len(outer) - 1; i >= 0; i-- {
			inner = wrap(outer[i], inner)
		}
		return inner
	}
	switch {
	case p.retry != nil:
		inner := attempt
		if p.attempt > 0 {
			inner = wrap(&attempts{t: t}, inner)
		}
		t.run = around(t.retrying(inner))
	case p.hedge != nil:
		t.run = around(wrap(t.hedgePolicy(), wrap(&attempts{t: t}, attempt)))
		t.single = around(attempt)
	default:
		t.run = around(attempt)
	}
}

// Breakers returns a snapshot of every circuit breaker of the transport's
// [CircuitBreaker] policy (shared with the other transports given the
// same policy), sorted by key; it is empty without one.
func (t *Transport) Breakers() []BreakerState {
	if t.breakers == nil {
		return nil
	}
	return t.breakers.states()
}

// Close stops the transport's metric callbacks (the breaker state gauge),
// so a transport that is replaced, as on a configuration reload, can be
// garbage collected. It does not close next's connections. The transport
// still works after Close.
func (t *Transport) Close() error { return t.metrics.close() }

// CloseIdleConnections closes next's idle connections, if next has such a
// method.
func (t *Transport) CloseIdleConnections() {
	if c, ok := t.next.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

// RoundTrip implements http.RoundTripper.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL == nil {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, errors.New("portico/resilience: nil Request.URL")
	}
	if t.direct {
		return t.next.RoundTrip(req)
	}
	c, err := t.newCall(req)
	if err != nil {
		return nil, err
	}
	run := t.run
	switch {
	case t.plan.retry != nil:
		t.budget.deposit()
	case t.hedging != nil && Idempotent(req) && c.body.again():
		t.budget.deposit()
	case t.hedging != nil:
		run = t.single
	}
	if run == nil {
		a, err := c.attempt(nil)
		return c.finish(a, err)
	}
	c.run.begin(c, &c.root)
	r := run(&c.root)
	return c.finish(r.Result, r.Error)
}
