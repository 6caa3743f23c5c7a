package ratelimit

import (
	"context"
	"sync"
	"time"
)

// QuotaStore holds counters that expire, for quotas and, later, budgets.
// [MemoryCounters] keeps them in memory; package redisstore shares them
// between replicas. Implementations must be safe for concurrent use.
type QuotaStore interface {
	// Add adds n to the counter named key if the sum stays at or under
	// limit, and reports the counter's value afterwards (or, if refused,
	// its current value). A negative n, which returns units (for example
	// an unused reservation), is always applied. A new counter expires at
	// expires.
	Add(ctx context.Context, key string, n, limit int64, expires time.Time) (used int64, ok bool, err error)
}

// MemoryCounters is the in-memory [QuotaStore]. Expired counters are
// dropped as new ones are added. It is safe for concurrent use.
type MemoryCounters struct {
	now func() time.Time
	mu  sync.Mutex
	m   map[string]*counter
	ops int
}

type counter struct {
	n       int64
	expires time.Time
}

// NewMemoryCounters returns an empty store. If clock is nil, time.Now is used.
func NewMemoryCounters(clock func() time.Time) *MemoryCounters {
	if clock == nil {
		clock = time.Now
	}
	return &MemoryCounters{now: clock, m: make(map[string]*counter)}
}

// Len returns the number of live counters held.
func (s *MemoryCounters) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.m)
}

// Add implements [QuotaStore]. It never returns an error.
func (s *MemoryCounters) Add(_ context.Context, key string, n, limit int64, expires time.Time) (int64, bool, error) {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.m[key]
	if c != nil && !now.Before(c.expires) {
		delete(s.m, key)
		c = nil
	}
	if c == nil {
		s.sweep(now)
		c = &counter{expires: expires}
		s.m[key] = c
	}
	if n > 0 && c.n+n > limit {
		return c.n, false, nil
	}
	c.n += n
	return c.n, true, nil
}

// sweep drops expired counters once every 1024 new counters, keeping the
// cost amortised.
func (s *MemoryCounters) sweep(now time.Time) {
	s.ops++
	if s.ops < 1024 {
		return
	}
	s.ops = 0
	for k, c := range s.m {
		if !now.Before(c.expires) {
			delete(s.m, k)
		}
	}
}
