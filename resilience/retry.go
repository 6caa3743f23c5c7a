package resilience

import (
	"errors"
	"math/rand/v2"
	"net/http"
	"slices"
	"time"

	"github.com/failsafe-go/failsafe-go"
	"github.com/failsafe-go/failsafe-go/common"
	"github.com/failsafe-go/failsafe-go/retrypolicy"
)

// RetryConfig configures [Retry]. The zero value is usable: 3 attempts,
// exponential backoff from 100 ms capped at 10 s with full jitter, on
// connection errors, timeouts, 502, 503, 504 and 429 with Retry-After.
type RetryConfig struct {
	// MaxAttempts is the number of attempts, the first included.
	// By default, 3 ([DefaultRetryAttempts]).
	MaxAttempts int
	// BaseDelay is the backoff before the first retry; it doubles on each
	// retry, and the actual delay is drawn uniformly between 0 and that
	// value ("full jitter"). By default, 100 ms ([DefaultRetryBaseDelay]).
	BaseDelay time.Duration
	// MaxDelay caps the backoff. A Retry-After hint longer than MaxDelay
	// is not waited for: the response is returned as is. By default, 10 s
	// ([DefaultRetryMaxDelay]).
	MaxDelay time.Duration
	// Statuses are the response statuses that are retried. By default,
	// 502, 503 and 504; 429 is retried only when the response carries a
	// Retry-After (or retry-after-ms) hint, whatever this list says.
	Statuses []int
	// RetryNonIdempotent retries POST, PATCH and other non-idempotent
	// requests as if they were idempotent. By default, such a request is
	// retried only if it carries an Idempotency-Key header, or if its
	// connection could not be made (so it provably never reached the
	// upstream).
	RetryNonIdempotent bool
	// MaxBodyBuffer is how much of a request body without GetBody is
	// buffered to be replayed. A longer body is sent once, never retried.
	// By default, 1 MiB.
	MaxBodyBuffer int64
	// Budget caps retries to a fraction of requests; share one between
	// transports to pool it. By default, each transport has its own
	// budget with the [BudgetConfig] defaults.
	Budget *Budget
	// OnRetry is called before each retry's delay.
	OnRetry func(RetryEvent)
	// Now is the clock used to read Retry-After dates. By default,
	// time.Now.
	Now func() time.Time
}

// RetryEvent describes a retry about to happen.
type RetryEvent struct {
	// Request is the caller's request.
	Request *http.Request
	// Attempt is the number of the attempt that failed, from 1.
	Attempt int
	// Status is the failed attempt's response status, or 0 on error.
	Status int
	// Err is the failed attempt's error, or nil.
	Err error
	// Delay is the wait before the next attempt.
	Delay time.Duration
}

// Retry returns the retry policy, run by failsafe-go's retry policy with
// Portico's HTTP rules (which outcomes, which delay). It panics if cfg is
// invalid; see [RetryConfig.Validate].
func Retry(cfg RetryConfig) Policy {
	mustValid(cfg.Validate())
	if cfg.MaxAttempts == 0 {
		cfg.MaxAttempts = DefaultRetryAttempts
	}
	if cfg.BaseDelay == 0 {
		cfg.BaseDelay = DefaultRetryBaseDelay
	}
	if cfg.MaxDelay == 0 {
		cfg.MaxDelay = DefaultRetryMaxDelay
	}
	if cfg.Statuses == nil {
		cfg.Statuses = []int{http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout}
	}
	if cfg.MaxBodyBuffer == 0 {
		cfg.MaxBodyBuffer = 1 << 20
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return policyFunc(func(p *plan) {
		p.once("Retry")
		if p.hedge != nil {
			panic("portico/resilience: NewTransport takes Retry or Hedge, not both")
		}
		p.retry = &cfg
	})
}

// Idempotent reports whether req may be sent twice with the effect of
// once: its method is idempotent by RFC 9110 (GET, HEAD, OPTIONS, TRACE,
// PUT, DELETE), it carries an Idempotency-Key header, or its context was
// marked with [WithIdempotent].
func Idempotent(req *http.Request) bool {
	switch req.Method {
	case "", http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace, http.MethodPut, http.MethodDelete:
		return true
	}
	return req.Header.Get("Idempotency-Key") != "" || markedIdempotent(req.Context())
}

// backoff returns the full-jitter delay before retry n (from 1).
func (c *RetryConfig) backoff(n int) time.Duration {
	d := c.BaseDelay
	for i := 1; i < n && d < c.MaxDelay; i++ {
		d *= 2
	}
	d = min(d, c.MaxDelay)
	return rand.N(d + 1)
}

// retryPolicy is failsafe-go's retry policy adapted to HTTP: it runs the
// attempts, the waits between them and their cancellation, while
// [call.retry] decides, the HTTP way, which outcomes are retried and how
// long to wait: failsafe-go's jitter would also jitter a server's
// Retry-After, so the delay is computed here, full jitter included.
func (t *Transport) retryPolicy() retrypolicy.RetryPolicy[*try] {
	cfg := t.plan.retry
	return retrypolicy.NewBuilder[*try]().
		WithMaxAttempts(cfg.MaxAttempts).
		ReturnLastFailure().
		HandleIf(func(a *try, _ error) bool { return a != nil && a.c.retry(a) }).
		WithDelayFunc(func(e failsafe.ExecutionAttempt[*try]) time.Duration {
			if a := e.LastResult(); a != nil {
				return a.delay
			}
			return 0
		}).
		OnRetryScheduled(func(e failsafe.ExecutionScheduledEvent[*try]) {
			a := e.LastResult()
			c := a.c
			status := 0
			if a.resp != nil {
				status = a.resp.StatusCode
			}
			a.discard()
			t.metrics.retry(c, c.req.URL.Host)
			if cfg.OnRetry != nil {
				cfg.OnRetry(RetryEvent{Request: c.req, Attempt: a.n, Status: status, Err: a.err, Delay: e.Delay})
			}
		}).
		Build()
}

// retry decides whether attempt a is retried, and after how long; it
// withdraws the retry from the budget before the wait, so that a refusal
// returns the last answer at once. The verdict is kept in a.
func (c *call) retry(a *try) bool {
	if a.decided {
		return a.again
	}
	a.decided = true
	cfg := c.t.plan.retry
	if a.n >= cfg.MaxAttempts || !c.body.again() {
		return false
	}
	var delay time.Duration
	if a.err != nil {
		switch {
		case c.Err() != nil:
			return false
		case neverSent(a.err):
		case !c.idem, errors.Is(a.err, ErrCircuitOpen), errors.Is(a.err, ErrBulkheadFull):
			return false
		}
		delay = cfg.backoff(a.n)
	} else {
		code := a.resp.StatusCode
		hint, ok := ParseRetryAfter(a.resp.Header, cfg.Now())
		retryable := c.idem && (slices.Contains(cfg.Statuses, code) && code != http.StatusTooManyRequests ||
			code == http.StatusTooManyRequests && ok)
		if !retryable || ok && hint > cfg.MaxDelay {
			return false
		}
		delay = cfg.backoff(a.n)
		if ok {
			delay = hint
		}
	}
	if dl, ok := c.Deadline(); ok && time.Until(dl) < delay {
		return false
	}
	if !c.t.budget.withdraw() {
		c.t.metrics.reject(c, "budget", c.req.URL.Host)
		a.budgetOut = true
		return false
	}
	a.again, a.delay = true, delay
	return true
}

// retrying is the step of the retry policy around inner, an attempt. The
// first attempt runs before failsafe-go's retry policy is made for the
// call: when its outcome is not to be retried, as when it succeeds, the
// policy could not act, and the outcome is returned as the policy would
// return it. Otherwise the policy takes over, with that first outcome as
// its first attempt's, and runs the retries.
func (t *Transport) retrying(inner step) step {
	retry := t.retryPolicy()
	return func(exec failsafe.Execution[*try]) *common.PolicyResult[*try] {
		r := inner(exec)
		if canceled, res := exec.(*execution).IsCanceledWithResult(); canceled {
			return res
		}
		if a := r.Result; a != nil && !a.c.retry(a) {
			return r
		}
		first := r
		return wrap(retry, func(exec failsafe.Execution[*try]) *common.PolicyResult[*try] {
			if r := first; r != nil {
				first = nil
				return r
			}
			return inner(exec)
		})(exec)
	}
}
