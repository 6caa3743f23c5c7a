package resilience

import (
	"context"
	"errors"
	"time"
)

// guard is the circuit breaker an attempt went through.
type guard struct {
	key     string
	set     bool     // a key was admitted or refused
	refused bool     // the breaker rejected the attempt
	b       *breaker // nil if the key had no breaker yet (it is closed)
	permit  permit
	start   time.Time // for SlowCall
}

// admit puts the attempt under key's circuit breaker, and returns an
// [ErrCircuitOpen] error if the breaker rejects it.
func (a *try) admit(key string) error {
	c := a.c
	a.guard = guard{key: key, set: true}
	b := c.t.breakers.peek(key)
	if b == nil {
		return nil
	}
	p, wait, ok := b.allow()
	if !ok {
		a.guard.refused = true
		if f := c.t.plan.breaker.OnReject; f != nil {
			f(key)
		}
		c.t.metrics.reject(c, "circuit_breaker", key)
		return &Error{Kind: ErrCircuitOpen, Key: key, RetryAfter: wait}
	}
	a.guard.b, a.guard.permit = b, p
	return nil
}

// settle records the attempt's outcome in its circuit breaker. A request
// its caller cancelled, a hedge that lost before SlowCall, and a bulkhead
// rejection say nothing about the upstream: their permit is given back.
func (a *try) settle() {
	g := &a.guard
	if !g.set || g.refused {
		return
	}
	cfg := a.c.t.plan.breaker
	b := g.b
	if b == nil {
		b = a.c.t.breakers.get(g.key)
	}
	slow := cfg.SlowCall > 0 && !g.start.IsZero() && cfg.Now().Sub(g.start) >= cfg.SlowCall
	if a.err != nil && (errors.Is(a.err, context.Canceled) && !errors.Is(a.err, ErrTimeout) || errors.Is(a.err, ErrBulkheadFull)) {
		if slow && errors.Is(a.err, context.Canceled) && a.c.req.Context().Err() == nil {
			// A hedge that lost after waiting past SlowCall was slow.
			b.record(g.permit, true)
			return
		}
		b.release(g.permit)
		return
	}
	failed := slow || cfg.IsFailure(a.resp, a.err)
	if !failed && a.err == nil && settleLate(a.resp, b, g.permit) {
		return
	}
	b.record(g.permit, failed)
}

// Instance re-keys the attempt in progress to the circuit breaker of the
// instance key. An http.RoundTripper below a [Transport] that picks an
// instance for each request, such as a load balancer's pool, calls it
// with ctx, the request's context, once it has picked the instance and
// before sending: the breaker that guards the attempt, counts its outcome
// and shows in [Transport.Breakers] is then the instance's, so one failing
// instance opens its own circuit and not its pool's. The key is usually
// the instance's host and port.
//
// Instance returns an error matching [ErrCircuitOpen] when that breaker
// rejects the request: pick another instance and call Instance again, or
// return the error. Called again for another key, it gives back the
// previous one's permit. Without a Transport with a [CircuitBreaker]
// above, it does nothing and returns nil. [Admits] tells beforehand which
// instances a breaker would reject.
func Instance(ctx context.Context, key string) error {
	a := tryFrom(ctx)
	if a == nil || a.c.t.breakers == nil {
		return nil
	}
	if g := a.guard; g.set && !g.refused && g.key == key {
		return nil
	}
	if g := a.guard; g.set && !g.refused && g.b != nil {
		g.b.release(g.permit)
	}
	return a.admit(key)
}

// Admits reports whether the circuit breaker of the instance key would
// let the request whose context is ctx through now, so that a
// RoundTripper picking instances can skip those whose circuit is open, as
// it skips unhealthy ones. It takes nothing: call [Instance] for the
// instance picked. It is true without a Transport with a [CircuitBreaker]
// above.
func Admits(ctx context.Context, key string) bool {
	a := tryFrom(ctx)
	if a == nil || a.c.t.breakers == nil {
		return true
	}
	b := a.c.t.breakers.peek(key)
	return b == nil || b.admits()
}

// Abandoned tells an http.RoundTripper below a [Transport] that keeps
// score of its upstream instances, such as a load balancer's pool, why
// the attempt whose request context is ctx was canceled, since
// failsafe-go cancels attempts without a cause: an error matching
// [ErrTimeout] when its [Timeout] or the [OverallTimeout] expired, which
// counts against the instance as a failure; [ErrHedgeLost] when another
// attempt of a [Hedge] answered first, which shows only that the instance
// took longer than the time the attempt ran. It returns nil while the
// attempt's context is live, when the caller canceled the request, and
// without a Transport above.
func Abandoned(ctx context.Context) error {
	a := tryFrom(ctx)
	if a == nil || !ended(a) || ended(a.c.req.Context()) {
		return nil
	}
	c := a.c
	if c.t.hedging != nil {
		c.mu.Lock()
		won := c.hedge.won
		c.mu.Unlock()
		if won {
			return ErrHedgeLost
		}
	}
	return &Error{Kind: ErrTimeout, Err: a.Err()}
}

// ended reports whether ctx is done.
func ended(ctx context.Context) bool {
	select {
	case <-ctx.Done():
		return true
	default:
		return false
	}
}
