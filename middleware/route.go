package middleware

import (
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"
)

// RoutePattern returns the route template that matched r, such as
// "/orders/{id}", for span names, metrics and logs, whose cardinality must
// stay low. It returns "" if no route is known. It looks, in order, at:
//
//  1. the pattern recorded with [SetRoutePattern] (or captured from an inner
//     router by the middleware of this package);
//  2. chi's routing context, [chi.Context.RoutePattern];
//  3. the standard library's [http.Request.Pattern], set by [http.ServeMux],
//     without its method and host.
//
// The middleware of this package install a slot in the request context that
// an inner router fills, so RoutePattern also works when they are mounted
// outside the router and read it after the router has returned.
func RoutePattern(r *http.Request) string {
	ctx := r.Context()
	s := stateFrom(ctx)
	if s != nil && s.route != "" {
		return s.route
	}
	var rc *chi.Context
	if s != nil && s.ownChi {
		rc = s.chi.Load() // nil unless a chi router asked for it
	} else {
		rc = chi.RouteContext(ctx)
	}
	if rc != nil && len(rc.RoutePatterns) > 0 {
		if p := rc.RoutePattern(); p != "" {
			return p
		}
	}
	return patternPath(r.Pattern)
}

// patternPath drops the method and host of an http.ServeMux pattern,
// "GET example.com/orders/{id}", keeping "/orders/{id}".
func patternPath(p string) string {
	if i := strings.IndexAny(p, " \t"); i >= 0 {
		p = strings.TrimLeft(p[i:], " \t")
	}
	if i := strings.IndexByte(p, '/'); i > 0 {
		p = p[i:]
	}
	return p
}

// SetRoutePattern records the route template that matched r, for routers
// other than chi and http.ServeMux (the gateway records its own route
// templates this way). It has no effect unless a middleware of this package
// runs outside the router, which is what installs the slot.
func SetRoutePattern(r *http.Request, pattern string) {
	if s := stateFrom(r.Context()); s != nil {
		s.route = pattern
	}
}

// SetRouteContext makes rc the chi routing context of r and of the
// requests made from it, in the slot a middleware of this package
// installed outside the router, so that a router other than chi that
// fills a [chi.Context] (for URL parameters) need not copy r to carry it.
// It reports whether it did: it does not when no such slot is installed,
// when a chi router outside already routes r, or when the slot's context
// was already handed out; put rc in a copy of r's context then.
func SetRouteContext(r *http.Request, rc *chi.Context) bool {
	s := stateFrom(r.Context())
	return s != nil && s.ownChi && s.chi.CompareAndSwap(nil, rc)
}

// routeAfter returns the route pattern once the handler has returned, and
// keeps it in the slot so that the other middleware do not compute it again.
func routeAfter(r *http.Request) string {
	p := RoutePattern(r)
	if s := stateFrom(r.Context()); s != nil && p != "" {
		s.route = p
	}
	return p
}

// noteRoute keeps the pattern an http.ServeMux wrote on the request copy
// that a middleware passed down, which its callers never see.
func noteRoute(s *state, r *http.Request) {
	if s != nil && s.route == "" && r.Pattern != "" {
		s.route = patternPath(r.Pattern)
	}
}
