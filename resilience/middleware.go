package resilience

import (
	"cmp"
	"context"
	"errors"
	"math"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	fsadaptive "github.com/failsafe-go/failsafe-go/adaptivelimiter"
	fsbulkhead "github.com/failsafe-go/failsafe-go/bulkhead"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/portico-dev/portico/internal/problem"
)

// AdmissionConfig configures [Middleware]. The zero value admits every
// request; set MaxConcurrent, Adaptive or PerKey to limit.
type AdmissionConfig struct {
	// MaxConcurrent caps the requests being served at once; beyond it
	// requests are rejected with 503. By default, no fixed cap.
	MaxConcurrent int
	// Adaptive adds an adaptive concurrency limit that lowers itself when
	// latency rises above its baseline and raises itself when it falls;
	// beyond it requests are rejected with 503. By default, none.
	Adaptive *AdaptiveConfig
	// MaxWait is how long a request may queue for a slot of MaxConcurrent
	// or Adaptive before it is rejected. By default, 0: at once. PerKey
	// never queues.
	MaxWait time.Duration
	// Key and PerKey cap the requests each key (such as a consumer or a
	// client address) has in flight; beyond it requests are rejected with
	// 429, since the caller, not the server, is over its share. Both must
	// be set, or neither. Only keys with requests in flight take memory.
	Key    func(*http.Request) string
	PerKey int
	// Critical and ShedAt shed load: once in-flight requests reach ShedAt
	// (a fraction in (0, 1]) of the limit (MaxConcurrent, or the current
	// adaptive limit), requests for which Critical returns false are
	// rejected with 503 so the remaining capacity serves critical ones
	// (health checks, paying tenants, writes in progress...). Both must
	// be set, or neither.
	Critical func(*http.Request) bool
	ShedAt   float64
	// RetryAfter is the Retry-After sent with a rejection, rounded up to
	// whole seconds. By default, 1 second.
	RetryAfter time.Duration
	// OnReject is called for every rejected request with the reason: an
	// error matching [ErrLimitExceeded], [ErrShed] or [ErrBulkheadFull].
	OnReject func(r *http.Request, err error)
	// MeterProvider receives the portico.resilience.admission.rejections
	// counter (by reason: limit, shed, per_key). By default, the global
	// provider.
	MeterProvider metric.MeterProvider
}

// AdaptiveConfig configures the adaptive concurrency limit of
// [AdmissionConfig]. The zero value is usable.
type AdaptiveConfig struct {
	// MinLimit, MaxLimit and InitialLimit bound the limit. By default, 1,
	// 200 and 20.
	MinLimit, MaxLimit, InitialLimit int
	// MaxLimitFactor keeps the limit at most this multiple of the
	// requests actually in flight, so an idle server does not grant a
	// burst a huge limit. By default, 5.
	MaxLimitFactor float64
	// Window is the shortest period latencies are sampled over before the
	// limit is adjusted, and MinSamples the fewest samples. By default,
	// 1 second and 50.
	Window     time.Duration
	MinSamples int
	// Quantile of the sampled latencies compared with the baseline. By
	// default, 0.9.
	Quantile float64
	// OnLimitChange is called when the limit changes.
	OnLimitChange func(old, new int)
}

// Middleware returns server-side admission control: it never retries,
// it only decides, before calling the next handler, whether there is room
// for the request. A rejected request gets an application/problem+json
// response, 503 (or 429 for PerKey) with Retry-After. It panics if cfg is
// invalid; see [AdmissionConfig.Validate].
//
// The checks run in this order: per-key cap, load shedding, fixed cap,
// adaptive limit.
func Middleware(cfg AdmissionConfig) func(http.Handler) http.Handler {
	a := newAdmission(cfg)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { a.serve(w, r, next) })
	}
}

type admission struct {
	cfg      AdmissionConfig
	fixed    fsbulkhead.Bulkhead[any]
	adaptive fsadaptive.AdaptiveLimiter[any]
	perKey   *keyCounts
	inflight atomic.Int64
	retry    string
	rejected metric.Int64Counter
}

func newAdmission(cfg AdmissionConfig) *admission {
	mustValid(cfg.Validate())
	if cfg.RetryAfter == 0 {
		cfg.RetryAfter = time.Second
	}
	a := &admission{cfg: cfg, retry: strconv.Itoa(int(math.Ceil(cfg.RetryAfter.Seconds())))}
	if cfg.MaxConcurrent > 0 {
		a.fixed = fsbulkhead.New[any](uint(cfg.MaxConcurrent))
	}
	if cfg.Adaptive != nil {
		a.adaptive = cfg.Adaptive.build()
	}
	if cfg.PerKey > 0 {
		a.perKey = &keyCounts{max: cfg.PerKey, m: make(map[string]int)}
	}
	mp := cfg.MeterProvider
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	m := mp.Meter("github.com/portico-dev/portico/resilience")
	a.rejected, _ = m.Int64Counter("portico.resilience.admission.rejections",
		metric.WithDescription("Requests rejected by admission control."), metric.WithUnit("{request}"))
	return a
}

func (c *AdaptiveConfig) build() fsadaptive.AdaptiveLimiter[any] {
	lo, hi, init := cmp.Or(c.MinLimit, 1), cmp.Or(c.MaxLimit, 200), cmp.Or(c.InitialLimit, 20)
	b := fsadaptive.NewBuilder[any]().
		WithLimits(uint(lo), uint(hi), uint(init)).
		WithMaxLimitFactor(cmp.Or(c.MaxLimitFactor, 5)).
		WithRecentQuantile(cmp.Or(c.Quantile, 0.9))
	w := c.Window
	if w == 0 {
		w = time.Second
	}
	b = b.WithRecentWindow(w, max(w, 30*time.Second), uint(cmp.Or(c.MinSamples, 50)))
	if c.OnLimitChange != nil {
		f := c.OnLimitChange
		b = b.OnLimitChanged(func(e fsadaptive.LimitChangedEvent) { f(int(e.OldLimit), int(e.NewLimit)) })
	}
	return b.Build()
}

func (a *admission) serve(w http.ResponseWriter, r *http.Request, next http.Handler) {
	ctx := r.Context()
	if a.cfg.Key != nil {
		key := a.cfg.Key(r)
		if !a.perKey.acquire(key) {
			a.reject(w, r, http.StatusTooManyRequests, &Error{Kind: ErrBulkheadFull, RetryAfter: a.cfg.RetryAfter},
				"too many concurrent requests from this client")
			return
		}
		defer a.perKey.release(key)
	}
	if a.cfg.Critical != nil && !a.cfg.Critical(r) {
		limit := a.cfg.MaxConcurrent
		if a.adaptive != nil {
			limit = a.adaptive.Limit()
		}
		if float64(a.inflight.Load()) >= a.cfg.ShedAt*float64(limit) {
			a.reject(w, r, http.StatusServiceUnavailable, &Error{Kind: ErrShed, RetryAfter: a.cfg.RetryAfter},
				"the server is shedding load")
			return
		}
	}
	if a.fixed != nil {
		if !a.take(ctx, a.fixed) {
			a.reject(w, r, http.StatusServiceUnavailable, &Error{Kind: ErrLimitExceeded, RetryAfter: a.cfg.RetryAfter},
				"the server is at capacity")
			return
		}
		defer a.fixed.ReleasePermit()
	}
	if a.adaptive != nil {
		var permit fsadaptive.Permit
		var err error
		if a.cfg.MaxWait > 0 {
			permit, err = a.adaptive.AcquirePermitWithMaxWait(ctx, a.cfg.MaxWait)
		} else if p, ok := a.adaptive.TryAcquirePermit(); ok {
			permit = p
		} else {
			err = fsadaptive.ErrExceeded
		}
		if err != nil {
			if ctx.Err() != nil {
				return // the client left while queued
			}
			a.reject(w, r, http.StatusServiceUnavailable, &Error{Kind: ErrLimitExceeded, RetryAfter: a.cfg.RetryAfter, Err: err},
				"the server is at capacity")
			return
		}
		defer func() {
			if ctx.Err() != nil {
				permit.Drop() // a cancelled request says nothing about latency
			} else {
				permit.Record()
			}
		}()
	}
	a.inflight.Add(1)
	defer a.inflight.Add(-1)
	next.ServeHTTP(w, r)
}

// take acquires a permit of b, waiting up to MaxWait.
func (a *admission) take(ctx context.Context, b fsbulkhead.Bulkhead[any]) bool {
	if b.TryAcquirePermit() {
		return true
	}
	if a.cfg.MaxWait == 0 {
		return false
	}
	err := b.AcquirePermitWithMaxWait(ctx, a.cfg.MaxWait)
	return err == nil
}

func (a *admission) reject(w http.ResponseWriter, r *http.Request, status int, err *Error, detail string) {
	if a.cfg.OnReject != nil {
		a.cfg.OnReject(r, err)
	}
	reason := "limit"
	switch {
	case errors.Is(err, ErrShed):
		reason = "shed"
	case errors.Is(err, ErrBulkheadFull):
		reason = "per_key"
	}
	a.rejected.Add(r.Context(), 1, metric.WithAttributes(attribute.String("portico.reason", reason)))
	w.Header().Set("Retry-After", a.retry)
	problem.Write(w, r, problem.New(status, detail))
}

// keyCounts counts requests in flight per key; a key with none is
// forgotten, so memory follows concurrency, not the number of clients.
type keyCounts struct {
	max int
	mu  sync.Mutex
	m   map[string]int
}

func (k *keyCounts) acquire(key string) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.m[key] >= k.max {
		return false
	}
	k.m[key]++
	return true
}

func (k *keyCounts) release(key string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.m[key] <= 1 {
		delete(k.m, key)
		return
	}
	k.m[key]--
}
