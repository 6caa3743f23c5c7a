package ratelimit

import (
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/portico-dev/portico/internal/problem"
	"github.com/portico-dev/portico/middleware"
	"github.com/portico-dev/portico/middleware/internal/store"
)

// Period is the calendar period a quota counts over.
type Period int

// Quota periods. A period starts at midnight (Day) or on the first of the
// month (Month) in [QuotaConfig.Location].
const (
	Day Period = iota
	Month
)

// bounds returns the start of the period holding t and the start of the next.
func (p Period) bounds(t time.Time) (start, end time.Time) {
	y, m, d := t.Date()
	if p == Month {
		start = time.Date(y, m, 1, 0, 0, 0, 0, t.Location())
		return start, start.AddDate(0, 1, 0)
	}
	start = time.Date(y, m, d, 0, 0, 0, 0, t.Location())
	return start, start.AddDate(0, 0, 1)
}

// QuotaConfig configures [Quota]. Limit is required.
type QuotaConfig struct {
	// Name names the quota in headers and store keys. If empty, "quota" is used.
	Name string
	// Limit is how many requests (cost units) a key may use per period.
	Limit int64
	// Plans holds limits by [middleware.Consumer.Plan].
	Plans map[string]int64
	// Period is Day (the default) or Month.
	Period Period
	// Location sets where days and months begin. If nil, UTC is used.
	Location *time.Location
	// Key names the counter of a request. If nil, [ByConsumer] is used,
	// so anonymous requests are not counted.
	Key KeyFunc
	// Cost returns the cost of a request. If nil, every request costs 1.
	Cost func(r *http.Request) int
	// Store holds the counters. If nil, a private [MemoryCounters] is used.
	// Keys sent to it are Name, the key and the period, joined by ":".
	Store QuotaStore
	// FailClosed answers 503 while Store is failing. By default requests
	// are let through uncounted.
	FailClosed bool
	// Now returns the current time. If nil, time.Now is used.
	Now func() time.Time
	// Logger receives store failures at warn level. If nil, nothing is logged.
	Logger *slog.Logger
}

// Quota returns middleware that counts requests per key per calendar day
// or month and answers a 429 problem, with Retry-After and the reset time,
// once the quota is used up. Requests refused by the quota are not
// counted. Responses carry the quota in the RateLimit-Policy and RateLimit
// headers, next to any rate limit.
//
// It panics if Limit is not positive.
func Quota(cfg QuotaConfig) func(http.Handler) http.Handler {
	if cfg.Limit <= 0 {
		panic("portico/ratelimit: Quota needs a Limit > 0")
	}
	for p, n := range cfg.Plans {
		if n <= 0 {
			panic("portico/ratelimit: Quota plan " + p + " needs a limit > 0")
		}
	}
	cfg = cfg.withDefaults()
	if cfg.Store == nil {
		cfg.Store = NewMemoryCounters(cfg.Now)
	}
	name := strconv.Quote(cfg.Name)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			key := cfg.Key(r)
			if key == "" {
				next.ServeHTTP(w, r)
				return
			}
			var cost int64 = 1
			if cfg.Cost != nil {
				if cost = int64(cfg.Cost(r)); cost <= 0 {
					next.ServeHTTP(w, r)
					return
				}
			}
			counter, limit, now, start, end := cfg.counter(r, key)
			used, ok, err := cfg.Store.Add(r.Context(), counter, cost, limit, end)
			if err != nil {
				store.LogError(r.Context(), cfg.Logger, slog.LevelWarn, "quota store failed", err,
					slog.String("quota", cfg.Name), slog.Bool("fail_closed", cfg.FailClosed))
				if cfg.FailClosed {
					w.Header().Set("Retry-After", "1")
					problem.Error(w, r, http.StatusServiceUnavailable, "The quota service is unavailable.")
					return
				}
				next.ServeHTTP(w, r)
				return
			}
			reset := ceilSeconds(end.Sub(now))
			h := w.Header()
			addHeader(h, "Ratelimit-Policy", name+";q="+strconv.FormatInt(limit, 10)+";w="+strconv.Itoa(int(end.Sub(start)/time.Second)))
			addHeader(h, "Ratelimit", name+";r="+strconv.FormatInt(max(0, limit-used), 10)+";t="+strconv.Itoa(reset))
			if ok {
				next.ServeHTTP(w, r)
				return
			}
			h.Set("Retry-After", strconv.Itoa(reset))
			problem.Write(w, r, problem.New(http.StatusTooManyRequests, "Quota exhausted until the reset time.").
				With("quota", cfg.Name).With("reset", end.UTC().Format(time.RFC3339)))
		})
	}
}

// withDefaults fills in the defaults of the fields left zero, but Store.
func (cfg QuotaConfig) withDefaults() QuotaConfig {
	if cfg.Name == "" {
		cfg.Name = "quota"
	}
	if cfg.Location == nil {
		cfg.Location = time.UTC
	}
	if cfg.Key == nil {
		cfg.Key = ByConsumer
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return cfg
}

// counter names the store counter of key for r's period, with the limit
// that applies to r's consumer, the time and the period's bounds.
func (cfg QuotaConfig) counter(r *http.Request, key string) (counter string, limit int64, now, start, end time.Time) {
	limit = cfg.Limit
	if c := middleware.ConsumerFrom(r.Context()); c != nil {
		if n, ok := cfg.Plans[c.Plan]; ok {
			limit = n
		}
	}
	now = cfg.Now().In(cfg.Location)
	start, end = cfg.Period.bounds(now)
	layout := "20060102"
	if cfg.Period == Month {
		layout = "200601"
	}
	return cfg.Name + ":" + key + ":" + start.Format(layout), limit, now, start, end
}

// QuotaState is what a key has left of a quota in the current period
// ([QuotaLeft]).
type QuotaState struct {
	// Name is the quota's name in the RateLimit headers.
	Name   string
	Period Period
	// Limit is what applies to the request's consumer (its plan's, if
	// any), Used what the key has used and Left what remains.
	Limit, Used, Left int64
	// Resets is when the period ends.
	Resets time.Time
}

// QuotaLeft reads, without counting r, the state of r's key in the quota
// cfg describes; ok is false when r has no key (an anonymous request) or
// cfg has no Store. A portal uses it to show consumers what they have
// left.
func QuotaLeft(cfg QuotaConfig, r *http.Request) (s QuotaState, ok bool, err error) {
	cfg = cfg.withDefaults()
	key := cfg.Key(r)
	if key == "" || cfg.Store == nil {
		return QuotaState{}, false, nil
	}
	counter, limit, _, _, end := cfg.counter(r, key)
	used, _, err := cfg.Store.Add(r.Context(), counter, 0, limit, end)
	if err != nil {
		return QuotaState{}, false, err
	}
	return QuotaState{Name: cfg.Name, Period: cfg.Period, Limit: limit, Used: used, Left: max(0, limit-used), Resets: end}, true, nil
}

// addHeader appends v to the list in header k without disturbing a
// shared slice already stored there.
func addHeader(h http.Header, k, v string) {
	old := h[k]
	if len(old) == 0 {
		h[k] = []string{v}
		return
	}
	h[k] = append(old[:len(old):len(old)], v)
}
