// Package requestid carries the request ID in a context. It lets
// internal/problem put the ID in error documents without importing the
// public middleware package that generates it.
package requestid

import "context"

type key struct{}

// NewContext returns a copy of ctx that carries id.
func NewContext(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, key{}, id)
}

// FromContext returns the request ID stored in ctx, or "" if there is none.
func FromContext(ctx context.Context) string {
	id, _ := ctx.Value(key{}).(string)
	return id
}
