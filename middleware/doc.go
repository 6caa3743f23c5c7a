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
// # Identity and limits
//
// [auth.New] runs [auth.Authenticator]s (API keys from [auth.NewAPIKeyAuth], JWTs
// from [auth.NewJWTAuth] with keys from a [auth.JWKS], opaque tokens through
// [auth.NewIntrospectionAuth], client certificates through [auth.NewClientCertAuth])
// and stores the verified [Consumer] in the context ([ConsumerFrom]), with
// where its credential was when the authenticator is a [auth.CredentialLocator]:
// a proxy removes that credential from its outbound request with
// [auth.StripCredential] (or [auth.Config].StripCredential removes it from the
// request the next handler sees), so upstreams never get a secret only the
// proxy needed. [auth.Authorize] checks scopes and roles. [auth.IdentityHeaders] strips identity
// headers a client could forge and sets them only from the verified
// consumer. [ratelimit.New] (token buckets over a [ratelimit.RateStore]: [ratelimit.MemoryRates] in
// memory, or the Redis store of package redisstore, failing open to a
// per-replica share or closed with 503) and [ratelimit.Quota] (per day or month over a
// [ratelimit.QuotaStore]) answer 429 problems with Retry-After and the IETF RateLimit
// headers. A store that knows its backend is down answers at once with an
// error wrapping [ErrStoreUnavailable]: the middleware falls back as for
// any store error, without logging it per request. The order to start from:
//
//	Authenticate ─► Authorize ─► IdentityHeaders ─► RateLimit ─► Quota ─► handler
//
// A [ratelimit.WindowStore] ([ratelimit.MemoryWindows] in memory, or the Redis store) keeps
// sliding windows for limits that must hold in every span of their
// window, with reservations made before use and reconciled after it: the
// token and request limits of the AI endpoints count in one.
//
// # Caching, idempotency and reshaping
//
// [cache.New] is a shared HTTP cache (RFC 9111) that reports what it did in
// Cache-Status (RFC 9211). [cache.Idempotency] makes retried POST and PATCH
// requests safe (the Idempotency-Key draft). Their state sits behind
// [cache.Store] and [cache.IdempotencyStore], with in-memory implementations
// ([cache.NewMemory], [cache.NewMemoryIdempotency]); package redisstore has the
// shared ones. [cache.ConsumerScope] and [cache.TenantScope] keep one caller's entries
// from another's, and [cache.Config].Namespace one cache's from another's
// on a shared store. [Transform] rewrites headers and JSON bodies.
// [Version], [VersionFrom] and [ByVersion] route by API version; Version
// names the fields it reads in Vary, and a Cache behind it keys entries on
// the version. [Lifecycle] announces
// deprecation and sunset, then answers 410. [Compose] is a handler that
// merges parallel upstream calls. Per route:
//
//	Chain(auth, RateLimit, Version, Lifecycle, Cache, Idempotency, Transform)(proxy)
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
