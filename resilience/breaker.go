package resilience

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// State is a circuit breaker's state.
type State int

// The states of a circuit breaker.
const (
	// StateClosed lets every request through and counts failures.
	StateClosed State = iota
	// StateOpen rejects every request with [ErrCircuitOpen] until its open
	// time has passed.
	StateOpen
	// StateHalfOpen lets a set number of probes through; it closes when
	// they all succeed and opens again on the first failure.
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

// MarshalText encodes the state as its name, for JSON admin endpoints.
func (s State) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// BreakerConfig configures [CircuitBreaker]. The zero value is usable: a
// breaker per upstream host that opens after 5 consecutive failures, stays
// open 30 seconds and closes after one successful probe.
type BreakerConfig struct {
	// Key picks the breaker a request goes through. By default, the
	// request's URL host as the breaker sees it, so one failing instance
	// does not open the circuit for the others. Each key keeps a small
	// breaker for the transport's life, so keys should come from a bounded
	// set (hosts, instances, routes), not from client input.
	Key func(*http.Request) string
	// ConsecutiveFailures opens the breaker after this many failures in a
	// row. By default, 5 if FailureRate is not set, else disabled.
	ConsecutiveFailures int
	// FailureRate, in (0, 1], opens the breaker when at least this
	// fraction of the calls over Window failed, once MinCalls calls were
	// made in it. By default, disabled.
	FailureRate float64
	// MinCalls is the number of calls Window must hold before FailureRate
	// applies. By default, 10.
	MinCalls int
	// Window is the sliding window for FailureRate. By default, 1 minute.
	Window time.Duration
	// SlowCall makes a call whose response headers took at least this long
	// count as a failure. By default, disabled.
	SlowCall time.Duration
	// OpenFor is how long the breaker stays open before it lets probes
	// through. By default, 30 seconds.
	OpenFor time.Duration
	// HalfOpenProbes is the number of requests let through when half-open;
	// all must succeed to close the breaker. By default, 1.
	HalfOpenProbes int
	// IsFailure tells whether an outcome counts as a failure. By default,
	// connection errors, timeouts and 5xx responses do; a request its
	// caller cancelled is never counted either way, and neither are
	// bulkhead rejections.
	IsFailure func(resp *http.Response, err error) bool
	// OnStateChange is called after a breaker changes state, outside any
	// lock.
	OnStateChange func(key string, from, to State)
	// OnReject is called when a breaker rejects a request.
	OnReject func(key string)
	// Now is the clock. By default, time.Now.
	Now func() time.Time
}

// BreakerState is a snapshot of one breaker, for an admin endpoint.
type BreakerState struct {
	// Key is the breaker's key, by default the upstream host.
	Key string `json:"key"`
	// State is the current state.
	State State `json:"state"`
	// Calls and Failures count the outcomes recorded since the breaker
	// last closed (or, once open, in the closed period that opened it).
	Calls    int `json:"calls"`
	Failures int `json:"failures"`
	// ConsecutiveFailures is the current run of failures.
	ConsecutiveFailures int `json:"consecutive_failures"`
	// Remaining is how long an open breaker stays open.
	Remaining time.Duration `json:"remaining"`
}

// CircuitBreaker returns the circuit breaker policy. It panics if cfg is
// invalid; see [BreakerConfig.Validate].
func CircuitBreaker(cfg BreakerConfig) Policy {
	mustValid(cfg.Validate())
	if cfg.Key == nil {
		cfg.Key = func(r *http.Request) string { return r.URL.Host }
	}
	if cfg.ConsecutiveFailures == 0 && cfg.FailureRate == 0 {
		cfg.ConsecutiveFailures = 5
	}
	if cfg.MinCalls == 0 {
		cfg.MinCalls = 10
	}
	if cfg.Window == 0 {
		cfg.Window = time.Minute
	}
	if cfg.OpenFor == 0 {
		cfg.OpenFor = 30 * time.Second
	}
	if cfg.HalfOpenProbes == 0 {
		cfg.HalfOpenProbes = 1
	}
	if cfg.IsFailure == nil {
		cfg.IsFailure = defaultIsFailure
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return policyFunc(func(p *plan) { p.once("CircuitBreaker"); p.breaker = &cfg })
}

func defaultIsFailure(resp *http.Response, err error) bool {
	if err != nil {
		return true
	}
	return resp.StatusCode >= 500
}

// breakers holds one breaker per key.
type breakers struct {
	cfg *BreakerConfig
	m   sync.Map // string -> *breaker
}

func (bs *breakers) get(key string) *breaker {
	if b, ok := bs.m.Load(key); ok {
		return b.(*breaker)
	}
	b, _ := bs.m.LoadOrStore(key, &breaker{key: key, cfg: bs.cfg})
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

// do runs call through the breaker for key.
func (bs *breakers) do(key string, call func() (*http.Response, error)) (*http.Response, error) {
	b := bs.get(key)
	gen, probe, remaining, ok := b.allow()
	if !ok {
		if bs.cfg.OnReject != nil {
			bs.cfg.OnReject(key)
		}
		return nil, &Error{Kind: ErrCircuitOpen, Key: key, RetryAfter: remaining}
	}
	var start time.Time
	if bs.cfg.SlowCall > 0 {
		start = bs.cfg.Now()
	}
	resp, err := call()
	switch {
	case err != nil && (errors.Is(err, context.Canceled) && !errors.Is(err, ErrTimeout) || errors.Is(err, ErrBulkheadFull)):
		b.release(gen, probe)
	default:
		failed := bs.cfg.IsFailure(resp, err)
		if !failed && bs.cfg.SlowCall > 0 && bs.cfg.Now().Sub(start) >= bs.cfg.SlowCall {
			failed = true
		}
		b.record(gen, probe, failed)
	}
	return resp, err
}

// breaker is one key's state machine.
type breaker struct {
	key string
	cfg *BreakerConfig

	mu        sync.Mutex
	state     State
	gen       uint64 // bumps on every state change; stale outcomes are ignored
	run       int    // consecutive failures
	calls     int    // since closed
	fails     int
	until     time.Time // end of the open period
	issued    int       // probes let through in this half-open period
	succeeded int
	slotStart int64
	slots     [10]struct{ calls, fails int }
}

func (b *breaker) allow() (gen uint64, probe bool, remaining time.Duration, ok bool) {
	b.mu.Lock()
	var from State
	changed := false
	switch b.state {
	case StateOpen:
		now := b.cfg.Now()
		if now.Before(b.until) {
			r := b.until.Sub(now)
			b.mu.Unlock()
			return 0, false, r, false
		}
		from, changed = b.state, true
		b.set(StateHalfOpen)
		fallthrough
	case StateHalfOpen:
		if b.issued >= b.cfg.HalfOpenProbes {
			b.mu.Unlock()
			return 0, false, time.Second, false
		}
		b.issued++
		gen, probe, ok = b.gen, true, true
	default:
		gen, ok = b.gen, true
	}
	b.mu.Unlock()
	if changed {
		b.notify(from, StateHalfOpen)
	}
	return gen, probe, 0, ok
}

// release gives back a probe whose outcome says nothing about the upstream.
func (b *breaker) release(gen uint64, probe bool) {
	if !probe {
		return
	}
	b.mu.Lock()
	if b.gen == gen && b.state == StateHalfOpen {
		b.issued--
	}
	b.mu.Unlock()
}

func (b *breaker) record(gen uint64, probe, failed bool) {
	b.mu.Lock()
	if b.gen != gen {
		b.mu.Unlock()
		return
	}
	from := b.state
	switch {
	case probe && failed:
		b.open()
	case probe:
		b.succeeded++
		if b.succeeded >= b.cfg.HalfOpenProbes {
			b.set(StateClosed)
		}
	case b.state == StateClosed:
		b.count(failed)
		if b.cfg.ConsecutiveFailures > 0 && b.run >= b.cfg.ConsecutiveFailures {
			b.open()
		} else if b.cfg.FailureRate > 0 {
			var calls, fails int
			for _, s := range b.slots {
				calls += s.calls
				fails += s.fails
			}
			if calls >= b.cfg.MinCalls && float64(fails) >= b.cfg.FailureRate*float64(calls) {
				b.open()
			}
		}
	}
	to := b.state
	b.mu.Unlock()
	if from != to {
		b.notify(from, to)
	}
}

// count adds an outcome to the closed-state statistics.
func (b *breaker) count(failed bool) {
	slot := max(b.cfg.Window/10, time.Millisecond)
	cur := b.cfg.Now().UnixNano() / int64(slot)
	if d := cur - b.slotStart; d > 0 {
		for i := int64(1); i <= min(d, 10); i++ {
			b.slots[(b.slotStart+i)%10] = struct{ calls, fails int }{}
		}
		b.slotStart = cur
	}
	s := &b.slots[((b.slotStart%10)+10)%10]
	s.calls++
	b.calls++
	if failed {
		s.fails++
		b.fails++
		b.run++
	} else {
		b.run = 0
	}
}

func (b *breaker) open() {
	b.set(StateOpen)
	b.until = b.cfg.Now().Add(b.cfg.OpenFor)
}

// set changes state and resets what belongs to the old one. b.mu is held.
func (b *breaker) set(s State) {
	b.state = s
	b.gen++
	b.issued, b.succeeded = 0, 0
	if s == StateClosed {
		b.run, b.calls, b.fails = 0, 0, 0
		b.slots = [10]struct{ calls, fails int }{}
	}
}

func (b *breaker) notify(from, to State) {
	if b.cfg.OnStateChange != nil {
		b.cfg.OnStateChange(b.key, from, to)
	}
}

func (b *breaker) snapshot() BreakerState {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := BreakerState{Key: b.key, State: b.state, Calls: b.calls, Failures: b.fails, ConsecutiveFailures: b.run}
	if b.state == StateOpen {
		if r := b.until.Sub(b.cfg.Now()); r > 0 {
			s.Remaining = r
		} else {
			s.State = StateHalfOpen // it will let a probe through
		}
	}
	return s
}
