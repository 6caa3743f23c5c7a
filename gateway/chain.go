package gateway

import (
	"net"
	"net/http"

	"github.com/portico-dev/portico/middleware"
)

// Built-in middleware names, usable in [WithChain], [Policy].Middleware
// and the config file without registering anything.
const (
	// MiddlewareRequestID is middleware.RequestID with its defaults. The
	// ID it keeps or creates is the one upstream requests carry.
	MiddlewareRequestID = "request_id"
	// MiddlewareRecover is middleware.Recover, logging to the gateway's logger.
	MiddlewareRecover = "recover"
	// MiddlewareAccessLog is middleware.AccessLog, logging to the gateway's logger.
	MiddlewareAccessLog = "access_log"
	// MiddlewareTelemetry is middleware.Telemetry with the gateway's
	// tracer and meter providers; it records http.server.request.duration
	// with the matched route as http.route.
	MiddlewareTelemetry = "telemetry"
	// MiddlewareClientIP is middleware.ClientIP trusting the gateway's
	// trusted proxies (see [WithTrustedProxies]).
	MiddlewareClientIP = "client_ip"
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
			MiddlewareRequestID: func() func(http.Handler) http.Handler {
				return middleware.RequestID(middleware.RequestIDConfig{})
			},
			MiddlewareRecover: func() func(http.Handler) http.Handler {
				return middleware.Recover(middleware.RecoverConfig{Logger: c.logger})
			},
			MiddlewareAccessLog: func() func(http.Handler) http.Handler {
				return middleware.AccessLog(middleware.AccessLogConfig{Logger: c.logger})
			},
			MiddlewareTelemetry: func() func(http.Handler) http.Handler {
				return middleware.Telemetry(middleware.TelemetryConfig{TracerProvider: c.tracer, MeterProvider: c.meter, Propagator: c.propagator})
			},
			MiddlewareClientIP: func() func(http.Handler) http.Handler {
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

func (r *registry) names() string { return knownNames(r.make) }

// setRoutePattern records the matched pattern for telemetry and logs.
func setRoutePattern(r *http.Request, pattern string) {
	middleware.SetRoutePattern(r, pattern)
}

// clientIP is the address consistent hashing uses: the one ClientIP
// found behind trusted proxies, else the peer's.
func clientIP(r *http.Request) string {
	if a, ok := middleware.ClientIPFrom(r.Context()); ok {
		return a.String()
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
