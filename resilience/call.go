package resilience

import (
	"context"
	"errors"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	fsbulkhead "github.com/failsafe-go/failsafe-go/bulkhead"
	"github.com/failsafe-go/failsafe-go/common"
	"github.com/failsafe-go/failsafe-go/timeout"
)

// call is one RoundTrip: what its attempts share. It is the context the
// failsafe-go executions run under, and holds the root execution.
type call struct {
	context.Context
	t     *Transport
	req   *http.Request
	body  replay
	idem  bool
	start time.Time    // set for a hedge's latency quantile
	n     atomic.Int32 // attempts started
	sent  atomic.Bool  // the caller's body went to an attempt

	mu    sync.Mutex
	done  bool
	tries []*try // attempts that produced a response, to close the losers'
	buf   [2]*try
	hedge hedgeState

	run   runState  // what the failsafe-go executions share
	root  execution // the outermost one
	first try       // the first attempt, held in place
}

// newCall prepares req's body for replay if a policy may send it again.
func (t *Transport) newCall(req *http.Request) (*call, error) {
	c := &call{Context: req.Context(), t: t, req: req}
	c.tries = c.buf[:0]
	c.body = replay{first: req.Body, size: req.ContentLength}
	if (t.plan.retry != nil || t.plan.hedge != nil) && !markedStreaming(req.Context()) {
		limit := int64(1 << 20)
		if t.plan.retry != nil {
			limit = t.plan.retry.MaxBodyBuffer
			c.idem = t.plan.retry.RetryNonIdempotent || Idempotent(req)
		}
		get, first, size, err := replayable(req, limit)
		if err != nil {
			return nil, err
		}
		c.body = replay{get: get, first: first, size: size}
	}
	if t.hedging != nil && t.hedging.cfg.Quantile > 0 {
		c.start = time.Now()
	}
	return c, nil
}

// replay yields the request body for each attempt.
type replay struct {
	get   func() (io.ReadCloser, error) // nil: not replayable
	first io.ReadCloser
	size  int64
}

func (r *replay) again() bool { return r.get != nil }

// nextBody returns the body for an attempt about to be sent: the caller's
// for the first, a copy for the others.
func (c *call) nextBody() (io.ReadCloser, error) {
	if c.sent.CompareAndSwap(false, true) {
		return c.body.first, nil
	}
	if c.body.get == nil {
		return nil, errors.New("portico/resilience: the request body was already sent and cannot be replayed")
	}
	return c.body.get()
}

// try is one attempt: its outcome, and what the policies decided about
// it. It is the result type of the failsafe-go executions, and the context
// of the attempt's request, so that next can find it (see [Instance]).
type try struct {
	context.Context
	c    *call
	n    int // attempt number, from 1; 0 for a fallback's answer
	resp *http.Response
	err  error

	slot      fsbulkhead.Bulkhead[any] // held until the response is closed
	deferred  *execution               // its contexts end when the response is closed
	shared    bool                     // the attempt's context is the call's: a retry runs in it too
	guard     guard                    // the circuit breaker the attempt went through
	discarded atomic.Bool
	result    common.PolicyResult[*try] // the outcome as failsafe-go's result; see resultOf

	// Set by the policies.
	decided, again bool          // retry: decided whether to retry, and the verdict
	delay          time.Duration // retry: wait before the next attempt
	budgetOut      bool          // the budget refused a retry
	final, skipped bool          // hedge: the outcome ends the race; no attempt was made
}

type tryKey struct{}

// Value returns the try itself for tryKey, and else defers to the
// attempt's context.
func (a *try) Value(key any) any {
	if key == (tryKey{}) {
		return a
	}
	return a.Context.Value(key)
}

func tryFrom(ctx context.Context) *try {
	a, _ := ctx.Value(tryKey{}).(*try)
	return a
}

// attempt sends one attempt through the circuit breaker and the bulkhead
// to next. It is the innermost step of the failsafe-go policies; exec is
// nil when no failsafe-go policy applies.
func (c *call) attempt(exec *execution) (*try, error) {
	var a *try
	if n := int(c.n.Add(1)); n == 1 {
		a = &c.first
		a.c, a.n = c, n
	} else {
		a = &try{c: c, n: n}
	}
	a.Context = c
	if exec != nil {
		a.Context = exec.ctx
	}
	t := c.t
	if t.breakers != nil {
		if err := a.admit(t.plan.breaker.Key(c.req)); err != nil {
			a.err = err
			a.settle()
			return a, err
		}
	}
	if t.bulk != nil {
		slot, err := t.bulk.acquire(a, c.req)
		if err != nil {
			if errors.Is(err, ErrBulkheadFull) {
				t.metrics.reject(c, "bulkhead", c.req.URL.Host)
			}
			a.err = err
			a.settle()
			return a, err
		}
		a.slot = slot
	}
	a.resp, a.err = a.send(exec) //nolint:bodyclose // the attempt owns the response: it is returned, or discarded just below
	if a.resp != nil && a.Err() != nil {
		// A timeout or a winning hedge ended the attempt as its answer
		// came: it is lost.
		discard(a.resp)
		a.resp, a.err = nil, a.cause(exec, a.Err())
	}
	a.settle()
	if a.resp == nil {
		a.release()
		return a, a.err
	}
	if exec != nil {
		// The body streams after the policies return: its contexts end
		// when it is closed.
		exec.deferCancel()
		if exec.cancel != nil {
			a.deferred = exec
		}
		// Without a per-try timeout or a hedge, attempts share one
		// execution context (the overall timeout's): a retried attempt
		// must leave it to the next.
		a.shared = c.t.plan.attempt == 0 && c.t.plan.hedge == nil
	}
	c.track(a)
	return a, nil
}

// send calls next with a copy of the caller's request that has the
// attempt's context and body.
func (a *try) send(exec *execution) (*http.Response, error) {
	c := a.c
	b, err := c.nextBody()
	if err != nil {
		return nil, err
	}
	var r *http.Request
	if c.t.hedging != nil {
		// Hedged attempts run at once: each gets headers of its own.
		r = c.req.Clone(a)
	} else {
		r = c.req.WithContext(a)
	}
	r.Body = b
	if c.body.get != nil {
		r.GetBody = c.body.get
		r.ContentLength = c.body.size
	}
	var start time.Time
	if cfg := c.t.plan.breaker; cfg != nil && cfg.SlowCall > 0 {
		start = cfg.Now()
	}
	resp, err := c.t.next.RoundTrip(r)
	a.guard.start = start
	if err != nil {
		return nil, a.cause(exec, err)
	}
	return resp, nil
}

// cause tells apart an attempt that a failsafe-go timeout ended, whose
// error becomes [ErrTimeout], from others: the caller's cancellation, or
// a hedge that lost the race.
func (a *try) cause(exec *execution, err error) error {
	if a.Err() == nil || a.c.Err() != nil || errors.Is(err, ErrTimeout) || exec == nil {
		return err
	}
	if canceled, res := exec.IsCanceledWithResult(); canceled && res != nil && errors.Is(res.Error, timeout.ErrExceeded) {
		return &Error{Kind: ErrTimeout, Err: err}
	}
	return err
}

// release gives back what an attempt without a response or with a
// discarded one holds: its bulkhead slot and its contexts.
func (a *try) release() {
	if a.slot != nil {
		a.slot.ReleasePermit()
		a.slot = nil
	}
	if a.deferred != nil {
		if !a.shared {
			a.deferred.cancelDeferred()
		}
		a.deferred = nil
	}
}

// discard drains and closes a response that is not the caller's, and
// gives back its bulkhead slot. It may be called more than once.
func (a *try) discard() {
	if a.resp == nil || !a.discarded.CompareAndSwap(false, true) {
		return
	}
	discard(a.resp)
	a.release()
}

// track records an attempt's response, to be closed if it loses; once
// the call is over, a late response (a hedge that lost) is closed at once.
func (c *call) track(a *try) {
	c.mu.Lock()
	if c.done {
		c.mu.Unlock()
		a.discard()
		return
	}
	c.tries = append(c.tries, a)
	c.mu.Unlock()
}

// finish turns the executions' result into the caller's: it maps
// failsafe-go's errors onto Portico's, closes every response that is not
// the answer, and ties what the answer holds (a bulkhead slot, the call's
// contexts) to its body.
func (c *call) finish(a *try, err error) (*http.Response, error) {
	resp, err := outcome(a, err)
	c.mu.Lock()
	c.done = true
	tries := c.tries
	launched := c.hedge.launched
	c.mu.Unlock()
	var win *try
	for _, x := range tries {
		if resp != nil && x.resp == resp {
			win = x
		}
	}
	if launched > 0 {
		c.hedgeDone(launched-1, win)
	}
	for _, x := range tries {
		if x == win {
			continue
		}
		if win != nil && win.deferred != nil {
			// failsafe-go defers the cancellation of an execution's
			// contexts for one response at a time: leave it to the
			// answer's. The others' ended with their timeout or hedge.
			x.deferred = nil
		}
		x.discard()
	}
	if !c.sent.Load() && c.body.first != nil {
		c.body.first.Close() // a RoundTripper closes the body, sent or not
	}
	if resp == nil {
		c.run.end()
		return nil, err
	}
	var cl cleanup
	if c.run.pending() {
		cl.calls = &c.run
	}
	if win != nil {
		cl.slot, cl.attempt = win.slot, win.deferred
	}
	if cl.calls != nil || cl.slot != nil || cl.attempt != nil {
		onClose(resp, cl)
	}
	return resp, err
}

// outcome is the response and error an execution's result stands for,
// with failsafe-go's errors mapped onto Portico's.
func outcome(a *try, err error) (*http.Response, error) {
	if a == nil {
		return nil, policyError(err)
	}
	if a.skipped { // never the last word of a race; kept from answering nothing
		return nil, errors.New("portico/resilience: no attempt was made")
	}
	switch {
	case a.resp != nil:
		return a.resp, nil
	case a.budgetOut:
		return nil, &Error{Kind: ErrBudgetExhausted, Attempts: a.n, Err: a.err}
	case a.c != nil && a.c.t.plan.retry != nil:
		return nil, exhausted(a.err, a.n)
	}
	return nil, a.err
}

// exhausted wraps the last error of a run of more than one attempt.
func exhausted(err error, attempts int) error {
	if err == nil || attempts <= 1 {
		return err
	}
	return &Error{Kind: ErrRetriesExceeded, Attempts: attempts, Err: err}
}
