// Package resilience keeps a failing or slow upstream from taking down its
// callers, and keeps callers' retries from finishing off a struggling
// upstream.
//
// It has two shapes. On the client side, a [Transport] is an
// http.RoundTripper that wraps another one (any *http.Client, or a
// gateway's proxy) with retries, hedging, circuit breakers, bulkheads,
// timeouts and a fallback. On the server side, [Middleware] is admission
// control: a fixed or adaptive concurrency limit, per-client caps and load
// shedding, answering 503 or 429 problem documents with Retry-After. The
// server side never retries.
//
// # Composition order
//
// [NewTransport] takes policies in any order and always applies them in
// this one, outermost first:
//
//	caller
//	  │
//	  ▼
//	OverallTimeout      bounds everything below, up to response headers
//	  ▼
//	Fallback            replaces chosen failures with a response
//	  ▼
//	Retry │ Hedge       repeats or races attempts, under one Budget
//	  ▼                 ── each attempt: ─────────────────────────────
//	CircuitBreaker      per key (upstream host): rejects while open
//	  ▼
//	Bulkhead            caps requests in flight, per key if asked
//	  ▼
//	Timeout             bounds one attempt, up to response headers
//	  ▼
//	next.RoundTrip      called afresh with a fresh clone of the request
//
// Because the breaker sits inside the retry, every attempt is counted, and
// an open breaker ends the retries at once instead of burning them. The
// breaker key is read from the request as the transport received it (by
// default its URL host); a gateway that resolves instances before the
// transport gets one breaker per instance.
//
// # Retries and HTTP semantics
//
// [Retry] retries connection errors, attempt timeouts and, by default,
// 502, 503 and 504 responses (429 only when the response says when to come
// back), with exponential backoff and full jitter, or the server's
// Retry-After (seconds or HTTP-date) or retry-after-ms hint. It never
// retries a request that is not [Idempotent] unless the user opts in,
// except when the connection could not even be made: then no byte was
// sent and any method is safe to retry. Bodies are replayed byte for byte,
// through GetBody or a bounded buffer; a body over the buffer is sent
// once. Every discarded response is drained (bounded) and closed so its
// connection is reused. A [Budget] caps retries and hedges to a fraction
// of requests, so an outage cannot multiply the load.
//
// # Errors
//
// Every policy error is an [*Error] that matches its sentinel
// ([ErrCircuitOpen], [ErrBulkheadFull], [ErrRetriesExceeded],
// [ErrTimeout], [ErrBudgetExhausted], [ErrLimitExceeded], [ErrShed]) with
// errors.Is and unwraps to its cause. [HTTPStatus] maps any error to the
// status a gateway answers with, and [RetryAfter] gives the hint to send
// in Retry-After.
//
// # Observability
//
// Hooks (OnRetry, OnHedge, OnStateChange, OnReject, OnExhausted,
// OnLimitChange) report
// events as they happen; [Transport.Breakers] returns the breakers' state
// for an admin endpoint; OpenTelemetry metrics
// (portico.resilience.retries, .hedges, .rejections, .breaker.state and
// .admission.rejections) go to the meter provider given with [WithMeterProvider]
// or [AdmissionConfig.MeterProvider], by default the global one.
//
// # Configuration
//
// Each policy takes a config struct whose zero value gives documented
// defaults (a bulkhead needs its size, a hedge its delay, a fallback its
// answer). Constructors panic on an invalid config, a wiring mistake;
// code that builds configs from input calls Validate first (such as
// [RetryConfig.Validate]) to get an error naming the field and the fix.
// Clock-dependent parts (breakers, budgets, Retry-After dates) take a Now
// func so tests never sleep across a boundary. Bulkheads and the adaptive
// limiter run on github.com/failsafe-go/failsafe-go, whose types never
// appear in this API.
//
// # Concurrency
//
// A [Transport], a [Budget] and the handler returned by [Middleware] are
// safe for concurrent use. Config structs are copied at construction and
// may be reused.
package resilience
