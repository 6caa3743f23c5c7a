package resilience

import (
	"net/http"
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
	// request's URL host as the breaker sees it, so one failing host
	// does not open the circuit for the others. A RoundTripper below the
	// transport that picks an instance for each attempt (a load
	// balancer's pool) re-keys the attempt by that instance with
	// [Instance]. Each key keeps a small breaker for the transport's life,
	// so keys should come from a bounded set (hosts, instances, routes),
	// not from client input.
	Key func(*http.Request) string
	// ConsecutiveFailures opens the breaker after this many failures in a
	// row. By default, 5 ([DefaultBreakerFailures]) if FailureRate is not
	// set, else disabled.
	ConsecutiveFailures int
	// FailureRate, in (0, 1], opens the breaker when at least this
	// fraction of the calls over Window failed, once MinCalls calls were
	// made in it. By default, disabled.
	FailureRate float64
	// MinCalls is the number of calls Window must hold before FailureRate
	// applies. By default, 10.
	MinCalls int
	// Window is the sliding window for FailureRate; it is failsafe-go's
	// and runs on the wall clock, not on Now. By default, 1 minute.
	Window time.Duration
	// SlowCall makes a call whose response headers took at least this long
	// count as a failure. By default, disabled.
	SlowCall time.Duration
	// OpenFor is how long the breaker stays open before it lets probes
	// through. By default, 30 seconds ([DefaultBreakerOpenFor]).
	OpenFor time.Duration
	// HalfOpenProbes is the number of requests let through when half-open;
	// all must succeed to close the breaker. By default, 1
	// ([DefaultBreakerProbes]).
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
	// Now is the clock of the open period and of SlowCall. By default,
	// time.Now.
	Now func() time.Time
}

// BreakerState is a snapshot of one breaker, for an admin endpoint.
type BreakerState struct {
	// Key is the breaker's key, by default the upstream host.
	Key string `json:"key"`
	// State is the current state.
	State State `json:"state"`
	// Calls and Failures count the outcomes in the breaker's window: the
	// last ConsecutiveFailures calls (or the FailureRate Window) while
	// closed, the probes while half-open, and once open the window that
	// opened it.
	Calls    int `json:"calls"`
	Failures int `json:"failures"`
	// ConsecutiveFailures is the current run of failures.
	ConsecutiveFailures int `json:"consecutive_failures"`
	// Remaining is how long an open breaker stays open.
	Remaining time.Duration `json:"remaining"`
}

// CircuitBreaker returns the circuit breaker policy: a breaker per key,
// each a failsafe-go circuit breaker (see the package documentation for
// what Portico adds). The policy holds its breakers: every [Transport]
// given the same policy value shares them, so a transport built anew (on
// a configuration reload, say) keeps the circuits' states when it is
// given the previous one's policy. It panics if cfg is invalid; see
// [BreakerConfig.Validate].
func CircuitBreaker(cfg BreakerConfig) Policy {
	mustValid(cfg.Validate())
	if cfg.Key == nil {
		cfg.Key = func(r *http.Request) string { return r.URL.Host }
	}
	if cfg.ConsecutiveFailures == 0 && cfg.FailureRate == 0 {
		cfg.ConsecutiveFailures = DefaultBreakerFailures
	}
	if cfg.MinCalls == 0 {
		cfg.MinCalls = 10
	}
	if cfg.Window == 0 {
		cfg.Window = time.Minute
	}
	if cfg.OpenFor == 0 {
		cfg.OpenFor = DefaultBreakerOpenFor
	}
	if cfg.HalfOpenProbes == 0 {
		cfg.HalfOpenProbes = DefaultBreakerProbes
	}
	if cfg.IsFailure == nil {
		cfg.IsFailure = defaultIsFailure
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	bs := &breakers{cfg: &cfg}
	return policyFunc(func(p *plan) { p.once("CircuitBreaker"); p.breaker, p.breakers = &cfg, bs })
}

// defaultIsFailure counts connection errors, timeouts and 5xx responses
// as failures, for breakers and hedges.
func defaultIsFailure(resp *http.Response, err error) bool {
	if err != nil {
		return true
	}
	return resp.StatusCode >= 500
}
