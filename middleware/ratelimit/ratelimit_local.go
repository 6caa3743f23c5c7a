package ratelimit

import (
	"context"
	"hash/maphash"
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

const localShards = 32

// MemoryRatesConfig configures [NewMemoryRates]. The zero value works.
type MemoryRatesConfig struct {
	// MaxKeys caps the number of buckets held; the least recently used is
	// evicted beyond it. If zero, 100,000 is used; values under 32 are
	// raised to 32.
	MaxKeys int
	// Now returns the current time. If nil, time.Now is used.
	Now func() time.Time
}

// MemoryRates is an in-memory [RateStore] of golang.org/x/time/rate token
// buckets with bounded memory: a bucket that has refilled completely is
// dropped (it is indistinguishable from a new one), and beyond MaxKeys the
// least recently used bucket is evicted. It is safe for concurrent use.
type MemoryRates struct {
	now    func() time.Time
	seed   maphash.Seed
	shards [localShards]localShard
}

type localShard struct {
	mu         sync.Mutex
	m          map[string]*bucket
	head, tail *bucket // most and least recently used
	max        int
}

type bucket struct {
	key        string
	lim        *rate.Limiter
	limit      Limit
	used       time.Time
	prev, next *bucket
}

// NewMemoryRates returns an empty in-memory store.
func NewMemoryRates(cfg MemoryRatesConfig) *MemoryRates {
	if cfg.MaxKeys <= 0 {
		cfg.MaxKeys = 100_000
	}
	s := &MemoryRates{now: cfg.Now, seed: maphash.MakeSeed()}
	if s.now == nil {
		s.now = time.Now
	}
	cfg.MaxKeys = max(cfg.MaxKeys, localShards)
	for i := range s.shards {
		s.shards[i].m = make(map[string]*bucket)
		s.shards[i].max = cfg.MaxKeys / localShards
		if i < cfg.MaxKeys%localShards {
			s.shards[i].max++
		}
	}
	return s
}

// Len returns the number of buckets held.
func (s *MemoryRates) Len() int {
	n := 0
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		n += len(sh.m)
		sh.mu.Unlock()
	}
	return n
}

// Take implements [RateStore]. It never returns an error.
func (s *MemoryRates) Take(_ context.Context, key string, l Limit, cost int) (Decision, error) {
	l = l.Normalize()
	now := s.now()
	sh := &s.shards[maphash.String(s.seed, key)%localShards]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	b := sh.m[key]
	if b == nil {
		sh.expire(now)
		if len(sh.m) >= sh.max {
			sh.remove(sh.tail)
		}
		b = &bucket{key: key, limit: l, lim: rate.NewLimiter(rate.Limit(l.PerSecondRate()), l.Burst)}
		sh.m[key] = b
	} else {
		sh.unlink(b)
		if b.limit != l {
			b.lim.SetLimitAt(now, rate.Limit(l.PerSecondRate()))
			b.lim.SetBurstAt(now, l.Burst)
			b.limit = l
		}
	}
	b.used = now
	sh.pushFront(b)
	return decide(b.lim, now, l, cost), nil
}

// decide takes cost tokens from lim if it can and describes the outcome.
func decide(lim *rate.Limiter, now time.Time, l Limit, cost int) Decision {
	perSec := l.PerSecondRate()
	ok := lim.AllowN(now, cost)
	tokens := lim.TokensAt(now)
	d := Decision{Allowed: ok, Remaining: max(0, int(math.Floor(tokens)))}
	d.Reset = secondsDur((float64(l.Burst) - tokens) / perSec)
	if !ok {
		if cost > l.Burst {
			d.RetryAfter = l.Period
		} else {
			d.RetryAfter = secondsDur((float64(cost) - tokens) / perSec)
		}
	}
	return d
}

func secondsDur(s float64) time.Duration {
	if s <= 0 {
		return 0
	}
	return time.Duration(math.Ceil(s * float64(time.Second)))
}

// expire drops least recently used buckets that have refilled completely.
func (sh *localShard) expire(now time.Time) {
	for i := 0; i < 2 && sh.tail != nil; i++ {
		b := sh.tail
		full := time.Duration(float64(b.limit.Burst) / b.limit.PerSecondRate() * float64(time.Second))
		if now.Sub(b.used) < full {
			return
		}
		sh.remove(b)
	}
}

func (sh *localShard) remove(b *bucket) {
	if b == nil {
		return
	}
	sh.unlink(b)
	delete(sh.m, b.key)
}

func (sh *localShard) unlink(b *bucket) {
	if b.prev != nil {
		b.prev.next = b.next
	} else if sh.head == b {
		sh.head = b.next
	}
	if b.next != nil {
		b.next.prev = b.prev
	} else if sh.tail == b {
		sh.tail = b.prev
	}
	b.prev, b.next = nil, nil
}

func (sh *localShard) pushFront(b *bucket) {
	b.next = sh.head
	if sh.head != nil {
		sh.head.prev = b
	}
	sh.head = b
	if sh.tail == nil {
		sh.tail = b
	}
}
