package platform

import (
	"net/http"
	"sync/atomic"

	"github.com/portico-dev/portico/gateway/calllog"
	"github.com/portico-dev/portico/internal/problem"
	"github.com/portico-dev/portico/middleware"
)

// Guard returns the middleware that lets a request through to the routes
// of API api only when the API is callable and the caller holds an active
// subscription to it. Put it after authentication, which sets the
// consumer (middleware.ConsumerFrom):
//
//   - a draft API, or a tenant-only API of another tenant, answers 404;
//   - a retired API answers 410, and a deprecated one sends Deprecation
//     and Sunset headers (middleware.Lifecycle);
//   - an anonymous caller, a caller without a subscription, or one whose
//     subscription is rejected or revoked gets a 403 problem saying how to
//     subscribe; a pending subscription a 403 saying it awaits approval; a
//     suspended one a 403 saying so.
//
// The decision reads state cached in memory per store version, so it costs
// a fraction of a microsecond plus the version read; a change made through
// any replica is effective on the next request (see [WithRefresh] and
// [Platform.Run] for the trade-off on a cluster). When a [calllog.Middleware]
// runs outside, Guard fills the record's tenant, consumer and API.
func (p *Platform) Guard(api string) func(http.Handler) http.Handler {
	if err := checkID("api id", api); err != nil {
		panic("portico/platform: Guard: " + err.Error())
	}
	return func(next http.Handler) http.Handler {
		g := &guard{p: p, api: api, next: next}
		g.check = http.HandlerFunc(g.serveChecked)
		return g
	}
}

type guard struct {
	p     *Platform
	api   string
	next  http.Handler
	check http.Handler
	lc    atomic.Pointer[lifecycled] // the lifecycle wrapper for one API revision
}

type lifecycled struct {
	api *API
	h   http.Handler
}

func (g *guard) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s, err := g.p.state(r.Context())
	if err != nil {
		problem.Error(w, r, http.StatusServiceUnavailable, "the subscription store is unavailable; retry later")
		return
	}
	c := middleware.ConsumerFrom(r.Context())
	if rec := calllog.FromContext(r.Context()); rec != nil {
		rec.API = g.api
		if c != nil {
			rec.Tenant, rec.Consumer = c.Tenant, c.ID
		}
	}
	a := s.apis[g.api]
	if a == nil || a.State == Draft || (a.Visibility == TenantOnly && (c == nil || c.Tenant != a.Tenant)) {
		problem.Error(w, r, http.StatusNotFound, "no such API")
		return
	}
	if a.Deprecated.IsZero() && a.Sunset.IsZero() {
		g.check.ServeHTTP(w, r)
		return
	}
	l := g.lc.Load()
	if l == nil || l.api != a {
		l = &lifecycled{api: a, h: g.lifecycle(a)}
		g.lc.Store(l)
	}
	l.h.ServeHTTP(w, r)
}

// lifecycle wraps the check in middleware.Lifecycle for a's dates. The
// platform validates them when they are written; should a store hold dates
// Lifecycle refuses anyway, the API is served without the headers rather
// than failing every request (a retired one still answers 410).
func (g *guard) lifecycle(a *API) (h http.Handler) {
	defer func() {
		if v := recover(); v != nil {
			g.p.log.Error("platform: API lifecycle ignored", "api", a.ID, "error", v)
			h = g.check
			if a.State == Retired {
				h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					problem.Error(w, r, http.StatusGone, "API "+a.ID+" is retired")
				})
			}
		}
	}()
	return middleware.Lifecycle(middleware.LifecycleConfig{
		Deprecated: a.Deprecated, Sunset: a.Sunset, Successor: a.Successor, Now: g.p.now,
	})(g.check)
}

// serveChecked checks the subscription once the API is known to be callable.
func (g *guard) serveChecked(w http.ResponseWriter, r *http.Request) {
	s := g.p.cur.Load() // loaded by ServeHTTP
	c := middleware.ConsumerFrom(r.Context())
	if c == nil {
		problem.Write(w, r, problem.New(http.StatusForbidden,
			"API "+g.api+" needs a subscription: authenticate as a consumer, then subscribe").
			With("api", g.api).With("subscribe", g.p.subURL))
		return
	}
	sub := s.subs[subKey{c.ID, g.api}]
	if sub.tenant != c.Tenant {
		// A consumer of the same ID in another tenant (say, from a JWT
		// issuer) never borrows this subscription.
		sub.state = ""
	}
	switch sub.state {
	case Active:
		g.next.ServeHTTP(w, r)
	case Pending:
		problem.Write(w, r, problem.New(http.StatusForbidden,
			"your subscription to API "+g.api+" awaits approval by an administrator").
			With("api", g.api).With("subscription", string(Pending)))
	case Suspended:
		problem.Write(w, r, problem.New(http.StatusForbidden,
			"your subscription to API "+g.api+" is suspended; contact an administrator").
			With("api", g.api).With("subscription", string(Suspended)))
	default:
		problem.Write(w, r, problem.New(http.StatusForbidden,
			"API "+g.api+" needs a subscription: POST {\"api\":\""+g.api+"\"} to "+g.p.subURL+" to request one").
			With("api", g.api).With("subscribe", g.p.subURL))
	}
}
