// Package grpcproxy proxies gRPC calls: an [http.Handler] that streams
// calls of every kind (unary, server, client and bidirectional streaming)
// to a gRPC upstream over h2c or TLS, and an [http.RoundTripper] that lets
// HTTP policies (retries, circuit breakers, outlier ejection) understand
// gRPC statuses.
//
// # A chain for gRPC
//
//	client ─► Errors ─► auth, limits, ... ─► Handler
//	       ─► resilience.Transport (timeout ─► retry ─► breaker) ─► upstream.Pool
//	       ─► Transport ─► NewUpstreamTransport (HTTP/2 only)
//
// [Handler] answers every failure (no instance, open breaker, timeout,
// broken stream, an answer that is not gRPC) as a gRPC status;
// [Errors] does the same for the HTTP errors of the middleware in front
// of it; [Transport], innermost, bounds grpc-timeout by the route's
// deadline and shows trailers-only statuses to the policies above it as
// HTTP statuses (UNAVAILABLE as 503, RESOURCE_EXHAUSTED with pushback as
// 429 with a Retry-After-Ms). A status that comes in trailers, after
// the messages, cannot be retried, but once the response ends a failure
// of the upstream's (UNAVAILABLE, INTERNAL, UNKNOWN, DATA_LOSS,
// DEADLINE_EXCEEDED, UNIMPLEMENTED) counts against the instance in its circuit breaker
// and outlier ejection, through [resilience.LateOutcome]. [HealthProbe]
// checks instances with grpc.health.v1.
//
// gRPC calls are POSTs, which retries never repeat unless they are known
// to be safe: set [Handler].Idempotent to name the methods that are.
//
// All types are safe for concurrent use.
package grpcproxy
