// Package gateway assembles Portico's parts into an API gateway: routes
// that match requests by host, method, path and headers; a reverse proxy
// that streams both ways; upstream pools that balance over healthy
// instances; per-route policies (authentication and scopes, rate limits
// and quotas, OpenAPI validation, caching, idempotency, transformations,
// versions, lifecycle, timeouts, retries, circuit breakers, bulkheads,
// middleware); a process [State] that outlives configurations; and an
// admin handler. It is the core: it links no store client, exporter, spec
// loader or AI adapter. Package gateway/config is the layer above it: the
// declarative config file that turns into the same builder calls, hot
// reload, and what links heavy dependencies (Redis stores, Prometheus,
// OpenAPI documents, the AI endpoints, the platform), each plugged in as a
// [Part].
//
//	examples ─► gateway/config (YAML, parts, stores, exporters, reload)
//	         ─► gateway (builder, routes, proxy, stages, admin, state)
//	         ─► middleware, resilience, gateway/upstream
//
// A [Gateway] is an immutable http.Handler built once by [New] from
// options, or by config.LoadGateway from a file. A new configuration is a new
// Gateway, swapped in atomically by a config.Reloader.
//
//	users, _ := upstream.New(upstream.Config{Name: "users",
//		Instances: []upstream.Instance{{URL: "http://10.0.0.7:8080"}, {URL: "http://10.0.0.8:8080"}}})
//	g, err := gateway.New(
//		gateway.WithUpstream(users),
//		gateway.WithChain("request_id", "recover", "telemetry", "access_log"),
//		gateway.WithRoute(gateway.Route{
//			Prefix: "/api/users", StripPrefix: "/api", Upstream: "users",
//			Policy: gateway.Policy{Timeout: 5 * time.Second, Retry: &gateway.Retry{Attempts: 3}},
//		}),
//	)
//
// # A request through the gateway
//
// The path is normalized first ([PathNormalization]); the global chain
// ([WithChain]) wraps everything else, the first middleware outermost;
// then the route is matched; then the route's built-in stages
// run in a fixed order (see [Policy]), then its own middleware
// ([Policy].Middleware); then its upstream policies wrap the upstream pool
// as an http.RoundTripper, in a fixed order; then the proxy sends the
// request:
//
//	request ─► path normalization ─► global chain ─► match
//	        ─► lifecycle ─► auth ─► authorize ─► identity ─► rate_limit ─► quota
//	        ─► validate ─► version ─► cache ─► idempotency ─► transform ─► route middleware
//	        ─► timeout ─► retry | hedge ─► breaker ─► bulkhead ─► per-try timeout
//	        ─► upstream pool (picks a healthy instance) ─► http.Transport
//	◄─ response, streamed back unbuffered
//
// [Gateway.Routes] (and the admin /routes) prints this chain for every
// route.
//
// # Built-in middleware
//
// These names may be used in [WithChain], [Policy].Middleware and the
// config file without registering anything; [WithMiddleware] may replace
// them:
//
//	request_id  middleware.RequestID with its defaults; the ID it keeps or
//	            creates is the one upstream requests carry
//	recover     middleware.Recover, logging to the gateway's logger
//	access_log  middleware.AccessLog, logging to the gateway's logger
//	telemetry   middleware.Telemetry with the gateway's tracer and meter
//	            providers; it records http.server.request.duration with the
//	            matched route as http.route
//	client_ip   middleware.ClientIP trusting [WithTrustedProxies]
//
// # Hedged requests
//
// A slow instance costs a retrying route its per-try timeout on every
// request it gets. [Policy].Hedge sends a request that may be sent twice
// (an idempotent method, or an Idempotency-Key header) once more when it
// has not been answered after [Hedge].Delay (fixed, or a percentile of the
// route's recent response times), to an instance of the pool not yet
// tried for it; the first answer that is not a failure wins and the other
// attempt is canceled. Hedges are capped at [Hedge].Budget of the route's
// requests. With [Retry] too, such requests are hedged and the others
// retried. Each attempt passes the route's breaker (one per instance) and
// the pool's outlier detection and peak-EWMA estimate: an attempt cut by
// its per-try timeout counts against its instance, a hedge that lost only
// as slow as it waited. The call record of a proxied request carries the
// hedges sent and whether one won.
//
// # Consumers and access
//
// [WithAuthenticator] adds any auth.Authenticator under a name;
// config.WithConsumers declares who may call, with API keys kept as
// SHA-256 hashes, and config.WithAuthMethods adds JWT issuers (JWKS or
// static keys), token introspection and TLS client certificates
// (config.ServerTLS builds the listener's configuration). A route asks for them with [Policy].Auth (any
// of several methods, anonymous allowed, scopes all-of or any-of), limits
// callers with [RateLimit] and [Quota] (per plan, keyed by consumer, key,
// tenant, IP or header), and the verified consumer reaches the upstream in
// the headers [Identity] names; those headers are removed from every
// inbound request on every route, so a client can never forge them. The
// credential the consumer authenticated with (an API key's header value
// or query parameter, a bearer token) is removed from the upstream
// request unless the route sets [Auth].ForwardCredentials.
// [WithStores] moves the counters, cache entries and idempotency records to
// Redis, so replicas share one limit; while Redis is down they fall back
// (or fail closed, [Stores].FailClosed) without waiting, when they are the
// views of one redisstore.Store, whose circuit breaker skips Redis for all
// of them at once.
//
// # Parts
//
// What the core does not link comes in as a [Part], given with
// [WithPart]: a part prepares what routes refer to (upstreams,
// authenticators, middleware, stores, the guard of
// [Policy].Subscription) and then mounts routes, [Endpoint]s in the one
// route table, handlers on the admin listener ([Builder.Admin]) and start
// and close hooks, borrowing what must outlive a reload from the [State]
// ([Builder.Keep]). Package gateway/config provides them:
// config.WithAPI turns an OpenAPI document into one route per operation,
// its x-portico-* extensions decoded into the same [Policy] types as the
// config file, with validation and documentation at /apis/ on the admin
// listener.
//
// # Caching, versions and composition
//
// [Cache] stores responses as HTTP caching allows, shared or scoped to a
// consumer or tenant, with entries of each route and API version its own
// unless routes name one [Cache].Namespace to share them; [Idempotency] replays a retried POST's response;
// [Transform] rewrites headers and JSON bodies; [Lifecycle] announces
// deprecation and answers 410 after retirement. [Route].Versions sends
// each API version (from the path, a header or the media type) to its
// own pool or path, and [Route].Compose answers with one JSON object
// merged from several upstream calls.
//
// # AI endpoints and the platform
//
// config.WithAI (the ai: section of a config file) serves an OpenAI- and
// Anthropic-compatible API over any aiclient provider, with virtual keys,
// token limits, budgets and prompts as REST APIs (package gateway/ai).
// Each provider calls over one transport of its own, tuned by
// config.AIProvider.TransportConfig (max_idle_conns_per_host and the timeouts),
// which reloads keep while those settings are unchanged.
// config.WithPlatform (the platform: section) adds tenants, consumers and keys,
// APIs that need an approved subscription ([Policy].Subscription), a
// consumer portal, a call log, and the admin API, catalog and dashboard
// that [Admin] serves under /platform/ (package gateway/platform).
// Neither is linked by this package.
//
// # Paths
//
// Before anything looks at a request, its path is normalized: dot
// segments are resolved, repeated slashes merged and escaped unreserved
// characters decoded, so "/api/public/../private" is matched, authorized,
// cached, logged and forwarded as "/api/private". Escaped dots and
// separators ("%2E", "%2F", "%5C") and backslashes are answered 400, or
// decoded with [WithPathNormalization]; control characters are always
// refused. A refused request still passes the global chain, so it is
// logged and measured. CONNECT and TRACE are never served (501).
//
// # Matching
//
// Routes are tried by [Route].Priority, highest first. Within a priority
// chi's tree finds the most specific path (static before {param} before
// catch-all), and the routes at that path are tried in the order they
// were added; when their hosts, headers or methods do not match, the other
// routes of the priority are tried in order. A path that matches only
// with another method is answered 405 with Allow; nothing at all, 404.
//
// # One namespace
//
// The endpoints the parts serve ([Endpoint]) are routes of the same
// table, of priority 0, on every host, in the order of their parts: each
// AI endpoint ("POST
// /v1/chat/completions", "GET /v1/models/*"...), each prompt API and the
// consumer portal. One lookup finds any of them, and [Gateway.Routes]
// (the admin /routes) and [Gateway.Lookup] see them, with [RouteInfo].Kind
// "ai", "prompt" or "portal". A route that overlaps one of them is a
// build error naming both fields, such as
//
//	routes[3].prefix: "/v1" overlaps the AI endpoint "POST /v1/chat/completions" (ai.prefix)
//
// Two endpoints overlap when some request could match both: their hosts
// share a host and their methods share a method (an empty list is every
// host or method), and some path matches both patterns. Headers do not
// tell endpoints apart. Paths are compared segment by segment: static
// segments must be equal; a static segment meets a {param} when the
// parameter (its regular expression included) accepts it; two {param}
// segments are taken to meet; a catch-all meets whatever follows it, a
// prefix route covering everything under it. So with the AI endpoints on
// /v1, routes at /v1/orders, "GET /v1/chat/completions" (the endpoint is
// POST) or /{version:[0-9]+}/embeddings build, and a prefix /v1, "GET
// /v1/models/{id}" or /{version}/embeddings do not.
//
// Only the concrete endpoints are reserved, so other paths under the AI
// prefix may be routes. A request under the prefix that nothing matches
// is answered by the AI endpoints in their clients' format (OpenAI's 404
// unknown_url, Anthropic's for a path ending in /messages), as the SDKs
// expect; a prompt API asked with another method than POST gets the
// gateway's 405.
//
// # The proxy
//
// Requests go through httputil.ReverseProxy with Rewrite: hop-by-hop
// headers are removed; X-Forwarded-For, -Host and -Proto are set, and
// kept from the client only when it is a trusted proxy
// ([WithTrustedProxies]); the upstream's status, headers and trailers
// pass through untouched; server-sent events and other responses of
// unknown length are flushed as they arrive; WebSocket upgrades are
// proxied; request bodies are streamed, buffered only when a retry or a
// mirror needs them and then up to a limit. The Host header sent upstream
// is the instance's unless [Route].Host overrides it.
//
// Failures are RFC 9457 problem documents that never reveal an upstream
// address: 502 when the upstream is unreachable or answers with a broken
// response, 503 when no instance is available or a breaker or bulkhead
// refuses (with Retry-After), 504 when a timeout expires, 413 when a body
// is over the route's limit, 404 and 405 when no route matches, 400 for a
// path refused before routing, 501 for CONNECT and TRACE.
//
// A route with [Route].Serve is answered by a handler of its own instead
// of the proxy, for protocols the proxy does not speak as such: the
// handler gets each request prepared as the proxy would send it, and the
// route's policies around the pool as its transport. gateway/grpcproxy
// proxies gRPC calls this way (with gRPC statuses for every failure, and
// policies that understand them), and gateway/grpcjson serves JSON
// clients from a gRPC service; neither is linked by this package.
//
// # What upstreams are told
//
// The gateway vouches for what it sends upstream (mirrored copies
// included), before [Route].RequestHeaders apply, so a route can still
// set any header itself:
//
//   - Client address. From a client that is not a trusted proxy, every
//     header claiming a client address or a forwarding hop is removed
//     (X-Real-IP, True-Client-IP, CF-Connecting-IP, Fastly-Client-IP,
//     X-Client-IP, X-Cluster-Client-IP, X-Original-Forwarded-For, every
//     X-Forwarded-* beyond the three the gateway sets, and the like, also
//     spelled with "_"), and X-Real-IP is set to the client's address: the
//     one the client_ip middleware found when it runs, else the peer's.
//     From a trusted proxy they pass as sent, except X-Real-IP, which is
//     the address client_ip found when it runs.
//   - Request ID. With the request_id middleware in the chain, upstream
//     requests and composed calls carry its ID in its header, once: the
//     client's only when the middleware accepted it, never a rejected
//     value. The client gets the same ID once; an upstream's own request
//     ID header is dropped from the response.
//   - Credentials. The credential the caller authenticated with (an API
//     key's header value or query parameter, a JWT or introspected bearer
//     token, a platform key) is removed, unless the route sets
//     [Auth].ForwardCredentials. Other headers, and credentials no
//     authenticator accepted, are left alone.
//
// # Configuration
//
// config.Parse and config.Read read YAML or JSON into a config.File (config.LoadGateway also builds it),
// whose routes are the very [Route] values the builder takes: the file is
// decoded into builder calls, never into a second code path. Unknown
// fields are errors; every error is a [FieldError] naming the field path
// ("routes[2].policy.timeout") and its line; ${VAR} and ${VAR:-default}
// take values from the environment.
//
// # Operations
//
// config.Reloader swaps in a new gateway on SIGHUP or when the file
// changes; the new one is built, started and warmed ([Gateway.Warm]: its
// new pools checked) beside the serving one and swapped in atomically, so
// no request waits on a reload; requests in flight finish on the old one,
// and a broken file leaves the old one serving. [Admin] serves /healthz,
// /readyz, /metrics (with config.NewMetrics), /routes and /upstreams on a
// separate listener. [ServerConfig.Serve] runs the server: HTTP/2
// and HTTP/1.1 over TLS through ALPN, h2c on a plain listener when asked,
// timeouts on request headers and idle connections, request bodies that
// stall or trickle cut with a 408 that cancels the upstream request
// ([middleware.BodyTimeout]), and a shutdown that drains requests in
// flight. A config file's server and tls sections give its
// config.File.ServerConfig.
//
// # What a reload keeps
//
// What a running gateway learns belongs to the process, not to one build:
// a [State] ([NewState], [WithState]), which a config.Reloader owns and hands
// to every load, keeps it, and each build borrows the pieces it needs. A
// reload keeps every piece whose own settings did not change, whether the
// file is the same or changed elsewhere; a piece whose settings changed
// starts afresh; a piece no build uses any more is closed with the last
// gateway that used it. A route's identity is its name and what it
// matches (hosts, methods, path or prefix, headers): renaming a route, or
// changing what it matches, starts all of its pieces afresh.
//
//	piece                               kept while these are unchanged
//	rate-limit buckets                  the route's identity and its rate_limit section
//	quota counters                      the route's identity and its quota section
//	cached responses                    the route's identity and its cache section
//	                                    (or the shared cache namespace it names)
//	idempotency records                 always: forgetting one would run a retried
//	                                    request twice; each keeps the TTL it was stored with
//	AI token and request windows        each limit's own settings (by, requests, tokens, window)
//	AI budgets                          each budget's own settings (by, usd, period)
//	circuit breakers (one per instance) the route's identity, the upstream and its breaker section
//	bulkhead slots, retry budget        the route's identity, the upstream and its bulkhead
//	                                    section (the retry budget: the route and upstream)
//	hedge budget                        the route's identity, the upstream and hedge.budget
//	upstream pools, with their health,  the upstream's section, the content of its TLS files,
//	ejections and discovered instances  the logger and the meter provider
//	Redis client and its breaker        the store.redis section, the logger and meter provider
//	JWKS keys                           the jwks_url and the logger
//	platform file (bbolt)               its path; the file stays open, as bbolt locks it
//	call log                            the platform.call_log section and the logger
//
// A pool that starts afresh is checked before it takes traffic: the new
// gateway waits (up to config.ReloadConfig.ReadyTimeout) for the first round of
// its health checks, and an instance that fails its first check takes no
// traffic. With shared stores ([WithStores], the store section), limits,
// quotas, cache entries, idempotency records and AI counters live in
// Redis, keyed by their names, and outlive restarts as well. The clock
// ([WithClock]) of an in-memory piece is the one of the build that made
// it.
//
// # Concurrency
//
// A [Gateway], a [State] and the [Admin] handler are safe for concurrent
// use. [Route] values are copied when a gateway is built and may be
// reused. A [Builder] is valid only during the calls of the [Part] it is
// given to.
package gateway
