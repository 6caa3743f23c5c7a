package resilience

import (
	"context"
	"errors"
	"io"
	"net/http"
	"time"
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
}

// NewTransport returns a Transport that sends requests through next with
// the given policies. If next is nil, http.DefaultTransport is used.
//
// Each attempt calls next.RoundTrip afresh with a fresh clone of the
// request, so next may pick a different upstream instance every time.
// The policies apply in a fixed order, outermost first, whatever the order
// they are given in:
//
//	OverallTimeout ─► Fallback ─► Retry | Hedge ─► CircuitBreaker ─► Bulkhead ─► Timeout ─► next
//
// NewTransport panics if a policy is given twice, or Retry with Hedge.
func NewTransport(next http.RoundTripper, policies ...Policy) *Transport {
	if next == nil {
		next = http.DefaultTransport
	}
	t := &Transport{next: next, plan: plan{seen: make(map[string]bool, len(policies))}}
	for _, p := range policies {
		if p == nil {
			continue
		}
		p.apply(&t.plan)
	}
	if t.plan.breaker != nil {
		t.breakers = &breakers{cfg: t.plan.breaker}
	}
	if t.plan.bulkhead != nil {
		t.bulk = &bulkheads{cfg: t.plan.bulkhead}
	}
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
	return t
}

// Breakers returns a snapshot of every circuit breaker the transport has
// created, sorted by key; it is empty without a [CircuitBreaker] policy.
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

// timeoutCause marks a context cancelled by one of our timeouts.
type timeoutCause struct{ overall bool }

func (timeoutCause) Error() string { return "timeout" }

var (
	errAttemptTimeout = timeoutCause{}
	errOverallTimeout = timeoutCause{overall: true}
)

// RoundTrip implements http.RoundTripper.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL == nil {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, errors.New("resilience: nil Request.URL")
	}
	ctx := req.Context()
	var cancel context.CancelCauseFunc
	var timer *time.Timer
	if t.plan.overall > 0 {
		ctx, cancel = context.WithCancelCause(ctx)
		timer = time.AfterFunc(t.plan.overall, func() { cancel(errOverallTimeout) })
	}
	resp, err := t.outer(ctx, req)
	if cancel != nil {
		if !timer.Stop() {
			cancel(errOverallTimeout) // see send: the timer's function may not have run yet
		}
		if err != nil {
			cancel(nil)
			return nil, t.ctxErr(ctx, err)
		}
		onClose(resp, cleanup{cancelCause: cancel})
	}
	return resp, err
}

// outer applies the fallback around retry or hedge.
func (t *Transport) outer(ctx context.Context, req *http.Request) (*http.Response, error) {
	resp, err := t.inner(ctx, req)
	if fb := t.plan.fallback; fb != nil && fb.When(resp, err) {
		return fb.respond(req, resp, err)
	}
	return resp, err
}

// inner prepares the body and runs retry, hedge or a single attempt.
func (t *Transport) inner(ctx context.Context, req *http.Request) (*http.Response, error) {
	body := &replay{first: req.Body, size: req.ContentLength}
	if t.plan.retry != nil || t.plan.hedge != nil {
		limit := int64(1 << 20)
		if t.plan.retry != nil {
			limit = t.plan.retry.MaxBodyBuffer
		}
		get, first, size, err := replayable(req, limit)
		if err != nil {
			return nil, err
		}
		body = &replay{get: get, first: first, size: size}
	}
	switch {
	case t.plan.retry != nil:
		return t.retry(ctx, req, body)
	case t.plan.hedge != nil:
		return t.hedge(ctx, req, body)
	}
	return t.attempt(ctx, req, body, 1)
}

// replay yields the request body for each attempt.
type replay struct {
	get   func() (io.ReadCloser, error) // nil: not replayable
	first io.ReadCloser
	size  int64
}

func (r *replay) again() bool { return r.get != nil }

func (r *replay) body(n int) (io.ReadCloser, error) {
	if n == 1 {
		return r.first, nil
	}
	return r.get()
}

// attempt sends one attempt through breaker, bulkhead and timeout.
func (t *Transport) attempt(ctx context.Context, req *http.Request, body *replay, n int) (*http.Response, error) {
	b, err := body.body(n)
	if err != nil {
		return nil, err
	}
	if t.breakers == nil {
		return t.send(ctx, req, b, body)
	}
	key := t.plan.breaker.Key(req)
	resp, err := t.breakers.do(key, func() (*http.Response, error) { return t.send(ctx, req, b, body) })
	if errors.Is(err, ErrCircuitOpen) {
		if b != nil {
			b.Close() // a RoundTripper closes the body, sent or not
		}
		t.metrics.reject(ctx, "circuit_breaker", key)
	}
	return resp, err
}

// send applies the bulkhead and the per-attempt timeout, then calls next
// with a fresh clone of req.
func (t *Transport) send(ctx context.Context, req *http.Request, b io.ReadCloser, body *replay) (*http.Response, error) {
	var c cleanup
	if t.bulk != nil {
		slot, err := t.bulk.acquire(ctx, req)
		if err != nil {
			if b != nil {
				b.Close()
			}
			if errors.Is(err, ErrBulkheadFull) {
				t.metrics.reject(ctx, "bulkhead", req.URL.Host)
			}
			return nil, t.ctxErr(ctx, err)
		}
		c.slot = slot
	}
	var cancel context.CancelCauseFunc
	var timer *time.Timer
	actx := ctx
	if t.plan.attempt > 0 {
		actx, cancel = context.WithCancelCause(ctx)
		timer = time.AfterFunc(t.plan.attempt, func() { cancel(errAttemptTimeout) })
	}
	r := req.Clone(actx)
	r.Body = b
	if body.get != nil {
		r.GetBody = body.get
		r.ContentLength = body.size
	}
	resp, err := t.next.RoundTrip(r)
	if timer != nil && !timer.Stop() {
		// The timer fired, but its function may not have run yet: record
		// the cause here (the first cancel wins) before anything reads it.
		cancel(errAttemptTimeout)
		if err == nil {
			// The timeout fired as the headers arrived: the body is doomed.
			resp.Body.Close()
			resp, err = nil, context.Cause(actx)
		}
	}
	if err != nil {
		if cancel != nil {
			err = t.ctxErr(actx, err)
			cancel(nil)
		} else {
			err = t.ctxErr(ctx, err)
		}
		if c.slot != nil {
			c.slot.ReleasePermit()
		}
		return nil, err
	}
	c.cancelCause = cancel
	if c.cancelCause != nil || c.slot != nil {
		onClose(resp, c)
	}
	return resp, nil
}

// ctxErr turns an error caused by one of our timeouts into an
// [ErrTimeout] error, and leaves others alone.
func (t *Transport) ctxErr(ctx context.Context, err error) error {
	if err == nil || errors.Is(err, ErrTimeout) {
		return err
	}
	var tc timeoutCause
	if cause := context.Cause(ctx); cause != nil && errors.As(cause, &tc) {
		return &Error{Kind: ErrTimeout, Err: err}
	}
	return err
}
