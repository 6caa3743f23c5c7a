package ratelimit

import (
	"context"
	"math"
	"time"
)

// Limit is a token-bucket rate: Requests per Period on average, with bursts
// of up to Burst. A request of cost n takes n tokens.
type Limit struct {
	// Requests is how many requests (cost units) are allowed per Period.
	Requests int `yaml:"requests"`
	// Period is the window Requests is counted over. If zero, one second.
	// In a gateway config file its key is "per".
	Period time.Duration `yaml:"per"`
	// Burst is the bucket size: how many requests may arrive at once
	// after a quiet spell. If zero, Requests is used.
	Burst int `yaml:"burst"`
}

// PerSecond returns a limit of n requests per second with a burst of n.
func PerSecond(n int) Limit { return Limit{Requests: n, Period: time.Second} }

// PerMinute returns a limit of n requests per minute with a burst of n.
func PerMinute(n int) Limit { return Limit{Requests: n, Period: time.Minute} }

// PerHour returns a limit of n requests per hour with a burst of n.
func PerHour(n int) Limit { return Limit{Requests: n, Period: time.Hour} }

// Normalize returns l with defaults applied: a one-second Period and a
// Burst equal to Requests.
func (l Limit) Normalize() Limit {
	if l.Period <= 0 {
		l.Period = time.Second
	}
	if l.Burst <= 0 {
		l.Burst = l.Requests
	}
	return l
}

// PerSecondRate returns the refill rate in tokens per second.
func (l Limit) PerSecondRate() float64 {
	l = l.Normalize()
	return float64(l.Requests) / l.Period.Seconds()
}

// Share returns the limit divided among n replicas, rounded up, as used
// by a replica that falls back to a local limiter.
func (l Limit) Share(n int) Limit {
	l = l.Normalize()
	if n <= 1 {
		return l
	}
	l.Requests = int(math.Ceil(float64(l.Requests) / float64(n)))
	l.Burst = int(math.Ceil(float64(l.Burst) / float64(n)))
	return l
}

// Decision is a rate-limit store's answer for one request.
type Decision struct {
	// Allowed reports whether the request may proceed; its cost has then
	// been taken.
	Allowed bool
	// Remaining is how many cost units could be taken right now.
	Remaining int
	// Reset is how long until the bucket is full again.
	Reset time.Duration
	// RetryAfter is, for a denied request, how long until it would be allowed.
	RetryAfter time.Duration
}

// RateStore decides rate limits. [MemoryRates] keeps buckets in memory;
// package redisstore shares them between replicas. Implementations must
// be safe for concurrent use.
type RateStore interface {
	// Take tries to take cost tokens from the bucket named key, which
	// follows limit. An error means the store could not decide.
	Take(ctx context.Context, key string, limit Limit, cost int) (Decision, error)
}
