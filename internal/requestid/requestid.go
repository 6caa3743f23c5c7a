// Package requestid carries the request ID in a context, with the header
// that carries it on the wire. It lets internal/problem put the ID in error
// documents, and the gateway send it upstream, without importing the public
// middleware package that generates it.
package requestid

import "context"

type key struct{}

// value is what a context holds: the ID and its canonical header name.
type value struct{ header, id string }

// NewContext returns a copy of ctx that carries id, sent in the header
// named header (in canonical form).
func NewContext(ctx context.Context, header, id string) context.Context {
	return context.WithValue(ctx, key{}, value{header, id})
}

// FromContext returns the request ID stored in ctx, or "" if there is none.
func FromContext(ctx context.Context) string {
	v, _ := ctx.Value(key{}).(value)
	return v.id
}

// HeaderFrom returns the request ID stored in ctx and the canonical name
// of the header that carries it; both are "" if there is none.
func HeaderFrom(ctx context.Context) (header, id string) {
	v, _ := ctx.Value(key{}).(value)
	return v.header, v.id
}
