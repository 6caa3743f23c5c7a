package ratelimit

import (
	"net/http"
	"net/netip"

	"github.com/portico-dev/portico/middleware"
	"github.com/portico-dev/portico/middleware/internal/forwarded"
)

// KeyFunc names the rate-limit bucket (or quota counter) a request counts
// against. An empty key means the request is not limited by this policy.
type KeyFunc func(r *http.Request) string

// ByConsumer keys by [middleware.Consumer.ID]; anonymous requests get "".
func ByConsumer(r *http.Request) string {
	if c := middleware.ConsumerFrom(r.Context()); c != nil {
		return c.ID
	}
	return ""
}

// ByTenant keys by [middleware.Consumer.Tenant], so a team shares one limit.
func ByTenant(r *http.Request) string {
	if c := middleware.ConsumerFrom(r.Context()); c != nil {
		return c.Tenant
	}
	return ""
}

// ByAPIKey keys by the ID of the API key that authenticated the
// request, so each of a consumer's keys has its own limit.
func ByAPIKey(r *http.Request) string {
	if c := middleware.ConsumerFrom(r.Context()); c != nil && c.Method == "apikey" {
		return c.Credential
	}
	return ""
}

// ByIP keys by the client IP address. IPv6 addresses are grouped by
// their /64 prefix, since one client usually holds a whole /64.
//
// The address is the one [middleware.ClientIP] resolved (the real client behind
// trusted proxies), or else the peer address of r.RemoteAddr.
func ByIP(r *http.Request) string {
	a, ok := middleware.ClientIPFrom(r.Context())
	if !ok {
		if a, ok = forwarded.PeerAddr(r.RemoteAddr); !ok {
			return r.RemoteAddr
		}
	}
	return ipKey(a.Unmap())
}

func ipKey(a netip.Addr) string {
	if a.Is4() {
		return a.String()
	}
	p, _ := a.WithZone("").Prefix(64)
	return p.String()
}

// ByHeader keys by the value of a request header.
func ByHeader(name string) KeyFunc {
	name = http.CanonicalHeaderKey(name)
	return func(r *http.Request) string { return r.Header.Get(name) }
}

// ByRoute keys by the route template, such as "/orders/{id}" (see
// [middleware.RoutePattern]), so each route of a router has its own bucket when the
// limiter is mounted once for all of them. The template is only known
// inside the router; where it is not, the key is "" and the request is not
// limited, so mount the limiter within the router or combine it, as in
// FirstOf(ByRoute, Shared).
func ByRoute(r *http.Request) string { return middleware.RoutePattern(r) }

// Shared gives every request the same key, so all callers of the route
// the middleware is mounted on share one limit.
func Shared(*http.Request) string { return "route" }

// FirstOf returns the first non-empty key of fns, such as
// FirstOf(ByConsumer, ByIP) to limit consumers by ID and anonymous
// callers by address.
func FirstOf(fns ...KeyFunc) KeyFunc {
	return func(r *http.Request) string {
		for _, f := range fns {
			if k := f(r); k != "" {
				return k
			}
		}
		return ""
	}
}
