package resilience

import "time"

// The defaults that the zero fields of [RetryConfig] and [BreakerConfig]
// stand for. They are the defaults of the gateway's route policies too
// (its Retry and Breaker), so a policy means the same wherever it is
// written.
const (
	// DefaultRetryAttempts is [RetryConfig].MaxAttempts by default, the
	// first attempt included.
	DefaultRetryAttempts = 3
	// DefaultRetryBaseDelay is [RetryConfig].BaseDelay by default: the
	// backoff before the first retry, doubled for each one.
	DefaultRetryBaseDelay = 100 * time.Millisecond
	// DefaultRetryMaxDelay is [RetryConfig].MaxDelay by default: the cap of
	// the backoff and the longest Retry-After waited for.
	DefaultRetryMaxDelay = 10 * time.Second
	// DefaultBreakerFailures is [BreakerConfig].ConsecutiveFailures by
	// default, when FailureRate is not set.
	DefaultBreakerFailures = 5
	// DefaultBreakerOpenFor is [BreakerConfig].OpenFor by default: how long
	// an open breaker rejects requests before it lets probes through.
	DefaultBreakerOpenFor = 30 * time.Second
	// DefaultBreakerProbes is [BreakerConfig].HalfOpenProbes by default.
	DefaultBreakerProbes = 1
)
