package middleware

import (
	"context"
	"math/rand/v2"
	"net/http"
	"strings"
	"time"

	"github.com/portico-dev/portico/internal/requestid"
)

// RequestIDConfig configures [RequestID]. The zero value is ready to use.
type RequestIDConfig struct {
	// Header is the request and response header that carries the ID.
	// If empty, "X-Request-ID" is used.
	Header string
	// MaxLength bounds an accepted inbound ID. If zero, 128 is used.
	MaxLength int
	// IgnoreInbound makes every request get a new ID, even if it arrived
	// with a well-formed one (for a service at the edge that does not trust
	// its callers' IDs). By default a well-formed inbound ID is kept.
	IgnoreInbound bool
	// Generate returns a new ID. It must be safe for concurrent use and
	// return IDs made of the characters an inbound ID may use. If nil, a
	// 26-character ULID is generated: time-ordered, 80 random bits.
	Generate func() string
}

// RequestID gives every request an ID for correlating logs, traces and
// error documents. It keeps a well-formed inbound ID: 1 to MaxLength bytes
// of ASCII letters, digits and "-_.:+=/@"; anything else (too long, empty,
// spaces, control or non-ASCII bytes) is replaced by a new ID. The ID is
// set on the response header and stored in the request context, where
// [RequestIDFrom] reads it and problem documents pick it up.
//
// The request's own headers are left as they arrived, so a rejected
// inbound value is still in r.Header: read the ID with [RequestIDFrom],
// and a proxy behind RequestID sends it on by setting the header in its
// outbound request, replacing whatever the client sent:
//
//	Rewrite: func(pr *httputil.ProxyRequest) {
//		pr.Out.Header.Set("X-Request-ID", middleware.RequestIDFrom(pr.In.Context()))
//	}
//
// The gateway does this for every upstream request, and [Compose] for
// every call it makes.
func RequestID(cfg RequestIDConfig) func(http.Handler) http.Handler {
	header := http.CanonicalHeaderKey(cfg.Header)
	if header == "" {
		header = "X-Request-Id"
	}
	maxLen := cfg.MaxLength
	if maxLen < 0 {
		panic("portico/middleware: RequestID needs MaxLength >= 0")
	}
	if maxLen == 0 {
		maxLen = 128
	}
	gen := cfg.Generate
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			var id string
			if !cfg.IgnoreInbound {
				if v := r.Header[header]; len(v) == 1 && validRequestID(v[0], maxLen) {
					id = v[0]
				}
			}
			ctx := r.Context()
			s := stateFrom(ctx)
			own := s == nil
			if own {
				s = newState(ctx)
			}
			if id == "" {
				if gen != nil {
					id = gen()
				} else {
					id = newULID(s.started())
				}
			}
			if own {
				// The state it installs carries the ID: one context node.
				s.id = requestid.Value{Header: header, ID: id}
				r = r.WithContext(s)
			} else {
				r = r.WithContext(requestid.NewContext(ctx, header, id))
			}
			if s.idHeader[0] == "" {
				s.idHeader[0] = id
				w.Header()[header] = s.idHeader[:]
			} else {
				w.Header().Set(header, id)
			}
			next.ServeHTTP(w, r)
		})
	}
}

// RequestIDFrom returns the request ID that [RequestID] stored in ctx, or
// "" if there is none.
func RequestIDFrom(ctx context.Context) string {
	return requestid.FromContext(ctx)
}

// validRequestID reports whether an inbound ID is safe to reuse in headers
// and logs.
func validRequestID(s string, maxLen int) bool {
	if len(s) == 0 || len(s) > maxLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !idByte(s[i]) {
			return false
		}
	}
	return true
}

// idByte reports whether c may appear in an inbound request ID.
func idByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		strings.IndexByte("-_.:+=/@", c) >= 0
}

// crockford is the ULID alphabet.
const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// newULID returns a ULID: 48 bits of Unix milliseconds then 80 random bits
// from the runtime's ChaCha8 generator, in Crockford base32.
func newULID(now time.Time) string {
	ms := uint64(now.UnixMilli())
	hi := uint64(rand.Uint32() & 0xffff)
	lo := rand.Uint64()
	var b [26]byte
	// 10 characters of time (50 bits, top 2 zero).
	for i := 9; i >= 0; i-- {
		b[i] = crockford[ms&31]
		ms >>= 5
	}
	// 16 characters of randomness: 80 bits = hi (16) + lo (64).
	for i := 25; i >= 10; i-- {
		b[i] = crockford[lo&31]
		lo = lo>>5 | (hi&31)<<59
		hi >>= 5
	}
	return string(b[:])
}
