// Package requestid carries the request ID in a context, with the header
// that carries it on the wire. It lets internal/problem put the ID in error
// documents, and the gateway send it upstream, without importing the public
// middleware package that generates it.
package requestid

import "context"

// Key is the context key of the request ID. A context that holds the ID
// in a node of its own (such as the middleware's per-request state)
// answers it with a *Value.
type Key struct{}

// Value is what a context holds under Key: the ID and its canonical
// header name.
type Value struct{ Header, ID string }

// NewContext returns a copy of ctx that carries id, sent in the header
// named header (in canonical form).
func NewContext(ctx context.Context, header, id string) context.Context {
	return context.WithValue(ctx, Key{}, &Value{header, id})
}

// FromContext returns the request ID stored in ctx, or "" if there is none.
func FromContext(ctx context.Context) string {
	if v, _ := ctx.Value(Key{}).(*Value); v != nil {
		return v.ID
	}
	return ""
}

// HeaderFrom returns the request ID stored in ctx and the canonical name
// of the header that carries it; both are "" if there is none.
func HeaderFrom(ctx context.Context) (header, id string) {
	if v, _ := ctx.Value(Key{}).(*Value); v != nil {
		return v.Header, v.ID
	}
	return "", ""
}
