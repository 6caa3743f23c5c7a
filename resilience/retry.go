package resilience

import (
	"context"
	"errors"
	"math/rand/v2"
	"net/http"
	"slices"
	"time"
)

// RetryConfig configures [Retry]. The zero value is usable: 3 attempts,
// exponential backoff from 100 ms capped at 10 s with full jitter, on
// connection errors, timeouts, 502, 503, 504 and 429 with Retry-After.
type RetryConfig struct {
	// MaxAttempts is the number of attempts, the first included.
	// By default, 3.
	MaxAttempts int
	// BaseDelay is the backoff before the first retry; it doubles on each
	// retry, and the actual delay is drawn uniformly between 0 and that
	// value ("full jitter"). By default, 100 ms.
	BaseDelay time.Duration
	// MaxDelay caps the backoff. A Retry-After hint longer than MaxDelay
	// is not waited for: the response is returned as is. By default, 10 s.
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

// Retry returns the retry policy. It panics if cfg is invalid; see
// [RetryConfig.Validate].
func Retry(cfg RetryConfig) Policy {
	mustValid(cfg.Validate())
	if cfg.MaxAttempts == 0 {
		cfg.MaxAttempts = 3
	}
	if cfg.BaseDelay == 0 {
		cfg.BaseDelay = 100 * time.Millisecond
	}
	if cfg.MaxDelay == 0 {
		cfg.MaxDelay = 10 * time.Second
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
// PUT, DELETE) or it carries an Idempotency-Key header.
func Idempotent(req *http.Request) bool {
	switch req.Method {
	case "", http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace, http.MethodPut, http.MethodDelete:
		return true
	}
	return req.Header.Get("Idempotency-Key") != ""
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

// retry runs attempts until one succeeds, the policy gives up, or ctx ends.
func (t *Transport) retry(ctx context.Context, req *http.Request, body *replay) (*http.Response, error) {
	c := t.plan.retry
	idem := c.RetryNonIdempotent || Idempotent(req)
	t.budget.deposit()
	for n := 1; ; n++ {
		resp, err := t.attempt(ctx, req, body, n)
		if n >= c.MaxAttempts || !body.again() {
			return resp, exhausted(err, n)
		}
		var delay time.Duration
		if err != nil {
			switch {
			case ctx.Err() != nil:
				return nil, t.ctxErr(ctx, err)
			case neverSent(err):
			case !idem, errors.Is(err, ErrCircuitOpen), errors.Is(err, ErrBulkheadFull):
				return nil, exhausted(err, n)
			}
			delay = c.backoff(n)
		} else {
			hint, ok := ParseRetryAfter(resp.Header, c.Now())
			retryable := idem && (slices.Contains(c.Statuses, resp.StatusCode) && resp.StatusCode != http.StatusTooManyRequests ||
				resp.StatusCode == http.StatusTooManyRequests && ok)
			if !retryable || ok && hint > c.MaxDelay {
				return resp, nil
			}
			delay = c.backoff(n)
			if ok {
				delay = hint
			}
		}
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < delay {
			return resp, exhausted(err, n)
		}
		if !t.budget.withdraw() {
			t.metrics.reject(ctx, "budget", req.URL.Host)
			if resp != nil {
				return resp, nil
			}
			return nil, &Error{Kind: ErrBudgetExhausted, Attempts: n, Err: err}
		}
		status := 0
		if resp != nil {
			status = resp.StatusCode
			discard(resp)
		}
		t.metrics.retry(ctx, req.URL.Host)
		if c.OnRetry != nil {
			c.OnRetry(RetryEvent{Request: req, Attempt: n, Status: status, Err: err, Delay: delay})
		}
		if err := sleep(ctx, delay); err != nil {
			return nil, t.ctxErr(ctx, err)
		}
	}
}

// exhausted wraps the last error of a run of more than one attempt.
func exhausted(err error, attempts int) error {
	if err == nil || attempts == 1 {
		return err
	}
	return &Error{Kind: ErrRetriesExceeded, Attempts: attempts, Err: err}
}

// sleep waits for d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
