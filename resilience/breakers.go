package resilience

import (
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/failsafe-go/failsafe-go/circuitbreaker"
)

// breakers holds one breaker per key, made on first use.
type breakers struct {
	cfg *BreakerConfig
	m   sync.Map // string -> *breaker
}

// peek returns key's breaker, or nil if it has none yet (it is closed).
func (bs *breakers) peek(key string) *breaker {
	if b, ok := bs.m.Load(key); ok {
		return b.(*breaker)
	}
	return nil
}

func (bs *breakers) get(key string) *breaker {
	if b := bs.peek(key); b != nil {
		return b
	}
	b, _ := bs.m.LoadOrStore(key, newBreaker(key, bs.cfg))
	return b.(*breaker)
}

func (bs *breakers) states() []BreakerState {
	var out []BreakerState
	bs.m.Range(func(_, v any) bool {
		out = append(out, v.(*breaker).snapshot())
		return true
	})
	slices.SortFunc(out, func(a, b BreakerState) int { return strings.Compare(a.Key, b.Key) })
	return out
}

// breaker is one key's circuit breaker. failsafe-go's circuitbreaker holds
// its state machine: the thresholds and windows of the closed state, the
// success threshold of the half-open state, and the transitions. Around
// it, Portico keeps what failsafe-go's breaker cannot do:
//
//   - the open period runs on the configured clock (failsafe-go's reads
//     the wall clock), so the breaker is half-opened from here;
//   - half-open probes are counted here, so that a probe whose outcome
//     says nothing about the upstream can be given back (failsafe-go
//     counts every permitted call as a success or a failure);
//   - outcomes of calls admitted before the last state change are
//     ignored, and ConsecutiveFailures also applies beside FailureRate.
type breaker struct {
	key string
	cfg *BreakerConfig
	cb  circuitbreaker.CircuitBreaker[any]

	mu      sync.Mutex
	state   State     // mirrors cb's, updated by its listener
	gen     uint64    // bumps on every state change
	until   time.Time // end of the open period
	issued  int       // probes let through in this half-open period
	run     int       // consecutive failures while closed
	changes []change  // made while mu is held, reported once it is released
}

type change struct{ from, to State }

// permit is a breaker's leave to send one call.
type permit struct {
	gen   uint64
	probe bool
}

func newBreaker(key string, cfg *BreakerConfig) *breaker {
	b := &breaker{key: key, cfg: cfg}
	build := circuitbreaker.NewBuilder[any]().
		WithDelay(cfg.OpenFor).
		WithSuccessThreshold(uint(cfg.HalfOpenProbes)).
		OnStateChanged(b.changed)
	if cfg.FailureRate > 0 {
		build = build.WithFailureRateThreshold(cfg.FailureRate, uint(cfg.MinCalls), cfg.Window)
	} else {
		build = build.WithFailureThreshold(uint(cfg.ConsecutiveFailures))
	}
	b.cb = build.Build()
	return b
}

// changed is cb's listener. Every transition happens in a call to cb made
// with b.mu held, so it updates b's fields directly.
func (b *breaker) changed(e circuitbreaker.StateChangedEvent) {
	to := StateClosed
	switch e.NewState {
	case circuitbreaker.OpenState:
		to = StateOpen
		b.until = b.cfg.Now().Add(b.cfg.OpenFor)
	case circuitbreaker.HalfOpenState:
		to = StateHalfOpen
	default:
		b.run = 0
	}
	b.changes = append(b.changes, change{b.state, to})
	b.state = to
	b.gen++
	b.issued = 0
}

// unlock releases b.mu, then reports the state changes made under it.
func (b *breaker) unlock() {
	changes := b.changes
	b.changes = nil
	b.mu.Unlock()
	if b.cfg.OnStateChange != nil {
		for _, ch := range changes {
			b.cfg.OnStateChange(b.key, ch.from, ch.to)
		}
	}
}

// halfOpenIfDue half-opens an open breaker whose open period is over.
// b.mu is held.
func (b *breaker) halfOpenIfDue() {
	if b.state == StateOpen && !b.cfg.Now().Before(b.until) {
		b.cb.HalfOpen()
	}
}

// allow asks for leave to send a call; when refused, it tells how long
// the caller should wait.
func (b *breaker) allow() (p permit, wait time.Duration, ok bool) {
	b.mu.Lock()
	defer b.unlock()
	b.halfOpenIfDue()
	switch b.state {
	case StateOpen:
		return permit{}, b.until.Sub(b.cfg.Now()), false
	case StateHalfOpen:
		if b.issued >= b.cfg.HalfOpenProbes {
			return permit{}, time.Second, false
		}
		b.issued++
		return permit{gen: b.gen, probe: true}, 0, true
	}
	return permit{gen: b.gen}, 0, true
}

// admits tells, without taking anything, whether allow would succeed.
func (b *breaker) admits() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch b.state {
	case StateOpen:
		return !b.cfg.Now().Before(b.until)
	case StateHalfOpen:
		return b.issued < b.cfg.HalfOpenProbes
	}
	return true
}

// release gives back a permit whose call says nothing about the upstream.
func (b *breaker) release(p permit) {
	if !p.probe {
		return
	}
	b.mu.Lock()
	if b.gen == p.gen && b.state == StateHalfOpen {
		b.issued--
	}
	b.mu.Unlock()
}

// record counts the outcome of a call made with p.
func (b *breaker) record(p permit, failed bool) {
	b.mu.Lock()
	defer b.unlock()
	if b.gen != p.gen {
		return // admitted before the last state change
	}
	if !failed {
		b.run = 0
		b.cb.RecordSuccess()
		return
	}
	closed := b.state == StateClosed
	if closed {
		b.run++
	}
	b.cb.RecordFailure()
	if closed && b.state == StateClosed && b.cfg.FailureRate > 0 &&
		b.cfg.ConsecutiveFailures > 0 && b.run >= b.cfg.ConsecutiveFailures {
		b.cb.Open()
	}
}

func (b *breaker) snapshot() BreakerState {
	b.mu.Lock()
	defer b.mu.Unlock()
	m := b.cb.Metrics()
	s := BreakerState{Key: b.key, State: b.state, Calls: int(m.Executions()), Failures: int(m.Failures()),
		ConsecutiveFailures: b.run}
	if b.state == StateOpen {
		if r := b.until.Sub(b.cfg.Now()); r > 0 {
			s.Remaining = r
		} else {
			s.State = StateHalfOpen // it will let a probe through
		}
	}
	return s
}
