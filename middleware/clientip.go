package middleware

import (
	"context"
	"fmt"
	"net/http"
	"net/netip"
	"strings"

	"github.com/portico-dev/portico/middleware/internal/forwarded"
)

// ClientIPConfig configures [ClientIP]. The zero value trusts no proxy: the
// client IP is the peer address.
type ClientIPConfig struct {
	// TrustedProxies lists the networks of the proxies in front of this
	// server. Forwarding headers are read only when the peer is in one of
	// them. By default none is trusted.
	TrustedProxies []netip.Prefix
	// Header names the forwarding header the trusted proxies set:
	// "X-Forwarded-For" (the default), "Forwarded" (RFC 7239), or another
	// header holding a comma-separated list of addresses, such as
	// "X-Real-IP". Only one is read, because a header the proxies do not
	// set is under the client's control.
	Header string
}

// ClientIP finds the address of the client behind trusted proxies and
// stores it in the request context for [ClientIPFrom].
//
// If the peer is not a trusted proxy, the peer is the client and the
// forwarding header is ignored, so a client cannot spoof its address. If it
// is, ClientIP walks the header from the right, skipping addresses of
// trusted proxies, and takes the first untrusted one. When the walk meets
// an entry that is not an address ("unknown", an obfuscated identifier,
// garbage), it stops and takes the last trusted hop it passed. Addresses
// may carry ports, IPv6 ones in brackets; RFC 7239 values may be quoted.
func ClientIP(cfg ClientIPConfig) func(http.Handler) http.Handler {
	trusted := make([]netip.Prefix, 0, len(cfg.TrustedProxies))
	for i, p := range cfg.TrustedProxies {
		if !p.IsValid() {
			panic(fmt.Sprintf("portico/middleware: ClientIP: TrustedProxies[%d] is not a valid prefix", i))
		}
		trusted = append(trusted, netip.PrefixFrom(p.Addr().Unmap(), unmappedBits(p)).Masked())
	}
	header := http.CanonicalHeaderKey(cfg.Header)
	if header == "" {
		header = "X-Forwarded-For"
	}
	rfc7239 := header == "Forwarded"
	isTrusted := func(a netip.Addr) bool {
		for _, p := range trusted {
			if p.Contains(a) {
				return true
			}
		}
		return false
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s, r2 := withState(r)
			s.ip, s.ipOK = forwarded.PeerAddr(r.RemoteAddr)
			if s.ipOK && len(trusted) > 0 && isTrusted(s.ip) {
				if lines := r.Header[header]; len(lines) > 0 {
					var buf [8]string
					var nodes []string
					if rfc7239 {
						nodes = forwarded.AppendFor(buf[:0], lines)
					} else {
						nodes = forwarded.AppendXFF(buf[:0], lines)
					}
					s.ip = walk(nodes, s.ip, isTrusted)
				}
			}
			next.ServeHTTP(w, r2)
			noteRoute(s, r2)
		})
	}
}

// walk returns the rightmost untrusted address in nodes; hop is the
// trusted peer the walk starts from.
func walk(nodes []string, hop netip.Addr, isTrusted func(netip.Addr) bool) netip.Addr {
	for i := len(nodes) - 1; i >= 0; i-- {
		a, ok := forwarded.ParseNode(nodes[i])
		if !ok {
			return hop
		}
		if !isTrusted(a) {
			return a
		}
		hop = a
	}
	return hop
}

// unmappedBits returns p's length counted on its unmapped address.
func unmappedBits(p netip.Prefix) int {
	if p.Addr().Is4In6() {
		return max(p.Bits()-96, 0)
	}
	return p.Bits()
}

// ClientIPFrom returns the client address that [ClientIP] stored in ctx,
// and false if there is none (no ClientIP middleware ran, or the peer
// address was not an IP address, as on a Unix socket).
func ClientIPFrom(ctx context.Context) (netip.Addr, bool) {
	s := stateFrom(ctx)
	if s == nil || !s.ipOK {
		return netip.Addr{}, false
	}
	return s.ip, true
}

// addrString returns a.String(), without allocating when a is the IPv4
// peer of remote ("192.0.2.1:5000" holds "192.0.2.1", and an IPv4
// address netip parses has one text form): the access log names the
// client of every request.
func addrString(a netip.Addr, remote string) string {
	if a.Is4() {
		if i := strings.LastIndexByte(remote, ':'); i > 0 {
			if p, err := netip.ParseAddr(remote[:i]); err == nil && p == a {
				return remote[:i]
			}
		}
	}
	return a.String()
}
