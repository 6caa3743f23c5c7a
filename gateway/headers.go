package gateway

import (
	"net/http"
	"net/http/httputil"
	"net/netip"

	"github.com/portico-dev/portico/internal/requestid"
	"github.com/portico-dev/portico/middleware"
	"github.com/portico-dev/portico/middleware/auth"
)

// upstreamHeaders sets what the gateway vouches for in a request to an
// upstream (pr.Out, whose header map and URL the proxy owns), before the
// route's own header rules apply:
//
//   - from a client that is not a trusted proxy, every header that
//     claims a client address or a forwarding hop is removed (see
//     [clientIPHeader]); X-Forwarded-For, -Host and -Proto are set, and
//     X-Real-IP is the client address the gateway determined;
//   - the request ID is the one the gateway uses, never a value the
//     request_id middleware rejected;
//   - the credential the gateway consumed is removed, unless the route
//     forwards it ([Auth].ForwardCredentials); compose routes get the same
//     through [withoutCredential].
func (g *Gateway) upstreamHeaders(rt *route, pr *httputil.ProxyRequest) {
	trusted := g.trusted(pr.In.RemoteAddr)
	h := pr.Out.Header
	if !trusted {
		for k := range h {
			if clientIPHeader(k) {
				delete(h, k)
			}
		}
	}
	g.forwarded(pr, trusted)
	if a, ok := realIP(pr.In, trusted); ok {
		h["X-Real-Ip"] = []string{addrText(a, h["X-Forwarded-For"])}
	}
	if name, id := requestid.HeaderFrom(pr.In.Context()); id != "" {
		h[name] = []string{id}
	}
	if a := rt.spec.Policy.Auth; a == nil || !a.ForwardCredentials {
		auth.StripCredential(pr.Out)
	}
}

// withoutCredential hands next a copy of the request without the
// credential the gateway consumed, for handlers that build their own
// upstream requests from it (compose calls copy headers and query values).
func withoutCredential(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r2 := r.Clone(r.Context())
		auth.StripCredential(r2)
		next.ServeHTTP(w, r2)
	})
}

// addrText returns a.String(), reusing the text SetXForwarded wrote for
// an IPv4 client (whose text form is unique) instead of formatting it
// again.
func addrText(a netip.Addr, xff []string) string {
	if a.Is4() && len(xff) == 1 {
		if p, err := netip.ParseAddr(xff[0]); err == nil && p == a {
			return xff[0]
		}
	}
	return a.String()
}

// realIP returns the client address for X-Real-IP: the one the client_ip
// middleware found, else the peer's when the peer is the client. Behind a
// trusted proxy without client_ip, the proxy's own X-Real-IP stands.
func realIP(in *http.Request, trusted bool) (netip.Addr, bool) {
	if a, ok := middleware.ClientIPFrom(in.Context()); ok {
		return a, true
	}
	if trusted {
		return netip.Addr{}, false
	}
	ap, err := netip.ParseAddrPort(in.RemoteAddr)
	if err != nil {
		return netip.Addr{}, false
	}
	return ap.Addr().Unmap().WithZone(""), true
}

// upstreamResponse removes the request ID header from an upstream
// response when the gateway has a request ID: the client gets the
// gateway's, set by the request_id middleware, once.
func upstreamResponse(resp *http.Response) {
	if resp.Request == nil {
		return
	}
	if name, id := requestid.HeaderFrom(resp.Request.Context()); id != "" {
		delete(resp.Header, name)
	}
}

// dropForwarding removes the forwarding headers the gateway sets itself,
// as httputil.ReverseProxy does before its Rewrite.
func dropForwarding(h http.Header) {
	for _, k := range [...]string{"Forwarded", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto"} {
		delete(h, k)
	}
}

// clientIPHeader reports whether the header named k claims the client's
// address or a forwarding hop: X-Real-IP, True-Client-IP, the CDNs' and
// clouds' client-IP headers, and every X-Forwarded-* header. Names are
// compared ignoring case and treating "_" as "-", since some upstream
// servers (CGI, PHP, some proxies) read X_Real_IP as X-Real-IP.
func clientIPHeader(k string) bool {
	var b [32]byte
	n := min(len(k), len(b))
	for i := range n {
		c := k[i]
		switch {
		case c == '_':
			c = '-'
		case 'A' <= c && c <= 'Z':
			c += 'a' - 'A'
		}
		b[i] = c
	}
	f := b[:n]
	const xf = "x-forwarded-"
	if n > len(xf) && string(f[:len(xf)]) == xf {
		return true
	}
	if len(k) > n {
		return false
	}
	switch string(f) {
	case "x-real-ip", "true-client-ip", "x-client-ip", "client-ip", "x-cluster-client-ip",
		"cf-connecting-ip", "cf-connecting-ipv6", "cf-pseudo-ipv4", "fastly-client-ip",
		"cloudfront-viewer-address", "x-azure-clientip", "x-azure-socketip", "x-appengine-user-ip",
		"x-envoy-external-address", "x-original-forwarded-for", "x-forwarded", "forwarded-for",
		"forwarded", "x-originating-ip", "x-remote-ip", "x-remote-addr", "x-proxyuser-ip",
		"proxy-client-ip", "wl-proxy-client-ip":
		return true
	}
	return false
}
