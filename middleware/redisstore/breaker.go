package redisstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/failsafe-go/failsafe-go/circuitbreaker"
	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/portico-dev/portico/middleware"
)

// State is the state of a [Store]'s circuit breaker.
type State int

// The states of a store's circuit breaker.
const (
	// StateClosed sends every call to Redis.
	StateClosed State = iota
	// StateOpen sends no call to Redis: each fails at once with an error
	// wrapping [middleware.ErrStoreUnavailable].
	StateOpen
	// StateHalfOpen lets one call probe Redis and fails the others as
	// StateOpen does.
	StateHalfOpen
)

// String returns "closed", "open" or "half-open".
func (s State) String() string {
	switch s {
	case StateClosed:
		return "closed"
	case StateOpen:
		return "open"
	case StateHalfOpen:
		return "half-open"
	}
	return "unknown"
}

// MarshalText encodes the state as its name, for JSON health endpoints.
func (s State) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Status is a snapshot of a [Store]'s view of Redis, for health checks
// and admin endpoints.
type Status struct {
	// State is the circuit breaker's state.
	State State `json:"state"`
	// DownSince is when the current outage began (the breaker opened);
	// zero while the breaker is closed.
	DownSince time.Time `json:"down_since,omitzero"`
	// LastError is the error of the last failed call, or empty.
	LastError string `json:"last_error,omitempty"`
	// OK, Failed and Skipped count the calls since the store was made:
	// answered by Redis, failed (timed out, connection refused or broken,
	// server unable to serve), and not sent because the breaker was open.
	OK      uint64 `json:"ok"`
	Failed  uint64 `json:"failed"`
	Skipped uint64 `json:"skipped"`
}

// Status returns the state of the store's circuit breaker and its counts
// of calls.
func (s *Store) Status() Status {
	g := s.guard
	g.mu.Lock()
	st := Status{DownSince: g.downSince, LastError: g.lastErr}
	g.mu.Unlock()
	st.State = stateOf(g.cb.State())
	st.OK, st.Failed, st.Skipped = g.ok.Load(), g.failed.Load(), g.skipped.Load()
	return st
}

func stateOf(s circuitbreaker.State) State {
	switch s {
	case circuitbreaker.OpenState:
		return StateOpen
	case circuitbreaker.HalfOpenState:
		return StateHalfOpen
	}
	return StateClosed
}

// errSkipped is the error of a call the open breaker did not send.
var errSkipped = fmt.Errorf("skipped, Redis being unavailable until a probe succeeds: %w", middleware.ErrStoreUnavailable)

// errTimedOut is the cause of a call's context when the store timeout,
// not the caller, ended it.
var errTimedOut = errors.New("portico/redisstore: store timeout")

// guard is what every view of a Store shares: the circuit breaker around
// Redis, the counts of calls and the instruments.
type guard struct {
	cb      circuitbreaker.CircuitBreaker[any]
	openFor time.Duration
	log     *slog.Logger
	prefix  string

	ok, failed, skipped atomic.Uint64

	mu        sync.Mutex
	downSince time.Time
	lastErr   string

	calls    metric.Int64Counter
	outcomes [3]metric.AddOption // ok, failed, skipped
	reg      metric.Registration
}

func newGuard(c config) *guard {
	g := &guard{openFor: c.openFor, log: c.logger, prefix: c.prefix}
	g.cb = circuitbreaker.NewBuilder[any]().
		WithFailureThreshold(uint(c.failures)).
		WithSuccessThreshold(1).
		WithDelay(c.openFor).
		OnStateChanged(g.changed).
		Build()
	g.instrument(c.meter)
	return g
}

// do runs one call to Redis through the breaker, under the store timeout.
// It returns the call's error, or errSkipped when the breaker is open.
func (s *Store) do(ctx context.Context, call func(context.Context) error) error {
	g := s.guard
	if !g.cb.TryAcquirePermit() {
		g.count(ctx, &g.skipped, 2)
		return errSkipped
	}
	probe := g.cb.IsHalfOpen()
	cctx, cancel := context.WithTimeoutCause(ctx, s.timeout, errTimedOut)
	err := call(cctx)
	timedOut := errors.Is(context.Cause(cctx), errTimedOut)
	cancel()
	if !isOutage(err) {
		g.cb.RecordSuccess()
		g.count(ctx, &g.ok, 0)
		return err
	}
	if ctx.Err() != nil && !timedOut {
		// The caller gave up, which says nothing about Redis.
		g.noVerdict()
		return err
	}
	var ne net.Error
	if timedOut || errors.As(err, &ne) && ne.Timeout() {
		err = fmt.Errorf("no answer within the store timeout of %s: %w", s.timeout, err)
	}
	g.mu.Lock()
	g.lastErr = err.Error()
	g.mu.Unlock()
	g.count(ctx, &g.failed, 1)
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		g.cb.Open() // nothing listens: no need to wait for more failures
	case saturated(err):
		g.noVerdict()
	default:
		g.cb.RecordFailure()
	}
	if probe { // the outage goes on, and was reported when it began
		err = fmt.Errorf("probe failed: %w (%w)", err, middleware.ErrStoreUnavailable)
	}
	return err
}

// noVerdict ends a call whose failure says nothing about Redis. A probe's
// permit is only given back by an outcome, so a half-open breaker counts
// it as failed, and another probe follows after openFor.
func (g *guard) noVerdict() {
	if g.cb.IsHalfOpen() {
		g.cb.RecordFailure()
	}
}

// saturated reports whether err means the client had no connection free
// in time, without any network error: the gateway is overloaded, which
// says nothing about Redis (when Redis hangs, the calls holding the
// connections time out and open the breaker).
func saturated(err error) bool {
	var op *net.OpError
	return errors.Is(err, redis.ErrPoolTimeout) || errors.Is(err, redis.ErrPoolExhausted) ||
		errors.Is(err, context.DeadlineExceeded) && !errors.As(err, &op)
}

// isOutage reports whether err means Redis could not serve the call: a
// network error, a timeout, or a reply saying the server cannot serve
// now. A reply such as redis.Nil or a script error is an answer.
func isOutage(err error) bool {
	if err == nil {
		return false
	}
	var reply redis.Error
	if !errors.As(err, &reply) {
		return true
	}
	return redis.IsLoadingError(err) || redis.IsReadOnlyError(err) || redis.IsMasterDownError(err) ||
		redis.IsClusterDownError(err) || redis.IsTryAgainError(err) || redis.IsMaxClientsError(err) ||
		redis.IsAuthError(err)
}

// changed logs a transition of the breaker: the start of an outage as a
// warning, its end as info, probes at debug level.
func (g *guard) changed(e circuitbreaker.StateChangedEvent) {
	now := time.Now()
	g.mu.Lock()
	since, lastErr := g.downSince, g.lastErr
	switch {
	case e.NewState == circuitbreaker.OpenState && since.IsZero():
		g.downSince = now
	case e.NewState == circuitbreaker.ClosedState:
		g.downSince = time.Time{}
	}
	g.mu.Unlock()
	if g.log == nil {
		return
	}
	ctx := context.Background()
	prefix := slog.String("prefix", g.prefix)
	switch {
	case e.NewState == circuitbreaker.OpenState && since.IsZero():
		g.log.LogAttrs(ctx, slog.LevelWarn, "redis store unavailable; every store falls back without trying it until a probe succeeds",
			prefix, slog.String("error", lastErr), slog.Duration("probe_every", g.openFor))
	case e.NewState == circuitbreaker.ClosedState:
		g.log.LogAttrs(ctx, slog.LevelInfo, "redis store available again", prefix, slog.Duration("down_for", now.Sub(since)))
	default:
		g.log.LogAttrs(ctx, slog.LevelDebug, "redis store circuit breaker", prefix,
			slog.String("from", stateOf(e.OldState).String()), slog.String("to", stateOf(e.NewState).String()))
	}
}

// instrument creates the calls counter and the breaker state gauge.
func (g *guard) instrument(mp metric.MeterProvider) {
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	m := mp.Meter("github.com/portico-dev/portico/middleware/redisstore")
	prefix := attribute.String("portico.prefix", g.prefix)
	for i, o := range []string{"ok", "failed", "skipped"} {
		g.outcomes[i] = metric.WithAttributeSet(attribute.NewSet(prefix, attribute.String("portico.outcome", o)))
	}
	g.calls, _ = m.Int64Counter("portico.redisstore.calls",
		metric.WithDescription("Calls of the Redis store, by outcome."), metric.WithUnit("{call}"))
	gauge, err := m.Int64ObservableGauge("portico.redisstore.breaker.state",
		metric.WithDescription("Circuit breaker of the Redis store: 0 closed, 1 half-open, 2 open."))
	if err != nil {
		return
	}
	attrs := metric.WithAttributeSet(attribute.NewSet(prefix))
	g.reg, _ = m.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		v := int64(0)
		switch g.cb.State() {
		case circuitbreaker.HalfOpenState:
			v = 1
		case circuitbreaker.OpenState:
			v = 2
		}
		o.ObserveInt64(gauge, v, attrs)
		return nil
	}, gauge)
}

func (g *guard) count(ctx context.Context, n *atomic.Uint64, outcome int) {
	n.Add(1)
	if g.calls != nil {
		g.calls.Add(ctx, 1, g.outcomes[outcome])
	}
}

func (g *guard) close() error {
	if g.reg == nil {
		return nil
	}
	return g.reg.Unregister()
}
