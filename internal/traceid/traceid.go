// Package traceid carries the trace ID of a request in a context, so that
// internal/problem can write it in error documents without importing
// OpenTelemetry. The public middleware package, which starts the
// request's server span, answers [Key] with the span's trace ID; other
// code may set one with [NewContext].
package traceid

import (
	"context"
	"encoding/hex"
)

// Key is the context key whose value is the request's trace ID, an [ID].
type Key struct{}

// ID is a W3C trace ID, the same 16 bytes as OpenTelemetry's trace.TraceID.
type ID [16]byte

// String returns the ID in lower-case hex, as traceparent writes it.
func (id ID) String() string { return hex.EncodeToString(id[:]) }

// NewContext returns a copy of ctx that carries id.
func NewContext(ctx context.Context, id ID) context.Context {
	return context.WithValue(ctx, Key{}, id)
}

// FromContext returns the trace ID ctx carries, and false if it carries
// none or the zero ID.
func FromContext(ctx context.Context) (ID, bool) {
	id, ok := ctx.Value(Key{}).(ID)
	return id, ok && id != ID{}
}
