// Package ctxkey holds the context keys that middleware and its
// subpackages share, so that one context node can answer for several of
// them (the consumer and its credential, set by one authenticator).
package ctxkey

// Consumer finds the *middleware.Consumer in a context.
type Consumer struct{}
