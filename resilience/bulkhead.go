package resilience

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"time"

	fsbulkhead "github.com/failsafe-go/failsafe-go/bulkhead"
)

// BulkheadConfig configures [Bulkhead].
type BulkheadConfig struct {
	// MaxConcurrent is the number of requests allowed in flight at once,
	// from the moment they are sent until their response body is closed
	// or read to its end. It must be > 0.
	MaxConcurrent int
	// MaxWait is how long a request may wait for a free slot before it
	// fails with [ErrBulkheadFull]. By default, 0: it fails at once.
	MaxWait time.Duration
	// Key splits the bulkhead: each key gets MaxConcurrent slots of its
	// own. By default, all requests share one bulkhead. Each key keeps its
	// semaphore for the policy's life, so keys should come from a bounded
	// set.
	Key func(*http.Request) string
	// RetryAfter is the hint [RetryAfter] returns for a rejection. By
	// default, 1 second.
	RetryAfter time.Duration
	// OnReject is called when a request is rejected.
	OnReject func(key string)
}

// Bulkhead returns the bulkhead policy: a cap on concurrent requests,
// optionally per key. The policy holds its semaphores: every [Transport]
// given the same policy value shares them, so the requests in flight
// through all of them together stay within the cap. It panics if cfg is
// invalid; see [BulkheadConfig.Validate].
func Bulkhead(cfg BulkheadConfig) Policy {
	mustValid(cfg.Validate())
	if cfg.RetryAfter == 0 {
		cfg.RetryAfter = time.Second
	}
	bs := &bulkheads{cfg: &cfg}
	return policyFunc(func(p *plan) { p.once("Bulkhead"); p.bulkhead, p.bulks = &cfg, bs })
}

// bulkheads holds one semaphore per key.
type bulkheads struct {
	cfg *BulkheadConfig
	m   sync.Map // string -> fsbulkhead.Bulkhead[any]
}

func (bs *bulkheads) get(key string) fsbulkhead.Bulkhead[any] {
	if b, ok := bs.m.Load(key); ok {
		return b.(fsbulkhead.Bulkhead[any])
	}
	b, _ := bs.m.LoadOrStore(key, fsbulkhead.New[any](uint(bs.cfg.MaxConcurrent)))
	return b.(fsbulkhead.Bulkhead[any])
}

// acquire takes a slot for req and returns the bulkhead to release it to.
func (bs *bulkheads) acquire(ctx context.Context, req *http.Request) (fsbulkhead.Bulkhead[any], error) {
	var key string
	if bs.cfg.Key != nil {
		key = bs.cfg.Key(req)
	}
	b := bs.get(key)
	if !b.TryAcquirePermit() {
		if bs.cfg.MaxWait == 0 {
			return nil, bs.reject(key)
		}
		if err := b.AcquirePermitWithMaxWait(ctx, bs.cfg.MaxWait); err != nil {
			if errors.Is(err, fsbulkhead.ErrFull) {
				return nil, bs.reject(key)
			}
			return nil, err
		}
	}
	return b, nil
}

func (bs *bulkheads) reject(key string) error {
	if bs.cfg.OnReject != nil {
		bs.cfg.OnReject(key)
	}
	return &Error{Kind: ErrBulkheadFull, Key: key, RetryAfter: bs.cfg.RetryAfter}
}
