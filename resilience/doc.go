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
//	Fallback            replaces chosen failures with a response
//	  ▼
//	OverallTimeout      bounds everything below, up to response headers
//	  ▼
//	Retry │ Hedge       repeats or races attempts, under one Budget
//	  ▼                 ── each attempt: ─────────────────────────────
//	Timeout             bounds one attempt, up to response headers
//	  ▼
//	CircuitBreaker      per key (upstream host, or instance): rejects while open
//	  ▼
//	Bulkhead            caps requests in flight, per key if asked
//	  ▼
//	next.RoundTrip      called afresh with a copy of the request
//
// Because the breaker sits inside the retry, every attempt is counted, and
// an open breaker ends the retries at once instead of burning them. The
// breaker key is read from the request as the transport received it (by
// default its URL host). When next picks an instance for each attempt, as
// a load balancer's pool does, it calls [Instance] with the instance it
// picked: the attempt then goes through that instance's breaker, so one
// bad instance opens its own circuit and not the pool's, and [Admits]
// lets next skip the instances whose circuit is open. failsafe-go cancels
// an attempt without a cause; [Abandoned] tells next why one was canceled
// (a timeout, which counts against the instance, or a hedge that lost).
//
// # Built on failsafe-go
//
// The policies run as github.com/failsafe-go/failsafe-go policies,
// composed once per [Transport], adapted to HTTP; failsafe-go's types never
// appear in this API, and its errors are mapped onto Portico's in one
// place. Retry is failsafe-go's retrypolicy, Hedge its hedgepolicy,
// Timeout and OverallTimeout its timeout, Fallback its fallback; each
// breaker's state machine (thresholds, windows, half-open successes,
// transitions) is its circuitbreaker; bulkheads are its bulkhead
// semaphores, and the [Middleware]'s limits its bulkhead and
// adaptivelimiter. The HTTP adaptation decides which outcomes are
// failures or retried (idempotency, statuses, Retry-After), replays
// bodies, and closes every response that is not returned. failsafehttp's
// RoundTripper is not used: it reads any request body whole, without a
// bound, and leaves the responses it does not return unclosed.
//
// Nor is failsafe.Executor, which on every call makes each policy's
// executor, composes them, and allocates an execution behind six
// pointers: about twenty allocations per request. A Transport composes its
// policies' executors once, when it is built, and runs each call on an
// execution of its own that follows failsafe-go's field for field, held
// by the call. Only failsafe-go's retry policy keeps state for a call,
// and it is made only when the first attempt's outcome is one it would
// retry: when that outcome is a success, or otherwise final, the policy
// could not act and is skipped. A Transport with none of Retry, Hedge,
// Timeout, OverallTimeout and Fallback makes no execution at all.
//
// Hand-written policy logic stays only where failsafe-go lacks the
// capability:
//
//   - Retry delays: failsafe-go's jitter would also jitter a server's
//     Retry-After, so the full-jitter backoff, or the hint, is computed by
//     Portico and handed to retrypolicy as its delay.
//   - [Budget]: failsafe-go's budget bounds concurrent retries relative to
//     concurrent executions, so it never refuses a caller that retries one
//     request at a time, and it is consulted after the backoff, dropping
//     the last response. Portico's counts retries and hedges over a sliding
//     window and refuses before the wait, returning the last answer.
//   - Hedge failover: failsafe-go's hedgepolicy waits out its delay even
//     when every attempt in flight has already failed; Portico sends the
//     next hedge at once. The quantile delay is Portico's too: failsafe-go's
//     does not hedge at all until it has seen enough executions, where
//     Portico hedges after Delay.
//   - Circuit breakers per key: a failsafe-go breaker is one breaker, so
//     Portico keeps one per key, and re-keys an attempt with [Instance].
//     Its open period runs on [BreakerConfig].Now (failsafe-go's reads the
//     wall clock); half-open probes are counted by Portico so that a probe
//     whose outcome says nothing about the upstream (cancelled by its
//     caller, refused by the bulkhead) is given back, where failsafe-go
//     counts every permitted call as a success or a failure; SlowCall, and
//     ConsecutiveFailures beside FailureRate, are Portico's.
//   - Bulkhead slots are held until the response body is closed, where
//     failsafe-go's bulkhead policy releases them when the call returns.
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
// connection is reused. [Hedge] races idempotent requests; a connection
// error, a timeout or a 5xx from one attempt never wins while another may
// still succeed. A [Budget] caps retries and hedges to a fraction of
// requests, so an outage cannot multiply the load.
//
// # Errors
//
// Every policy error is an [*Error] that matches its sentinel
// ([ErrCircuitOpen], [ErrBulkheadFull], [ErrRetriesExceeded],
// [ErrTimeout], [ErrBudgetExhausted], [ErrLimitExceeded], [ErrShed]) with
// errors.Is, and failsafe-go's matching sentinel too (such as
// circuitbreaker.ErrOpen), and unwraps to its cause. [HTTPStatus] maps any error to the
// status a gateway answers with, and [RetryAfter] gives the hint to send
// in Retry-After.
//
// # Observability
//
// Hooks (OnRetry, OnHedge, OnStateChange, OnReject, OnExhausted,
// OnLimitChange) report
// events as they happen; [Transport.Breakers] returns the breakers' state
// for an admin endpoint; OpenTelemetry metrics
// (portico.resilience.retries, .hedges, .hedge_wins, .rejections, .breaker.state and
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
// func so tests never sleep across a boundary.
//
// # Concurrency
//
// A [Transport], a [Budget] and the handler returned by [Middleware] are
// safe for concurrent use. Config structs are copied at construction and
// may be reused.
package resilience
