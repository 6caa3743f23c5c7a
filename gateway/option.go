package gateway

import (
	"log/slog"
	"net/http"
	"net/netip"
	"time"

	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/portico-dev/portico/middleware/auth"
	"github.com/portico-dev/portico/middleware/ratelimit"
)

// Option configures a [Gateway].
type Option interface {
	apply(*config)
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// config is what the options build; New validates it once.
type config struct {
	routes     []Route
	upstreams  []Upstream
	middleware map[string]func(http.Handler) http.Handler
	chain      []string
	trusted    []netip.Prefix
	logger     *slog.Logger
	meter      metric.MeterProvider
	tracer     trace.TracerProvider
	propagator propagation.TextMapPropagator
	errs       []error

	authCustom []namedAuth
	identity   Identity
	stores     Stores
	clock      func() time.Time
	keys       map[string]ratelimit.KeyFunc
	parts      []Part
	paths      PathNormalization
	state      *State
	// lease is what the build borrows from the state.
	lease *lease
}

// WithRoute adds routes. Routes are matched by priority, then by path
// specificity, then in the order they were added; see [Route].
func WithRoute(routes ...Route) Option {
	return optionFunc(func(c *config) { c.routes = append(c.routes, routes...) })
}

// WithUpstream adds upstreams that routes name. The gateway owns them:
// [Gateway.Start] starts them and [Gateway.Close] closes them. A
// *upstream.Pool is the usual upstream.
func WithUpstream(ups ...Upstream) Option {
	return optionFunc(func(c *config) { c.upstreams = append(c.upstreams, ups...) })
}

// WithMiddleware registers middleware under a name, for [WithChain] and
// [Policy].Middleware to refer to. Names must be unique; the built-in
// names (request_id, recover, access_log, telemetry, client_ip; see
// "Built-in middleware" in the package documentation) may be
// registered again to replace them.
func WithMiddleware(name string, mw func(http.Handler) http.Handler) Option {
	return optionFunc(func(c *config) {
		if c.middleware == nil {
			c.middleware = map[string]func(http.Handler) http.Handler{}
		}
		c.middleware[name] = mw
	})
}

// WithChain sets the global chain: middleware, by registered name, that
// wraps every request before routing. The first is the outermost:
//
//	WithChain("request_id", "recover", "access_log")
//	request ─► request_id ─► recover ─► access_log ─► route ─► upstream
//
// By default, there is no global middleware.
func WithChain(names ...string) Option {
	return optionFunc(func(c *config) { c.chain = append([]string(nil), names...) })
}

// WithTrustedProxies lists the networks of proxies in front of the
// gateway. X-Forwarded-For, -Host and -Proto sent by a client in these
// networks are kept and extended, and its other client-IP headers
// (X-Real-IP, True-Client-IP, CF-Connecting-IP and the like) pass on;
// from any other client the forwarding headers are replaced and the
// client-IP headers removed, X-Real-IP then naming the client. By default,
// no client is trusted.
func WithTrustedProxies(prefixes ...netip.Prefix) Option {
	return optionFunc(func(c *config) { c.trusted = append(c.trusted, prefixes...) })
}

// WithLogger sets the logger for upstream failures and reloads.
// By default, slog.Default() is used.
func WithLogger(l *slog.Logger) Option {
	return optionFunc(func(c *config) {
		if l != nil {
			c.logger = l
		}
	})
}

// WithMeterProvider sets the meter provider for the built-in telemetry
// middleware, the policies, and pools built from a config file; with it
// (or [WithTracerProvider]) every upstream attempt also records the
// http.client.* metrics and a client span, and carries the trace to the
// upstream. By default, the global provider is used and upstream
// attempts are not instrumented.
func WithMeterProvider(mp metric.MeterProvider) Option {
	return optionFunc(func(c *config) { c.meter = mp })
}

// WithTracerProvider sets the tracer provider for the built-in telemetry
// middleware. By default, the global provider is used.
func WithTracerProvider(tp trace.TracerProvider) Option {
	return optionFunc(func(c *config) { c.tracer = tp })
}

// WithPropagator sets how trace context and baggage are read from
// requests and written to upstream requests, such as B3 for Zipkin
// users (see the telemetry package's Propagator). By default, W3C Trace
// Context and Baggage.
func WithPropagator(p propagation.TextMapPropagator) Option {
	return optionFunc(func(c *config) { c.propagator = p })
}

// WithAuthenticator adds an authenticator under a name, for
// [Auth].Methods; authenticators are tried in the order they were added
// when a route names none. Package gateway/config builds them from
// consumers and auth methods (JWT, introspection, client certificates).
func WithAuthenticator(name string, a auth.Authenticator) Option {
	return optionFunc(func(c *config) {
		c.authCustom = append(c.authCustom, namedAuth{name: name, auth: a})
	})
}

// WithIdentity sets the identity headers. By default, the names [Identity]
// lists.
func WithIdentity(id Identity) Option {
	return optionFunc(func(c *config) { c.identity = id })
}

// WithPathNormalization sets how request paths are normalized; see
// [PathNormalization]. By default, escaped dots and separators are
// answered 400.
func WithPathNormalization(p PathNormalization) Option {
	return optionFunc(func(c *config) { c.paths = p })
}

// WithPart adds parts to the build, prepared and mounted in the order
// given; see [Part].
func WithPart(parts ...Part) Option {
	return optionFunc(func(c *config) { c.parts = append(c.parts, parts...) })
}

// WithState makes the build borrow its state from st instead of starting
// afresh; see [State]. By default, a gateway has a state of its own,
// closed with it.
func WithState(st *State) Option {
	return optionFunc(func(c *config) { c.state = st })
}

// WithStores sets the stores of rate limits, quotas, caches and
// idempotency keys. By default, each is in memory.
func WithStores(s Stores) Option {
	return optionFunc(func(c *config) { c.stores = s })
}

// WithClock sets the clock of rate limits, quotas, caches and lifecycle
// dates, for tests. By default, time.Now is used.
func WithClock(now func() time.Time) Option {
	return optionFunc(func(c *config) { c.clock = now })
}

// WithKey registers a function naming the rate-limit bucket or quota
// counter of a request, for [RateLimit].Key and [Quota].Key to name. A
// registered name replaces a built-in one.
func WithKey(name string, fn ratelimit.KeyFunc) Option {
	return optionFunc(func(c *config) {
		if c.keys == nil {
			c.keys = map[string]ratelimit.KeyFunc{}
		}
		c.keys[name] = fn
	})
}
