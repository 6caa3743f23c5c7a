package cache

import (
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/portico-dev/portico/middleware"
	"github.com/portico-dev/portico/middleware/internal/headerlist"
)

// A cache key is a sequence of fields, each written as its length in
// decimal, a colon and its bytes, so no field can pass for another
// whatever it holds: a path, a query or a consumer ID containing the
// bytes of a separator stays inside its own field. The primary key holds
// the namespace, the scope, the API version, the host, the path and the
// query; a variant key adds, for each field named by Vary, its name and
// the request's values ("-" for an absent field, which matches only
// another absent one).

// appendField appends s as one length-prefixed key field.
func appendField(b []byte, s string) []byte {
	b = strconv.AppendInt(b, int64(len(s)), 10)
	b = append(b, ':')
	return append(b, s...)
}

// key is the primary key of r: where its response, or the variant index
// of its responses, is stored.
func (c *httpCache) key(r *http.Request) string {
	scope := ""
	if c.scope != nil {
		scope = c.scope(r)
	}
	path := r.URL.EscapedPath()
	var buf [256]byte
	b := append(buf[:0], c.ns...)
	b = appendField(b, scope)
	b = appendField(b, middleware.VersionFrom(r.Context()))
	b = appendField(b, r.Host)
	b = appendField(b, path)
	b = appendField(b, r.URL.RawQuery)
	return string(b)
}

// variantKey is the key of the variant of key that r selects among the
// responses varying on the request fields vary.
func variantKey(key string, vary []string, r *http.Request) string {
	var buf [256]byte
	b := append(buf[:0], key...)
	b = append(b, "|vary"...)
	for _, name := range vary {
		b = appendField(b, name)
		values := r.Header.Values(name)
		if len(values) == 0 {
			b = append(b, '-')
			continue
		}
		b = appendField(b, varyValue(values))
	}
	return string(b)
}

// varyValue joins a field's values as one line with each list member
// trimmed, so that "a, b" on one line and "a" and "b" on two select the
// same variant (RFC 9110 section 5.3, RFC 9111 section 4.1).
func varyValue(values []string) string {
	if len(values) == 1 && !strings.ContainsAny(values[0], ",\"") {
		return strings.TrimSpace(values[0])
	}
	var s strings.Builder
	first := true
	for _, line := range values {
		for line != "" {
			var member string
			member, line = headerlist.Next(line)
			if !first {
				s.WriteByte(',')
			}
			first = false
			s.WriteString(strings.TrimSpace(member))
		}
	}
	return s.String()
}

// varyNames returns the request fields named by the Vary lines of h,
// canonical, sorted and without repeats; "*" stays as it is.
func varyNames(h http.Header) []string {
	var names []string
	for _, line := range h.Values("Vary") {
		for f := range strings.SplitSeq(line, ",") {
			if f = strings.TrimSpace(f); f != "" {
				names = append(names, http.CanonicalHeaderKey(f))
			}
		}
	}
	slices.Sort(names)
	return slices.Compact(names)
}

// varyAny reports whether h says Vary: * on any of its Vary lines: the
// response depends on more than request fields and is never stored.
func varyAny(h http.Header) bool {
	for _, line := range h.Values("Vary") {
		for f := range strings.SplitSeq(line, ",") {
			if strings.TrimSpace(f) == "*" {
				return true
			}
		}
	}
	return false
}

// copyHeader copies the fields of src into dst, replacing those dst has,
// except Vary: its values are added to those already in dst, since a
// middleware in front of the cache (CORS, Version) may have named request
// fields that the response depends on as well.
func copyHeader(dst, src http.Header) {
	for k, v := range src {
		if old := dst[k]; k == "Vary" && len(old) > 0 {
			dst[k] = mergeVary(old, v)
			continue
		}
		dst[k] = v
	}
}

// mergeVary returns the Vary lines of old followed by those of add that
// old does not already hold; it never writes into either slice.
func mergeVary(old, add []string) []string {
	out := old[:len(old):len(old)]
	for _, v := range add {
		if !slices.Contains(old, v) {
			out = append(out, v)
		}
	}
	return out
}
