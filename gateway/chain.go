package gateway

import (
	"net/http"

	"github.com/portico-dev/portico/gateway/internal/fields"
	"github.com/portico-dev/portico/middleware"
)

// Built-in middleware names, usable in [WithChain], [Policy].Middleware
// and the config file without registering anything; the package
// documentation describes them under "Built-in middleware".
const (
	mwRequestID = "request_id"
	mwRecover   = "recover"
	mwAccessLog = "access_log"
	mwTelemetry = "telemetry"
	mwClientIP  = "client_ip"
)

// registry resolves middleware names. Built-ins are made on first use,
// so an unused one costs nothing (Telemetry creates instruments).
type registry struct {
	make map[string]func() func(http.Handler) http.Handler
	made map[string]func(http.Handler) http.Handler
}

// builtins returns the registry: the built-in names, replaced or extended
// by those registered with WithMiddleware.
func builtins(c *config) *registry {
	r := &registry{
		make: map[string]func() func(http.Handler) http.Handler{
			mwRequestID: func() func(http.Handler) http.Handler {
				return middleware.RequestID(middleware.RequestIDConfig{})
			},
			mwRecover: func() func(http.Handler) http.Handler {
				return middleware.Recover(middleware.RecoverConfig{Logger: c.logger})
			},
			mwAccessLog: func() func(http.Handler) http.Handler {
				return middleware.AccessLog(middleware.AccessLogConfig{Logger: c.logger})
			},
			mwTelemetry: func() func(http.Handler) http.Handler {
				return middleware.Telemetry(middleware.TelemetryConfig{TracerProvider: c.tracer, MeterProvider: c.meter, Propagator: c.propagator})
			},
			mwClientIP: func() func(http.Handler) http.Handler {
				return middleware.ClientIP(middleware.ClientIPConfig{TrustedProxies: c.trusted})
			},
		},
		made: map[string]func(http.Handler) http.Handler{},
	}
	for name, mw := range c.middleware {
		r.make[name] = func() func(http.Handler) http.Handler { return mw }
	}
	return r
}

func (r *registry) has(name string) bool {
	_, ok := r.make[name]
	return ok
}

// get returns the middleware registered as name, which must exist.
func (r *registry) get(name string) func(http.Handler) http.Handler {
	if mw, ok := r.made[name]; ok {
		return mw
	}
	mw := r.make[name]()
	r.made[name] = mw
	return mw
}

func (r *registry) names() string { return fields.Known(r.make) }

// setRoutePattern records the matched pattern for telemetry and logs.
func setRoutePattern(r *http.Request, pattern string) {
	middleware.SetRoutePattern(r, pattern)
}

// withRouteContext returns r carrying c's routing context: r itself when
// the middleware's per-request slot takes it, else a copy under c.
func withRouteContext(r *http.Request, c *routeContext) *http.Request {
	if middleware.SetRouteContext(r, &c.rctx) {
		return r
	}
	return r.WithContext(c)
}
