// Package portico is the root of Portico, a library of composable net/http
// parts for building API gateways and hardening Go microservices.
//
// Portico is a library first. Every part works alone in a team's own
// service, and the gateway package only assembles them:
//
//   - [github.com/portico-dev/portico/middleware]: func(http.Handler) http.Handler
//     constructors for request IDs, panic recovery, access logs, OpenTelemetry,
//     client IPs behind trusted proxies, body limits, timeouts, CORS,
//     authentication, rate limits, caching, idempotency and transformations.
//   - [github.com/portico-dev/portico/resilience]: retries, circuit breakers,
//     bulkheads, timeouts, hedging and fallbacks as an [net/http.RoundTripper],
//     and admission control as server middleware.
//   - [github.com/portico-dev/portico/openapi]: request and response validation,
//     spec and docs serving, and routes built from an OpenAPI document.
//   - [github.com/portico-dev/portico/aiclient]: one request, response and stream
//     format over many LLM providers, with fallbacks, usage and cost.
//   - [github.com/portico-dev/portico/gateway]: the builder that assembles the
//     parts into a gateway: routes, upstream pools, load balancing, health
//     checks, per-route policies, a declarative config file and admin endpoints.
//
// # Composition
//
// Every boundary is a net/http type: middleware are plain
// func(http.Handler) http.Handler values, client-side policies are
// http.RoundTripper values, and the gateway is an http.Handler. They compose
// with the standard library's ServeMux, chi, or any other router.
//
// Errors sent to clients are RFC 9457 application/problem+json documents,
// written from one place, and never carry stack traces, upstream addresses or
// secrets.
//
// This package itself holds no code; it is the overview a godoc reader lands on.
package portico
