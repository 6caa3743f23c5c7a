package resilience

import (
	"errors"
	"time"

	"github.com/failsafe-go/failsafe-go"
	"github.com/failsafe-go/failsafe-go/common"
	"github.com/failsafe-go/failsafe-go/policy"
)

// attempts is the failsafe-go policy Portico puts inside Retry and Hedge,
// around each attempt and its Timeout. It gives a Timeout's own result
// the call it belongs to, so that Retry can decide about it, and under
// Hedge it keeps the count of attempts, decides which outcomes end the
// race and fails over at once when every attempt in flight has failed,
// which failsafe-go's hedge policy does not do: it waits out its delay.
type attempts struct{ t *Transport }

// ToExecutor implements failsafe.Policy; attempts keeps no state of its
// own per execution, so it is its own executor.
func (p *attempts) ToExecutor(*try) any { return p }

// Apply wraps one attempt.
func (p *attempts) Apply(inner func(failsafe.Execution[*try]) *common.PolicyResult[*try]) func(failsafe.Execution[*try]) *common.PolicyResult[*try] {
	return func(exec failsafe.Execution[*try]) *common.PolicyResult[*try] {
		c := exec.(*execution).s.c
		if p.t.hedging == nil {
			return c.settled(inner(exec))
		}
		return c.hedged(exec, inner)
	}
}

// settled gives a failsafe-go policy's own result (a timeout) a try of
// the call, with the error mapped onto Portico's.
func (c *call) settled(r *common.PolicyResult[*try]) *common.PolicyResult[*try] {
	if r.Result != nil {
		return r
	}
	a := &try{Context: c, c: c, n: int(c.n.Load()), err: policyError(r.Error)}
	return resultOf(a)
}

// send is the innermost step of a Transport's composition: it makes an
// attempt and counts it as failsafe-go's executor counts its function's
// runs.
func send(exec failsafe.Execution[*try]) *common.PolicyResult[*try] {
	e := exec.(*execution)
	a, _ := e.s.c.attempt(e)
	e.s.executions.Add(1)
	return resultOf(a)
}

// resultOf is a's outcome as failsafe-go's result: held by a, as it is
// made once for each try.
func resultOf(a *try) *common.PolicyResult[*try] {
	a.result = common.PolicyResult[*try]{Result: a, Error: a.err, Done: true, Success: true, SuccessAll: true}
	return &a.result
}

// hedgeState counts a hedged call's attempts. It is guarded by call.mu.
type hedgeState struct {
	launched int  // attempts sent or about to be, the first included
	inflight int  // of which not finished
	last     *try // the last attempt that failed
	won      bool // an attempt's outcome ended the race
}

// hedgeDone tells the metrics and the OnFinish hook how a hedged call
// ended: with hedges extra attempts sent, and win the answer's attempt,
// if any.
func (c *call) hedgeDone(hedges int, win *try) {
	won := win != nil && win.n > 1
	if won {
		c.t.metrics.hedgeWon(c, c.req.URL.Host)
	}
	if f := c.t.plan.hedge.OnFinish; f != nil {
		f(c.req, hedges, won)
	}
}

// hedged runs one attempt the hedge policy started, and the attempts it
// fails over to.
func (c *call) hedged(exec failsafe.Execution[*try], inner func(failsafe.Execution[*try]) *common.PolicyResult[*try]) *common.PolicyResult[*try] {
	if a, ok := c.launch(); !ok {
		return resultOf(a)
	}
	for {
		r := c.settled(inner(exec))
		if !c.landed(r.Result) {
			return r
		}
		if ie, ok := exec.(policy.ExecutionInternal[*try]); ok {
			if canceled := ie.InitializeRetry(); canceled != nil {
				return canceled
			}
		}
	}
}

// launch reserves an attempt for a hedge the policy's delay started. If
// there is none left, or the budget refuses it, it returns in its stead a
// try that ends nothing, or the last failure if nothing is in flight any
// more.
func (c *call) launch() (*try, bool) {
	c.mu.Lock()
	h := &c.hedge
	if h.launched == 0 {
		h.launched, h.inflight = 1, 1
		c.mu.Unlock()
		return nil, true
	}
	if h.launched <= c.t.plan.hedge.MaxHedges && !c.done && c.reserve() {
		c.mu.Unlock()
		return nil, true
	}
	defer c.mu.Unlock()
	if h.inflight == 0 && h.last != nil {
		return h.last.finalCopy(), false
	}
	return &try{Context: c, c: c, skipped: true}, false
}

// landed counts an attempt's end and decides whether its outcome is
// final; it returns true when the call should fail over to another
// attempt at once.
func (c *call) landed(a *try) bool {
	cfg := c.t.plan.hedge
	failed := cfg.IsFailure(a.resp, a.err)
	c.mu.Lock()
	defer c.mu.Unlock()
	h := &c.hedge
	h.inflight--
	if !failed {
		a.final, h.won = true, true
		if a.n == 1 {
			c.t.hedging.observe(time.Since(c.start))
		}
		return false
	}
	h.last = a
	if h.inflight > 0 {
		return false
	}
	if h.launched <= cfg.MaxHedges && c.Err() == nil && !c.done &&
		!errors.Is(a.err, ErrCircuitOpen) && !errors.Is(a.err, ErrBulkheadFull) && c.reserve() {
		return true
	}
	a.final = h.inflight == 0
	return false
}

// reserve takes one more attempt and the budget for it, and reports
// whether it got them. c.mu is held on entry and on return; it is
// released while the budget and the hooks are called.
func (c *call) reserve() bool {
	h := &c.hedge
	h.launched++
	h.inflight++
	n := h.launched
	c.mu.Unlock()
	ok := c.t.budget.withdraw()
	if ok {
		c.t.metrics.hedge(c, c.req.URL.Host)
		if f := c.t.plan.hedge.OnHedge; f != nil {
			f(c.req, n)
		}
	} else {
		c.t.metrics.reject(c, "budget", c.req.URL.Host)
	}
	c.mu.Lock()
	if !ok {
		h.launched--
		h.inflight--
	}
	return ok
}

// finalCopy returns a try that stands for a, marked final, so that a's
// own fields are not written while the hedge policy reads them.
func (a *try) finalCopy() *try {
	return &try{Context: a.Context, c: a.c, n: a.n, resp: a.resp, err: a.err, final: true}
}
