package cache

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"time"
)

// ErrIdempotencyClaimLost is returned by [IdempotencyStore.Complete] and
// [IdempotencyStore.Release] when the key is no longer held by the given
// token: the claim expired and another request took the key.
var ErrIdempotencyClaimLost = errors.New("portico/cache: idempotency claim lost")

// ErrIdempotencyStoreFull is returned by [MemoryIdempotency.Claim] when it
// holds its maximum number of unexpired keys.
var ErrIdempotencyStoreFull = errors.New("portico/cache: idempotency store full")

// IdempotencyRecord is what an [IdempotencyStore] keeps for one key: the
// fingerprint of the first request and, once it finished, its response.
type IdempotencyRecord struct {
	// Fingerprint identifies the request payload the key was first used
	// with.
	Fingerprint string `json:"fingerprint"`
	// Token identifies the claim; only its holder completes or releases it.
	Token string `json:"token"`
	// Done is false while the first request is in flight.
	Done bool `json:"done,omitempty"`
	// Status, Header and Body are the stored response once Done.
	Status int         `json:"status,omitempty"`
	Header http.Header `json:"header,omitempty"`
	Body   []byte      `json:"body,omitempty"`
}

// IdempotencyStore keeps [IdempotencyRecord] values for the [Idempotency]
// middleware. Claim must be atomic, so that of two replicas receiving the
// same key at once exactly one runs the request.
//
// Implementations must be safe for concurrent use. [NewMemoryIdempotency]
// is the in-memory implementation; the redisstore package has one that
// replicas share.
type IdempotencyStore interface {
	// Claim stores rec (not Done) under key for lock, unless the key is
	// already held. It returns the existing record when there is one, and
	// nil when the caller now holds the key.
	Claim(ctx context.Context, key string, rec *IdempotencyRecord, lock time.Duration) (*IdempotencyRecord, error)
	// Complete replaces the claim held with rec.Token by rec (Done) and
	// keeps it for ttl. It returns [ErrIdempotencyClaimLost] when the key
	// is no longer held by that token.
	Complete(ctx context.Context, key string, rec *IdempotencyRecord, ttl time.Duration) error
	// Release removes the claim held with token, so the key can be used
	// again. It returns [ErrIdempotencyClaimLost] when the key is no longer
	// held by that token.
	Release(ctx context.Context, key, token string) error
}

// MemoryIdempotencyConfig configures [NewMemoryIdempotency].
type MemoryIdempotencyConfig struct {
	// MaxKeys bounds the number of unexpired keys held; claims beyond it
	// fail with [ErrIdempotencyStoreFull]. If zero, 1,000,000.
	MaxKeys int
	// Now is the clock. If nil, time.Now is used.
	Now func() time.Time
}

// MemoryIdempotency is an in-memory [IdempotencyStore]. Expired keys are
// swept as the store grows. It is safe for concurrent use.
type MemoryIdempotency struct {
	mu        sync.Mutex
	max       int
	now       func() time.Time
	items     map[string]idemItem
	nextSweep int
}

type idemItem struct {
	rec     *IdempotencyRecord
	expires time.Time
}

// NewMemoryIdempotency returns an empty in-memory idempotency store.
func NewMemoryIdempotency(cfg MemoryIdempotencyConfig) *MemoryIdempotency {
	if cfg.MaxKeys < 0 {
		panic("portico/cache: MemoryIdempotencyConfig.MaxKeys must not be negative")
	}
	if cfg.MaxKeys == 0 {
		cfg.MaxKeys = 1_000_000
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &MemoryIdempotency{max: cfg.MaxKeys, now: cfg.Now, items: make(map[string]idemItem), nextSweep: 1024}
}

// Claim implements [IdempotencyStore].
func (m *MemoryIdempotency) Claim(_ context.Context, key string, rec *IdempotencyRecord, lock time.Duration) (*IdempotencyRecord, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	if it, ok := m.items[key]; ok && now.Before(it.expires) {
		return it.rec, nil
	}
	if len(m.items) >= m.nextSweep || len(m.items) >= m.max {
		m.sweep(now)
		if len(m.items) >= m.max {
			return nil, ErrIdempotencyStoreFull
		}
	}
	c := *rec
	c.Done = false
	m.items[key] = idemItem{rec: &c, expires: now.Add(lock)}
	return nil, nil
}

// Complete implements [IdempotencyStore].
func (m *MemoryIdempotency) Complete(_ context.Context, key string, rec *IdempotencyRecord, ttl time.Duration) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	it, ok := m.items[key]
	if !ok || it.rec.Token != rec.Token || it.rec.Done {
		return ErrIdempotencyClaimLost
	}
	c := *rec
	c.Done = true
	m.items[key] = idemItem{rec: &c, expires: m.now().Add(ttl)}
	return nil
}

// Release implements [IdempotencyStore].
func (m *MemoryIdempotency) Release(_ context.Context, key, token string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	it, ok := m.items[key]
	if !ok || it.rec.Token != token || it.rec.Done {
		return ErrIdempotencyClaimLost
	}
	delete(m.items, key)
	return nil
}

// Len returns the number of keys held, expired ones not yet swept included.
func (m *MemoryIdempotency) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.items)
}

func (m *MemoryIdempotency) sweep(now time.Time) {
	for k, it := range m.items {
		if !now.Before(it.expires) {
			delete(m.items, k)
		}
	}
	m.nextSweep = max(2*len(m.items), 1024)
}
