package cache

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/portico-dev/portico/middleware/internal/headerlist"
)

// cacheControl holds parsed Cache-Control directives: lower-case names to
// unquoted values ("" for a directive without a value).
type cacheControl map[string]string

// parseCacheControl parses every Cache-Control field line in values
// (RFC 9111 section 5.2). Unknown directives are kept; malformed members
// are skipped rather than failing the whole field.
func parseCacheControl(values []string) cacheControl {
	if len(values) == 0 {
		return nil
	}
	cc := make(cacheControl, 4)
	for _, line := range values {
		for line != "" {
			var member string
			member, line = headerlist.Next(line)
			name, value, hasValue := strings.Cut(member, "=")
			name = strings.ToLower(strings.TrimSpace(name))
			if name == "" || strings.ContainsAny(name, " \t\"") {
				continue
			}
			if hasValue {
				value = ccUnquote(strings.TrimSpace(value))
			}
			if _, dup := cc[name]; !dup {
				cc[name] = value
			}
		}
	}
	return cc
}

// ccUnquote removes the quotes and backslash escapes of an HTTP quoted
// string; anything else is returned as is.
func ccUnquote(s string) string {
	if len(s) < 2 || s[0] != '"' || s[len(s)-1] != '"' {
		return s
	}
	s = s[1 : len(s)-1]
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// seconds reads a delta-seconds directive; ok is false when it is absent
// or malformed. Values past the int range are capped, as RFC 9111 asks.
func (cc cacheControl) seconds(name string) (time.Duration, bool) {
	v, ok := cc[name]
	if !ok || v == "" {
		return 0, false
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return 0, false
	}
	if n > 1<<31 {
		n = 1 << 31
	}
	return time.Duration(n) * time.Second, true
}

func (cc cacheControl) has(name string) bool {
	_, ok := cc[name]
	return ok
}

// cacheableStatus lists the status codes stored by default: the codes RFC
// 9110 section 15.1 calls heuristically cacheable, without 206 (ranges)
// and 405.
func cacheableStatus(code int) bool {
	switch code {
	case 200, 203, 204, 300, 301, 308, 404, 410, 414, 501:
		return true
	}
	return false
}

// cacheHopByHop are the fields never stored nor replayed.
var cacheHopByHop = []string{
	"Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization",
	"Proxy-Connection", "Te", "Trailer", "Transfer-Encoding", "Upgrade", "Cache-Status",
}

// storableHeader returns a copy of h without hop-by-hop fields.
func storableHeader(h http.Header) http.Header {
	out := h.Clone()
	if out == nil {
		out = http.Header{}
	}
	for _, f := range out.Values("Connection") {
		for _, name := range strings.Split(f, ",") {
			out.Del(strings.TrimSpace(name))
		}
	}
	for _, name := range cacheHopByHop {
		out.Del(name)
	}
	out.Del("Age") // recomputed on every hit
	return out
}

// freshness decides whether a response may be stored and for how long it is
// fresh. why names the reason when it may not ("" when it may).
func (c *httpCache) freshness(r *http.Request, status int, h http.Header, now time.Time) (lifetime time.Duration, why string) {
	if !cacheableStatus(status) {
		return 0, "status"
	}
	cc := parseCacheControl(h.Values("Cache-Control"))
	switch {
	case cc.has("no-store"):
		return 0, "no-store"
	case cc.has("private"):
		return 0, "private"
	case h.Get("Set-Cookie") != "":
		return 0, "set-cookie"
	case varyAny(h):
		return 0, "vary"
	case strings.HasPrefix(strings.ToLower(h.Get("Content-Type")), "text/event-stream"):
		return 0, "streaming"
	}
	if r.Header.Get("Authorization") != "" && !c.allowAuth &&
		!cc.has("public") && !cc.has("s-maxage") && !cc.has("must-revalidate") {
		return 0, "authorization"
	}
	if n := h.Get("Content-Length"); n != "" {
		if size, err := strconv.ParseInt(n, 10, 64); err == nil && size > c.maxBody {
			return 0, "too-large"
		}
	}
	explicit := true
	if d, ok := cc.seconds("s-maxage"); ok {
		lifetime = d
	} else if d, ok := cc.seconds("max-age"); ok {
		lifetime = d
	} else if exp := h.Get("Expires"); exp != "" {
		t, err := http.ParseTime(exp)
		if err == nil {
			date := now
			if d, err := http.ParseTime(h.Get("Date")); err == nil {
				date = d
			}
			lifetime = t.Sub(date)
		}
	} else {
		explicit = false
		lifetime = c.ttl
	}
	if cc.has("no-cache") {
		lifetime = 0
	}
	if lifetime < 0 {
		lifetime = 0
	}
	if lifetime == 0 && !hasValidator(h) {
		if !explicit {
			return 0, "no-freshness"
		}
		return 0, "stale"
	}
	return lifetime, ""
}

func hasValidator(h http.Header) bool {
	return h.Get("ETag") != "" || h.Get("Last-Modified") != ""
}

// notModified reports whether the client's conditional request matches the
// response header h, so a 304 can be sent instead of the body
// (RFC 9110 section 13.2.2: If-None-Match first, If-Modified-Since only
// without it).
func notModified(r *http.Request, h http.Header) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return false
	}
	if inm := r.Header["If-None-Match"]; len(inm) > 0 {
		etag := h.Get("ETag")
		if etag == "" {
			return false
		}
		for _, line := range inm {
			for line != "" {
				var tag string
				tag, line = headerlist.Next(line)
				tag = strings.TrimSpace(tag)
				if tag == "*" || weakMatch(tag, etag) {
					return true
				}
			}
		}
		return false
	}
	if len(r.Header["If-Modified-Since"]) == 0 {
		return false
	}
	ims := r.Header["If-Modified-Since"][0]
	lm := h.Get("Last-Modified")
	if ims == "" || lm == "" {
		return false
	}
	since, err := http.ParseTime(ims)
	if err != nil {
		return false
	}
	mod, err := http.ParseTime(lm)
	if err != nil {
		return false
	}
	return !mod.After(since)
}

// weakMatch compares two entity tags with the weak comparison function.
func weakMatch(a, b string) bool {
	return strings.TrimPrefix(a, "W/") == strings.TrimPrefix(b, "W/")
}

// notModifiedFields are the fields a 304 carries (RFC 9110 section 15.4.5).
var notModifiedFields = []string{"Cache-Control", "Content-Location", "Date", "ETag", "Expires", "Vary", "Last-Modified"}

// writeNotModified answers 304 with the fields of h a 304 must repeat.
func writeNotModified(w http.ResponseWriter, h http.Header) {
	dst := w.Header()
	for _, name := range notModifiedFields {
		v := h.Values(name)
		switch key := http.CanonicalHeaderKey(name); {
		case len(v) == 0:
		case key == "Vary" && len(dst[key]) > 0:
			dst[key] = mergeVary(dst[key], v)
		default:
			dst[key] = v
		}
	}
	w.WriteHeader(http.StatusNotModified)
}

// updateFromNotModified returns a copy of e with the fields of a 304
// response merged in (RFC 9111 section 3.2).
func updateFromNotModified(e *Entry, h http.Header) *Entry {
	n := *e
	n.Header = e.Header.Clone()
	for name, vs := range storableHeader(h) {
		switch name {
		case "Content-Length", "Content-Encoding", "Content-Type", "Content-Range":
			continue
		}
		n.Header[name] = vs
	}
	return &n
}

// initialAge reads the Age field of an upstream response.
func initialAge(h http.Header) time.Duration {
	v := h.Get("Age")
	if v == "" {
		return 0
	}
	n, err := strconv.ParseUint(v, 10, 32)
	if err != nil {
		return 0
	}
	return time.Duration(n) * time.Second
}

// age is the current age of e at now (RFC 9111 section 4.2.3, simplified:
// the stored time already includes the response delay).
func (e *Entry) age(now time.Time) time.Duration {
	a := e.InitialAge + now.Sub(e.Stored)
	if a < 0 {
		return 0
	}
	return a
}
