// Package wire holds what the aiclient adapters share: the resilient
// HTTP client (retries and a per-deployment circuit breaker from the
// resilience package), request sending, error shaping, key redaction,
// body merging for [github.com/portico-dev/portico/aiclient.Request.Extra],
// and the event queue their stream state machines fill.
//
// Everything here is safe for concurrent use except [Queue], which
// belongs to one stream.
package wire
