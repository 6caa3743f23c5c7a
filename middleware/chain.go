package middleware

import (
	"fmt"
	"net/http"
	"slices"
)

// Chain composes middleware into one. The first middleware is the
// outermost: it sees the request first and the response last.
//
//	Chain(a, b, c)(h)  ==  a(b(c(h)))
//
//	request  ──► a ──► b ──► c ──► h
//	response ◄── a ◄── b ◄── c ◄── h
//
// The list is copied, so changing the caller's slice afterwards has no
// effect. Chain panics if a middleware is nil.
func Chain(mws ...func(http.Handler) http.Handler) func(http.Handler) http.Handler {
	mws = slices.Clone(mws)
	for i, mw := range mws {
		if mw == nil {
			panic(fmt.Sprintf("portico/middleware: Chain: middleware %d is nil", i))
		}
	}
	return func(h http.Handler) http.Handler {
		for i := len(mws) - 1; i >= 0; i-- {
			h = mws[i](h)
		}
		return h
	}
}
