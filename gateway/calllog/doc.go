// Package calllog records one [Record] per call through the gateway and
// aggregates the records into the trends an operator watches: request
// rate, error rate, latency percentiles, AI tokens and cost, per API,
// consumer and tenant.
//
// # Recording
//
// [Middleware] builds a Record for every request (time, tenant, consumer,
// API, route, method, status, latency, bytes, request ID, trace ID) and
// lets inner handlers add what only they know through [FromContext]: the
// upstream instance, retries, the error kind, the AI model, tokens and
// cost. The finished record goes to a [Recorder], which never blocks a
// request: it copies the record into a bounded queue, or drops and counts
// it ([Recorder.Dropped]) when the queue is full. One background goroutine
// hands batches to the [Sink] implementations:
//
//   - [Slog] writes one structured log line per call (the default);
//   - [Ring] keeps the latest records in memory, for the admin API and the
//     dashboard's "latest errors" ([Ring.Query] filters by tenant,
//     consumer, API, failures);
//   - [Aggregator] keeps per-window aggregates ([Aggregator.Series],
//     [Aggregator.Summary]);
//   - [Metrics] counts calls, latency, tokens and cost in OpenTelemetry
//     instruments labelled with the tenant and the API;
//   - [Loki] pushes to Loki's push API (Grafana Loki, or any receiver of
//     that API, such as VictoriaLogs), in streams labelled by tenant, API
//     and status class, with the record as a JSON line;
//   - [File] appends JSON lines to a file rotated by size.
//   - the telemetry package's CallLog emits OpenTelemetry log records,
//     exported over OTLP (it lives there so this package links no log SDK).
//
// Several sinks may run at once. Wrap each remote one in [Async]: it gets
// its own bounded queue and goroutine, so a slow or unreachable destination
// drops (and counts, in portico.calllog.dropped) its own records instead of
// delaying the others.
//
// # Percentiles
//
// Latency percentiles come from a [Sketch], a relative-error histogram in
// the manner of DDSketch: with the default accuracy every percentile is
// within 0.5% of the exact percentile of the recorded latencies, in memory
// that grows with the logarithm of the latency range, and sketches of
// several windows, APIs or tenants merge exactly.
//
// # Tenants
//
// Every record carries its tenant, and every aggregate is kept per tenant:
// a query that sets a tenant ([Filter.Tenant], [Query.Tenant]) never sees
// another tenant's calls.
//
// # Concurrency
//
// [Recorder], [Ring], [Aggregator], [AsyncSink] and [FileSink] are safe for concurrent use; a
// [Sketch] is not. A Record returned by [FromContext] belongs to the
// request's handler until it returns.
package calllog
