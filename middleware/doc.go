// Package middleware holds the net/http middleware a Go service or an API
// gateway puts in front of its handlers. Each constructor returns a plain
// func(http.Handler) http.Handler, so the middleware compose with
// [http.ServeMux], chi or any other router, and with third-party middleware.
//
// Small middleware take a config struct whose zero value works
// ([RequestIDConfig], [RecoverConfig], [AccessLogConfig], [ClientIPConfig],
// [TimeoutConfig], [CORSConfig], [TelemetryConfig]); configuration is
// checked once, when the constructor is called, and a wiring mistake
// panics with a "portico/middleware: " message. Errors sent to clients are
// RFC 9457 application/problem+json documents that carry the request ID.
//
// # Ordering
//
// [Chain] composes middleware; the first one is the outermost, it sees the
// request first and the response last (its documentation draws it). A
// service starts from this order:
//
//	middleware.Chain(
//		middleware.RequestID(middleware.RequestIDConfig{}),
//		middleware.Recover(middleware.RecoverConfig{}),
//		middleware.ClientIP(middleware.ClientIPConfig{TrustedProxies: proxies}),
//		middleware.Telemetry(middleware.TelemetryConfig{}),
//		middleware.AccessLog(middleware.AccessLogConfig{}),
//		middleware.BodyLimit(1 << 20),
//		middleware.Timeout(middleware.TimeoutConfig{}),
//		middleware.CORS(middleware.CORSConfig{AllowedOrigins: origins}),
//	)(router)
//
// This order is the one to start from: the request ID first, so that every
// log line and error document carries it; recovery next, so that a panic
// anywhere below becomes a 500; the client IP before the telemetry and the
// access log that report it; the limits last, close to the handler.
//
// # Route patterns
//
// Logs, spans and metrics name the route template, "/orders/{id}", never
// the raw path. [RoutePattern] finds it: the middleware install a slot in
// the request context that an inner router fills (chi does so on its own,
// [http.ServeMux] through the request's Pattern, other routers through
// [SetRoutePattern]), so [Telemetry] and [AccessLog] know the route whether
// they are mounted outside the router or inside it. When they are mounted
// outside a chi router, that router routes within the context they provide;
// chi's GetHead and SupressNotFound middleware look for the router in that
// context and need Portico's middleware to be mounted inside the router
// instead (with Use).
//
// # Families
//
// Middleware that come as a family, with their own store interfaces and
// many names, live in a package each; they all read the [Consumer] this
// package defines:
//
//   - package auth: authenticators (API keys, JWTs and JWKS, token
//     introspection, client certificates), authorization by scope and
//     role, and identity headers. It stores the verified [Consumer] in the
//     request context ([WithConsumer], read back with [ConsumerFrom]).
//   - package ratelimit: token-bucket rate limits, quotas per day or month,
//     sliding windows, the keys that name a bucket and the stores behind
//     them.
//   - package cache: a shared HTTP cache (RFC 9111) and idempotency keys,
//     with their stores.
//   - package redisstore: the Redis implementation of every store
//     interface above, so importing them never links a Redis client.
//
// A store that knows its backend is down answers at once with an error
// wrapping [ErrStoreUnavailable]: the middleware falls back as for any
// store error, without logging it per request. Per route, the order to
// start from is:
//
//	auth.New ─► auth.Authorize ─► auth.IdentityHeaders ─► ratelimit.New ─► ratelimit.Quota
//	  ─► Version ─► Lifecycle ─► cache.New ─► cache.Idempotency ─► Transform ─► handler
//
// # Reshaping and versions
//
// [Transform] rewrites headers and JSON bodies. [Version], [VersionFrom]
// and [ByVersion] route by API version; Version names the fields it reads
// in Vary, so a cache behind it keys entries on the version. [Lifecycle]
// announces deprecation and sunset, then answers 410. [Compose] is a
// handler that merges parallel upstream calls.
//
// # Slow clients
//
// [BodyTimeout] cuts clients that send a request body too slowly: one that
// stalls between bytes, trickles below a minimum average rate, or takes
// longer than a total bound gets a 408, and the request's context is
// canceled with [ErrBodyTimeout] as its cause, so an upstream call made
// for it stops too. It belongs at the server's edge, outside every other
// middleware; response streams are never bounded.
//
// # Response writers
//
// The middleware share one [ResponseWriter] per request ([WrapWriter]),
// which records the status and the body size and keeps [http.Flusher],
// [http.Hijacker] and [http.ResponseController] working, so Server-Sent
// Events and WebSocket upgrades pass through every middleware unbuffered.
//
// # Concurrency
//
// The middleware returned by the constructors are safe for concurrent use
// by many requests. A [ResponseWriter], like any http.ResponseWriter, is
// used by one request's handler at a time.
package middleware
