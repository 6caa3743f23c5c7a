package gateway

import (
	"context"

	"github.com/go-chi/chi/v5"
)

// routeContext is the context of a request a route serves: its parent
// and the route's chi routing context (path parameters and the matched
// template, for [chi.URLParam], [chi.RouteContext] and the rewriter), in
// one allocation. Route lookup itself runs on pooled chi contexts.
type routeContext struct {
	context.Context
	rctx     chi.Context
	keys     [2]string
	values   [2]string
	patterns [1]string
}

// withRoute returns parent carrying a routing context with found's path
// parameters and pattern as the matched template, once.
func withRoute(parent context.Context, found *chi.Context, pattern string) context.Context {
	c := &routeContext{Context: parent}
	c.rctx.URLParams.Keys = append(c.keys[:0:len(c.keys)], found.URLParams.Keys...)
	c.rctx.URLParams.Values = append(c.values[:0:len(c.values)], found.URLParams.Values...)
	c.patterns[0] = pattern
	c.rctx.RoutePatterns = c.patterns[:]
	return c
}

// Value returns the routing context for chi.RouteCtxKey, and asks the
// parent for any other key.
func (c *routeContext) Value(key any) any {
	if key == chi.RouteCtxKey {
		return &c.rctx
	}
	return c.Context.Value(key)
}
