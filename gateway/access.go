package gateway

import (
	"cmp"
	"net/http"
	"time"

	"github.com/portico-dev/portico/gateway/internal/fields"
	"github.com/portico-dev/portico/middleware/cache"
	"github.com/portico-dev/portico/middleware/ratelimit"
)

// Auth is what a route asks of its callers: who they must be
// (authentication) and what they must hold (authorization).
type Auth struct {
	// Methods names the authenticators tried, in order; the first that
	// succeeds identifies the consumer (any-of). Names are those of
	// [WithAuthenticator] and config.WithAuthMethods, plus "api_key" when
	// consumers hold keys. If empty, every authenticator the gateway has is
	// tried, in the order they were defined.
	Methods []string `yaml:"methods"`
	// Anonymous lets requests without any credential through, with no
	// consumer; a credential that is presented and fails is still refused.
	Anonymous bool `yaml:"anonymous"`
	// Scopes the consumer must hold; a consumer lacking one gets 403.
	Scopes []string `yaml:"scopes"`
	// Roles the consumer must hold.
	Roles []string `yaml:"roles"`
	// AnyScope is satisfied by any one of Scopes and Roles, instead of all.
	AnyScope bool `yaml:"any_scope"`
	// ForwardCredentials sends the credential that identified the caller
	// on to the upstream, for an upstream that checks the token itself.
	// By default, the gateway removes it from the upstream request: the
	// API key's header value or query parameter, the bearer token of a JWT
	// or introspection method, the platform's key. Other headers, and a
	// credential no authenticator accepted, are left alone.
	ForwardCredentials bool `yaml:"forward_credentials"`
}

// RateLimit is a token-bucket limit on a route: Requests per Per, with
// bursts of up to Burst. A request over the limit gets 429 with
// Retry-After; every response carries the RateLimit-Policy and RateLimit
// headers. Buckets live in the gateway's rate store (see [Stores]), in
// memory by default.
type RateLimit struct {
	// Name names the limit in the RateLimit headers and store keys.
	// If empty, the route's name is used.
	Name string `yaml:"name"`
	// Requests is how many requests (cost units) are allowed per Per.
	// It must be at least 1, unless Plans holds a limit for every caller.
	Requests int `yaml:"requests"`
	// Per is the window Requests is counted over. If zero, one second.
	Per time.Duration `yaml:"per"`
	// Burst is how many requests may arrive at once. If zero, Requests.
	Burst int `yaml:"burst"`
	// Key names the bucket a request counts against: "consumer" (the
	// authenticated consumer, else the client address: the default),
	// "ip", "api_key", "tenant", "route" (one bucket for all),
	// "header:<Name>" or a name registered with [WithKey].
	Key string `yaml:"key"`
	// Cost is what one request takes from the bucket. If zero, 1.
	Cost int `yaml:"cost"`
	// Plans holds limits by consumer plan, replacing Requests, Per and
	// Burst for consumers on that plan (in a config file: requests, per
	// and burst; requests at least 1).
	Plans map[string]ratelimit.Limit `yaml:"plans"`
}

// Quota caps what a caller may use per calendar day or month. A request
// over the quota gets 429 with Retry-After at the start of the next
// period. Counters live in the gateway's quota store (see [Stores]).
type Quota struct {
	// Name names the quota in headers and store keys. If empty, the
	// route's name is used.
	Name string `yaml:"name"`
	// Limit is how many requests (cost units) a caller may use per period.
	// It must be at least 1, unless Plans holds one for every caller.
	Limit int64 `yaml:"limit"`
	// Period is "day" (the default) or "month", in UTC.
	Period string `yaml:"period"`
	// Key names the counter, as [RateLimit].Key does. If empty,
	// "consumer": anonymous requests are not counted.
	Key string `yaml:"key"`
	// Cost is what one request uses. If zero, 1.
	Cost int `yaml:"cost"`
	// Plans holds limits by consumer plan.
	Plans map[string]int64 `yaml:"plans"`
}

// Stores holds the shared state behind rate limits, quotas, caches and
// idempotency keys. A nil store means an in-memory one, private to this
// gateway: set them (to the views of a redisstore.Store, say) to share
// limits between replicas.
type Stores struct {
	// Rates decides rate limits.
	Rates ratelimit.RateStore
	// Quotas counts quotas and AI budgets.
	Quotas ratelimit.QuotaStore
	// Windows holds the sliding windows of AI token and request limits.
	// If nil, they are in memory.
	Windows ratelimit.WindowStore
	// Cache holds cached responses. If nil, one in-memory cache of 64 MiB
	// is shared by every route. Either way each route's entries are its
	// own (see [Cache].Namespace).
	Cache cache.Store
	// Idempotency holds idempotency records. If nil, one in-memory store
	// is shared by every route.
	Idempotency cache.IdempotencyStore
	// FailClosed answers 503 while Rates, Quotas or Windows fails. By default
	// limits fail open: to an in-memory limiter at the per-replica share
	// of the limit, and quotas let requests through uncounted.
	FailClosed bool
	// Replicas is how many gateway replicas share the stores, so a
	// replica failing open allows its share of each limit. If zero, 1.
	Replicas int
}

// keyFunc turns a [RateLimit].Key into a ratelimit.KeyFunc, from the
// functions registered with [WithKey] or the built-in names.
func keyFunc(keys map[string]ratelimit.KeyFunc, key string) (ratelimit.KeyFunc, bool) {
	if fn, ok := keys[key]; ok && key != "" {
		return fn, true
	}
	switch key {
	case "", "consumer":
		return ratelimit.FirstOf(ratelimit.ByConsumer, ratelimit.ByIP), true
	case "ip":
		return ratelimit.ByIP, true
	case "api_key":
		return ratelimit.ByAPIKey, true
	case "tenant":
		return ratelimit.ByTenant, true
	case "route":
		return ratelimit.Shared, true
	}
	if name, ok := cutHeaderKey(key); ok {
		return ratelimit.ByHeader(name), true
	}
	return nil, false
}

func cutHeaderKey(key string) (string, bool) {
	const p = "header:"
	if len(key) > len(p) && key[:len(p)] == p && fields.ValidHeaderName(key[len(p):]) {
		return key[len(p):], true
	}
	return "", false
}

const keyHelp = `use "consumer", "ip", "api_key", "tenant", "route", "header:<Name>" or a name registered with WithKey`

// rateLimit builds the middleware of a route's rate limit. Without a
// shared store, its buckets are the state's, kept while the route's
// identity (rid) and its rate_limit section are unchanged.
func (g *Gateway) rateLimit(name, rid string, p RateLimit) func(http.Handler) http.Handler {
	key, _ := keyFunc(g.cfg.keys, p.Key)
	store := g.cfg.stores.Rates
	if store == nil {
		store = keep(g, pieceKey("rate_limit", rid, p), func() *ratelimit.MemoryRates {
			return ratelimit.NewMemoryRates(ratelimit.MemoryRatesConfig{Now: g.cfg.clock})
		})
	}
	cfg := ratelimit.Config{
		Name:       cmp.Or(p.Name, name),
		Limit:      ratelimit.Limit{Requests: p.Requests, Period: p.Per, Burst: p.Burst},
		Key:        key,
		Store:      store,
		FailClosed: g.cfg.stores.FailClosed,
		Replicas:   g.cfg.stores.Replicas,
		Now:        g.cfg.clock,
		Logger:     g.cfg.logger,
	}
	if p.Requests == 0 {
		// Only plans: a caller on no plan is not limited.
		cfg.Limit = ratelimit.Limit{Requests: 1 << 30}
	}
	if p.Cost > 1 {
		cost := p.Cost
		cfg.Cost = func(*http.Request) int { return cost }
	}
	if len(p.Plans) > 0 {
		cfg.Plans = map[string]ratelimit.Limit{}
		for plan, r := range p.Plans {
			cfg.Plans[plan] = r
		}
	}
	return ratelimit.New(cfg)
}

// quota configures a route's quota. Without a shared store, its
// counters are the state's, kept while the route's identity (rid) and its
// quota section are unchanged.
func (g *Gateway) quota(name, rid string, q Quota) ratelimit.QuotaConfig {
	key := ratelimit.KeyFunc(ratelimit.ByConsumer)
	if q.Key != "" {
		key, _ = keyFunc(g.cfg.keys, q.Key)
	}
	store := g.cfg.stores.Quotas
	if store == nil {
		store = keep(g, pieceKey("quota", rid, q), func() *ratelimit.MemoryCounters {
			return ratelimit.NewMemoryCounters(g.cfg.clock)
		})
	}
	cfg := ratelimit.QuotaConfig{
		Name:       cmp.Or(q.Name, name),
		Limit:      q.Limit,
		Plans:      q.Plans,
		Key:        key,
		Store:      store,
		FailClosed: g.cfg.stores.FailClosed,
		Now:        g.cfg.clock,
		Logger:     g.cfg.logger,
	}
	if q.Limit == 0 {
		cfg.Limit = 1 << 62
	}
	if q.Period == "month" {
		cfg.Period = ratelimit.Month
	}
	if q.Cost > 1 {
		cost := q.Cost
		cfg.Cost = func(*http.Request) int { return cost }
	}
	return cfg
}

func checkLimits(errs fields.Collector, p Policy, keys map[string]ratelimit.KeyFunc) {
	if l := p.RateLimit; l != nil {
		if l.Requests < 0 || (l.Requests == 0 && len(l.Plans) == 0) {
			errs.Addf("rate_limit.requests", "must be at least 1, got %d", l.Requests)
		}
		if l.Per < 0 {
			errs.Addf("rate_limit.per", "must not be negative, got %s", l.Per)
		}
		if l.Burst < 0 {
			errs.Addf("rate_limit.burst", "must not be negative")
		}
		if l.Cost < 0 {
			errs.Addf("rate_limit.cost", "must not be negative")
		}
		if _, ok := keyFunc(keys, l.Key); !ok {
			errs.Addf("rate_limit.key", "%q is not a key; %s", l.Key, keyHelp)
		}
		for _, plan := range fields.SortedKeys(l.Plans) {
			r := l.Plans[plan]
			if r.Requests < 1 {
				errs.Addf("rate_limit.plans."+plan+".requests", "must be at least 1, got %d", r.Requests)
			}
			if r.Period < 0 || r.Burst < 0 {
				errs.Addf("rate_limit.plans."+plan, "per and burst must not be negative")
			}
		}
	}
	if q := p.Quota; q != nil {
		if q.Limit < 0 || (q.Limit == 0 && len(q.Plans) == 0) {
			errs.Addf("quota.limit", "must be at least 1, got %d", q.Limit)
		}
		if q.Period != "" && q.Period != "day" && q.Period != "month" {
			errs.Addf("quota.period", "%q is not a period; use \"day\" or \"month\"", q.Period)
		}
		if _, ok := keyFunc(keys, q.Key); !ok {
			errs.Addf("quota.key", "%q is not a key; %s", q.Key, keyHelp)
		}
		if q.Cost < 0 {
			errs.Addf("quota.cost", "must not be negative")
		}
		for _, plan := range fields.SortedKeys(q.Plans) {
			if q.Plans[plan] < 1 {
				errs.Addf("quota.plans."+plan, "must be at least 1, got %d", q.Plans[plan])
			}
		}
	}
}
