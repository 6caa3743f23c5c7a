package ratelimit

import (
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/portico-dev/portico/internal/problem"
	"github.com/portico-dev/portico/middleware"
	"github.com/portico-dev/portico/middleware/internal/store"
)

// Config configures [New]. Limit is required.
type Config struct {
	// Name names the policy in the RateLimit-Policy and RateLimit headers
	// and in store keys. If empty, "default" is used.
	Name string
	// Limit applies to every key, unless Plans holds one for the
	// consumer's plan.
	Limit Limit
	// Plans holds limits by [middleware.Consumer.Plan].
	Plans map[string]Limit
	// Key names the bucket of a request. If nil,
	// FirstOf(ByConsumer, ByIP) is used.
	Key KeyFunc
	// Cost returns the cost of a request. If nil, every request costs 1.
	Cost func(r *http.Request) int
	// Store decides. If nil, a private [MemoryRates] with MaxKeys buckets
	// is used. Keys sent to a Store are prefixed with Name and ":".
	Store RateStore
	// MaxKeys bounds the buckets of the default in-memory store and of the
	// fail-open fallback. If zero, 100,000 is used.
	MaxKeys int
	// FailClosed answers 503 while Store is failing. By default the
	// limiter fails open: it falls back to an in-memory limiter at the
	// per-replica share of the limit (see Replicas).
	FailClosed bool
	// Replicas is how many gateway replicas share Store; when failing open
	// each one allows Limit.Share(Replicas). If zero, 1 is used.
	Replicas int
	// RetryStore is how long a failing Store is bypassed before it is
	// tried again. If zero, one second is used.
	RetryStore time.Duration
	// HideHeaders omits the RateLimit-Policy and RateLimit headers from
	// responses that were allowed; 429 responses always carry them.
	HideHeaders bool
	// Now returns the current time. If nil, time.Now is used.
	Now func() time.Time
	// Logger receives store failures at warn level. If nil, nothing is logged.
	Logger *slog.Logger
}

type limiter struct {
	cfg        Config
	store      RateStore
	shared     bool
	prefix     string
	fallback   *MemoryRates
	policies   map[string][]string // plan ("" = default) -> RateLimit-Policy value
	name       string
	downUntil  atomic.Int64 // unix nanoseconds until which Store is bypassed
	retryStore time.Duration
}

// New returns middleware that limits requests per key with token
// buckets, answering a 429 problem with Retry-After when a bucket is
// empty. Responses carry the RateLimit-Policy and RateLimit headers of the
// IETF httpapi rate-limit headers draft, for example
//
//	RateLimit-Policy: "default";q=100;w=60
//	RateLimit: "default";r=42;t=35
//
// It panics if the limit is not positive.
func New(cfg Config) func(http.Handler) http.Handler {
	l := newLimiter(cfg)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if l.serve(w, r) {
				next.ServeHTTP(w, r)
			}
		})
	}
}

func checkLimit(what string, l Limit) {
	if l.Requests <= 0 || l.Period < 0 || l.Burst < 0 {
		panic("portico/ratelimit: " + what + " needs Requests > 0 and no negative Period or Burst")
	}
}

func newLimiter(cfg Config) *limiter {
	checkLimit("Config.Limit", cfg.Limit)
	if cfg.Name == "" {
		cfg.Name = "default"
	}
	if cfg.Key == nil {
		cfg.Key = FirstOf(ByConsumer, ByIP)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.RetryStore <= 0 {
		cfg.RetryStore = time.Second
	}
	cfg.Limit = cfg.Limit.Normalize()
	plans := make(map[string]Limit, len(cfg.Plans))
	l := &limiter{cfg: cfg, name: strconv.Quote(cfg.Name), retryStore: cfg.RetryStore}
	l.policies = map[string][]string{"": {l.policy(cfg.Limit)}}
	for p, lim := range cfg.Plans {
		checkLimit("Config plan "+p, lim)
		plans[p] = lim.Normalize()
		l.policies[p] = []string{l.policy(plans[p])}
	}
	l.cfg.Plans = plans
	local := MemoryRatesConfig{MaxKeys: cfg.MaxKeys, Now: cfg.Now}
	if cfg.Store == nil {
		l.store = NewMemoryRates(local)
	} else {
		l.store, l.shared, l.prefix = cfg.Store, true, cfg.Name+":"
		if !cfg.FailClosed {
			l.fallback = NewMemoryRates(local)
		}
	}
	return l
}

func (l *limiter) policy(lim Limit) string {
	return l.name + ";q=" + strconv.Itoa(lim.Requests) + ";w=" + strconv.Itoa(int(math.Ceil(lim.Period.Seconds())))
}

// limitFor returns the limit and policy header of a request.
func (l *limiter) limitFor(r *http.Request) (Limit, []string) {
	if len(l.cfg.Plans) > 0 {
		if c := middleware.ConsumerFrom(r.Context()); c != nil {
			if lim, ok := l.cfg.Plans[c.Plan]; ok {
				return lim, l.policies[c.Plan]
			}
		}
	}
	return l.cfg.Limit, l.policies[""]
}

// serve decides a request and reports whether it may proceed; if not, the
// response has been written.
func (l *limiter) serve(w http.ResponseWriter, r *http.Request) bool {
	key := l.cfg.Key(r)
	if key == "" {
		return true
	}
	cost := 1
	if l.cfg.Cost != nil {
		cost = l.cfg.Cost(r)
		if cost <= 0 {
			return true
		}
	}
	lim, policy := l.limitFor(r)
	d, ok := l.decide(r, key, lim, cost)
	if !ok {
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(l.retryStore.Seconds()))))
		problem.Error(w, r, http.StatusServiceUnavailable, "The rate limiter is unavailable.")
		return false
	}
	h := w.Header()
	if !d.Allowed || !l.cfg.HideHeaders {
		if _, ok := h["Ratelimit-Policy"]; ok {
			addHeader(h, "Ratelimit-Policy", policy[0])
		} else {
			h["Ratelimit-Policy"] = policy[:1:1] // shared, and cap 1 makes appends copy
		}
		var buf [96]byte
		b := append(append(buf[:0], l.name...), ";r="...)
		b = append(strconv.AppendInt(b, int64(d.Remaining), 10), ";t="...)
		addHeader(h, "Ratelimit", string(strconv.AppendInt(b, int64(ceilSeconds(d.Reset)), 10)))
	}
	if d.Allowed {
		return true
	}
	retry := max(1, ceilSeconds(d.RetryAfter))
	h.Set("Retry-After", strconv.Itoa(retry))
	problem.Write(w, r, problem.New(http.StatusTooManyRequests, "Rate limit exceeded; retry later.").
		With("policy", l.cfg.Name).With("retry_after", retry))
	return false
}

// decide asks the store, falling back while it fails. ok is false when
// the store failed and the limiter fails closed.
func (l *limiter) decide(r *http.Request, key string, lim Limit, cost int) (Decision, bool) {
	if !l.shared {
		d, _ := l.store.Take(r.Context(), key, lim, cost)
		return d, true
	}
	now := l.cfg.Now()
	if now.UnixNano() >= l.downUntil.Load() {
		d, err := l.store.Take(r.Context(), l.prefix+key, lim, cost)
		if err == nil {
			return d, true
		}
		if r.Context().Err() != nil {
			// The client went away; that says nothing about the store.
			return Decision{}, false
		}
		l.downUntil.Store(now.Add(l.retryStore).UnixNano())
		store.LogError(r.Context(), l.cfg.Logger, slog.LevelWarn, "rate-limit store failed", err,
			slog.String("policy", l.cfg.Name), slog.Bool("fail_closed", l.cfg.FailClosed))
	}
	if l.fallback == nil {
		return Decision{}, false
	}
	d, _ := l.fallback.Take(r.Context(), key, lim.Share(l.cfg.Replicas), cost)
	return d, true
}

func ceilSeconds(d time.Duration) int {
	return int((d + time.Second - 1) / time.Second)
}
