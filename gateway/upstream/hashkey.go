package upstream

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/textproto"
	"strings"
	"time"
)

// HashKey selects the request key that [ConsistentHash] hashes on. Exactly
// one of Header, Cookie and ClientIP is set. A request that lacks the key
// (no such header or cookie) goes to an instance picked at random in
// proportion to weight, unless Sticky makes one up.
type HashKey struct {
	// Header hashes on the first value of this request header,
	// for example "X-User-ID".
	Header string `json:"header,omitempty" yaml:"header"`
	// Cookie hashes on the value of this cookie.
	Cookie string `json:"cookie,omitempty" yaml:"cookie"`
	// ClientIP hashes on the client's address, as returned by
	// Config.ClientIP.
	ClientIP bool `json:"client_ip,omitempty" yaml:"client_ip"`
	// Sticky, with Cookie, turns the cookie into a sticky session: when a
	// request carries no such cookie, the pool makes up a random key, hashes
	// on it, and adds a Set-Cookie for it (Path=/, HttpOnly, SameSite=Lax)
	// to the response, so the client keeps reaching the same instance.
	Sticky bool `json:"sticky,omitempty" yaml:"sticky"`
	// CookieTTL is the Max-Age of a sticky cookie.
	// If 0, the cookie lasts for the browser session.
	CookieTTL time.Duration `json:"cookie_ttl,omitempty" yaml:"cookie_ttl"`
	// CookieSecure marks a sticky cookie Secure, for clients that reach
	// the gateway over HTTPS (the pool cannot tell on its own).
	CookieSecure bool `json:"cookie_secure,omitempty" yaml:"cookie_secure"`
}

// ParseHashKey parses the short form of a [HashKey] used in configuration
// files: "header:<name>", "cookie:<name>", "sticky-cookie:<name>" (Cookie
// with Sticky) or "client_ip".
func ParseHashKey(s string) (HashKey, error) {
	kind, name, hasName := strings.Cut(strings.TrimSpace(s), ":")
	name = strings.TrimSpace(name)
	var k HashKey
	switch kind {
	case "client_ip":
		if hasName {
			return k, fmt.Errorf("hash key %q: client_ip takes no name", s)
		}
		k.ClientIP = true
		return k, nil
	case "header", "cookie", "sticky-cookie":
	default:
		return k, fmt.Errorf("hash key %q: use header:<name>, cookie:<name>, sticky-cookie:<name> or client_ip", s)
	}
	if name == "" || !validToken(name) {
		return k, fmt.Errorf("hash key %q: %s needs a name made of token characters, such as %s:session", s, kind, kind)
	}
	switch kind {
	case "header":
		k.Header = name
	case "cookie":
		k.Cookie = name
	default:
		k.Cookie, k.Sticky = name, true
	}
	return k, nil
}

// String returns the short form accepted by [ParseHashKey], or "" for the
// zero HashKey.
func (k HashKey) String() string {
	switch {
	case k.Header != "":
		return "header:" + k.Header
	case k.Cookie != "" && k.Sticky:
		return "sticky-cookie:" + k.Cookie
	case k.Cookie != "":
		return "cookie:" + k.Cookie
	case k.ClientIP:
		return "client_ip"
	}
	return ""
}

func (k HashKey) validate() error {
	n := 0
	if k.Header != "" {
		n++
		if !validToken(k.Header) {
			return fmt.Errorf("hash_on.header: %q is not a valid header name", k.Header)
		}
	}
	if k.Cookie != "" {
		n++
		if !validToken(k.Cookie) {
			return fmt.Errorf("hash_on.cookie: %q is not a valid cookie name", k.Cookie)
		}
	}
	if k.ClientIP {
		n++
	}
	switch {
	case n == 0:
		return errors.New("hash_on: consistent_hash needs a key; set header, cookie or client_ip")
	case n > 1:
		return errors.New("hash_on: set only one of header, cookie and client_ip")
	case k.Sticky && k.Cookie == "":
		return errors.New("hash_on.sticky: sticky sessions need hash_on.cookie")
	case k.CookieTTL < 0:
		return fmt.Errorf("hash_on.cookie_ttl: %v is negative; use 0 for a session cookie", k.CookieTTL)
	}
	return nil
}

// hasher extracts the hash key of a request.
type hasher struct {
	header   string // canonical
	cookie   string
	clientIP func(*http.Request) string
}

func newHasher(k HashKey, clientIP func(*http.Request) string) hasher {
	h := hasher{cookie: k.Cookie}
	if k.Header != "" {
		h.header = textproto.CanonicalMIMEHeaderKey(k.Header)
	}
	if k.ClientIP {
		h.clientIP = clientIP
		if h.clientIP == nil {
			h.clientIP = remoteHost
		}
	}
	return h
}

// key returns the request's hash key, or "" if it has none.
func (h *hasher) key(r *http.Request) string {
	switch {
	case h.header != "":
		if v := r.Header[h.header]; len(v) > 0 {
			return v[0]
		}
	case h.cookie != "":
		return cookieValue(r.Header, h.cookie)
	case h.clientIP != nil:
		return h.clientIP(r)
	}
	return ""
}

// remoteHost returns the host part of r.RemoteAddr.
func remoteHost(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// cookieValue returns the value of the first cookie called name in the
// Cookie headers of h, with surrounding double quotes removed, or "" if
// there is none. Unlike [http.Request.Cookie] it does not allocate.
func cookieValue(h http.Header, name string) string {
	for _, line := range h["Cookie"] {
		for line != "" {
			var part string
			part, line, _ = strings.Cut(line, ";")
			part = textproto.TrimString(part)
			n, v, ok := strings.Cut(part, "=")
			if !ok || n != name {
				continue
			}
			if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
				v = v[1 : len(v)-1]
			}
			return v
		}
	}
	return ""
}

// validToken reports whether s is a non-empty RFC 9110 token.
func validToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// hashString is FNV-1a over s followed by a 64-bit finalizer, so that
// similar keys ("user-1", "user-2") land far apart on the ring. It is
// stable across processes and versions, so that every gateway replica maps
// a key to the same instance.
func hashString(s string) uint64 {
	const (
		offset = 14695981039346656037
		prime  = 1099511628211
	)
	h := uint64(offset)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= prime
	}
	return mix64(h)
}

// mix64 is the finalizer of MurmurHash3.
func mix64(h uint64) uint64 {
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return h
}
