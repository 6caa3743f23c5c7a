package gateway

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/portico-dev/portico/gateway/internal/fields"
	"github.com/portico-dev/portico/internal/pathnorm"
	"github.com/portico-dev/portico/middleware/auth"
)

// Upstream is where a route sends requests: an http.RoundTripper with a
// name that routes refer to. It receives requests whose URL host is its
// name and points them at one of its instances; *upstream.Pool is the
// usual implementation. An Upstream may also implement
// Start(context.Context), Ready() bool and io.Closer, which the gateway
// calls, and Status() returning a JSON-encodable value for /upstreams.
type Upstream interface {
	http.RoundTripper
	Name() string
}

// Gateway routes requests to upstreams. It is an immutable http.Handler,
// safe for concurrent use; a new configuration means a new Gateway,
// swapped in with a config.Reloader.
type Gateway struct {
	cfg       config
	quotas    []routeQuota // the routes' quotas, for QuotaLeft
	table     *table
	routes    []*route
	upstreams []Upstream
	byName    map[string]Upstream
	handler   http.Handler
	refuser   http.Handler // the global chain around refuse
	pathMode  pathnorm.Mode
	buffers   *bufferPool
	mirrors   sync.WaitGroup
	inflight  atomic.Int64
	started   atomic.Bool
	closers   []io.Closer // the routes' resilience transports
	rctxs     sync.Pool   // *chi.Context for route lookups
	closeOnce sync.Once
	closeErr  error

	auths     map[string]auth.Authenticator
	authOrder []string
	stateErr  error // borrowing from a closed state
	identity  func(http.Handler) http.Handler
	mws       *registry

	// What the parts added (see Part).
	guard     func(api string) func(http.Handler) http.Handler
	endpoints []Endpoint
	notFound  []fallback
	admin     map[string]http.Handler
	onStart   []func(context.Context)
}

// New builds a gateway from options, validating the whole configuration:
// the error is a [FieldError], or several joined with errors.Join, each
// naming the field at fault.
func New(opts ...Option) (*Gateway, error) {
	g := &Gateway{buffers: newBufferPool(), byName: map[string]Upstream{}}
	g.rctxs.New = func() any { return chi.NewRouteContext() }
	for _, o := range opts {
		if o != nil {
			o.apply(&g.cfg)
		}
	}
	if g.cfg.logger == nil {
		g.cfg.logger = slog.Default()
	}
	if g.cfg.lease == nil {
		st, own := g.cfg.state, false
		if st == nil {
			st, own = NewState(), true
		}
		g.cfg.lease = st.lease(own)
	}
	g.stateErr = g.cfg.lease.st.err()
	if err := g.build(); err != nil {
		for _, c := range g.closers {
			_ = c.Close()
		}
		_ = g.cfg.lease.release()
		return nil, err
	}
	return g, nil
}

func (g *Gateway) build() error {
	c := &g.cfg
	b := &Builder{g: g}
	perrs := g.prepareParts(b)
	errs := append(append([]error(nil), c.errs...), perrs...)
	var err error
	if g.pathMode, err = c.pathMode(); err != nil {
		errs = append(errs, err)
	}
	for i, u := range c.upstreams {
		if u == nil {
			errs = append(errs, fieldErr(fields.Index("upstreams", i), "is nil"))
			continue
		}
		if _, dup := g.byName[u.Name()]; dup {
			errs = append(errs, fieldErr(fields.Index("upstreams", i)+".name", "%q is defined twice; upstream names must be unique", u.Name()))
			continue
		}
		g.byName[u.Name()] = u
		g.upstreams = append(g.upstreams, u)
	}
	errs = append(errs, g.buildAuth()...)
	mws := builtins(c)
	g.mws = mws
	for _, name := range c.chain {
		if !mws.has(name) {
			errs = append(errs, fieldErr("middleware", "%q is not a registered middleware (known: %s)", name, mws.names()))
		}
	}
	for i := range c.routes {
		rt, err := g.compileRoute(fields.Index("routes", i), c.routes[i], mws)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		g.routes = append(g.routes, rt)
		// A reload builds beside a serving gateway: yield between
		// routes so that a large table does not hold a processor
		// the requests in flight are waiting for.
		runtime.Gosched()
	}
	errs = append(errs, g.mountParts(b)...)
	errs = append(errs, g.mountEndpoints()...)
	if g.stateErr != nil {
		errs = append(errs, g.stateErr)
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	g.table = newTable(g.routes)
	g.handler = wrapChain(c.chain, mws, http.HandlerFunc(g.route))
	g.refuser = wrapChain(c.chain, mws, http.HandlerFunc(refuse))
	return nil
}

// ServeHTTP normalizes r's path (see [PathNormalization]), then routes r
// and proxies it to the route's upstream.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g.inflight.Add(1)
	defer g.inflight.Add(-1)
	n, ref := g.normalize(r)
	if ref != nil {
		g.serveRefused(w, r, ref)
		return
	}
	g.handler.ServeHTTP(w, n)
}

// route is the innermost handler of the global chain.
func (g *Gateway) route(w http.ResponseWriter, r *http.Request) {
	rctx := g.rctxs.Get().(*chi.Context)
	res := g.table.lookup(rctx, r)
	if res.route == nil {
		g.rctxs.Put(rctx)
		for _, f := range g.notFound {
			if underPrefix(r.URL.Path, f.prefix) {
				// OpenAI's and Anthropic's clients expect their own 404.
				f.h.ServeHTTP(w, r)
				return
			}
		}
		if len(res.allow) > 0 {
			w.Header().Set("Allow", strings.Join(res.allow, ", "))
			writeProblem(w, r, http.StatusMethodNotAllowed, "the route does not accept method "+r.Method)
			return
		}
		writeProblem(w, r, http.StatusNotFound, "no route matches the request")
		return
	}
	r = r.WithContext(withRoute(r.Context(), rctx, res.pattern))
	g.rctxs.Put(rctx)
	setRoutePattern(r, res.pattern)
	res.route.handler.ServeHTTP(w, r)
}

// Lookup reports which route would serve r, by name, without serving it;
// ok is false when none matches (a 404 or 405) or r is refused before
// routing (see [PathNormalization]). The endpoints the gateway serves
// itself are routes too (see [RouteInfo].Kind and [Endpoint]), such as
// "ai POST /v1/chat/completions", "prompt <name>" and "portal".
func (g *Gateway) Lookup(r *http.Request) (route string, ok bool) {
	r, ref := g.normalize(r)
	if ref != nil {
		return "", false
	}
	rctx := g.rctxs.Get().(*chi.Context)
	defer g.rctxs.Put(rctx)
	res := g.table.lookup(rctx, r)
	if res.route == nil {
		return "", false
	}
	return res.route.name, true
}

// Start starts the upstreams' health checks and discovery, and what the
// parts asked to start (see [Builder.OnStart]), such as a platform's
// change feed. It returns at once; ctx
// bounds their lifetime, as does [Gateway.Close], except for the pools a
// configuration file's build borrowed from a shared [State] ([WithState]):
// those were started once, by the first gateway that used them, and run
// for as long as the state holds them.
func (g *Gateway) Start(ctx context.Context) {
	if !g.started.CompareAndSwap(false, true) {
		return
	}
	g.cfg.lease.start(ctx)
	for _, u := range g.upstreams {
		if s, ok := u.(interface{ Start(context.Context) }); ok && !g.cfg.lease.owns(u) {
			s.Start(ctx)
		}
	}
	for _, f := range g.onStart {
		f(ctx)
	}
}

// Ready reports whether every upstream a route uses has an instance able
// to take traffic.
func (g *Gateway) Ready() bool {
	for _, u := range g.upstreams {
		if rd, ok := u.(interface{ Ready() bool }); ok && !rd.Ready() {
			return false
		}
	}
	return true
}

// Warm waits, until ctx is done, for the upstreams to be warm: the first
// round of health checks of every pool that has not had one (a pool
// carried over from the previous build has). A reloader calls it before
// swapping g in, so that no request waits on a reload.
func (g *Gateway) Warm(ctx context.Context) {
	for _, u := range g.upstreams {
		if w, ok := u.(interface{ Warm(context.Context) error }); ok {
			_ = w.Warm(ctx)
		}
	}
}

// Drain waits until no request is being served by g, or ctx is done.
func (g *Gateway) Drain(ctx context.Context) error {
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for g.inflight.Load() > 0 {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
	return nil
}

// Close waits for mirrored copies to finish, closes the upstreams, and
// gives back what the gateway borrowed from its [State], closing the
// pieces no other gateway uses. Requests still in flight should be
// drained first (see [Gateway.Drain]).
func (g *Gateway) Close() error {
	g.closeOnce.Do(func() {
		g.mirrors.Wait()
		var errs []error
		for _, c := range g.closers {
			errs = append(errs, c.Close())
		}
		for _, u := range g.upstreams {
			if c, ok := u.(io.Closer); ok && !g.cfg.lease.owns(u) {
				errs = append(errs, c.Close())
			}
		}
		errs = append(errs, g.cfg.lease.release())
		g.closeErr = errors.Join(errs...)
	})
	return g.closeErr
}
