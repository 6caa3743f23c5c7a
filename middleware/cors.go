package middleware

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/portico-dev/portico/internal/problem"
)

// CORSConfig configures [CORS]. The zero value allows simple requests and
// preflights from any origin, without credentials.
type CORSConfig struct {
	// AllowedOrigins lists the origins that may call, as
	// "scheme://host[:port]". "*" allows any origin; a leading "*." in the
	// host, as in "https://*.example.com", allows any subdomain (one or
	// more labels) but not the domain itself. "null" must be listed to be
	// allowed. Comparison ignores case. If empty, any origin is allowed.
	AllowedOrigins []string
	// AllowOrigin, if set, is asked about origins that AllowedOrigins does
	// not list; it must be safe for concurrent use.
	AllowOrigin func(origin string) bool
	// AllowedMethods lists the methods a preflight may ask for. GET, HEAD
	// and POST are always allowed, as the CORS protocol implies. If empty,
	// only those are.
	AllowedMethods []string
	// AllowedHeaders lists the request headers a preflight may ask for;
	// "*" allows any. If empty, Accept, Accept-Language, Content-Language,
	// Content-Type and X-Requested-With are allowed.
	AllowedHeaders []string
	// ExposedHeaders lists the response headers scripts may read beyond
	// the CORS-safelisted ones.
	ExposedHeaders []string
	// AllowCredentials lets browsers send cookies and HTTP authentication.
	// It cannot be combined with the "*" origin: CORS panics if it is.
	AllowCredentials bool
	// MaxAge is how long a browser may cache a preflight answer; it is sent
	// in whole seconds. If zero, the header is omitted (browsers use 5
	// seconds); if negative, "0" is sent to disable caching.
	MaxAge time.Duration
	// AllowPrivateNetwork answers Private Network Access preflights
	// ("Access-Control-Request-Private-Network: true") positively. By
	// default they are refused.
	AllowPrivateNetwork bool
}

// CORS implements the CORS protocol of the Fetch standard.
//
// A preflight (OPTIONS with Origin and Access-Control-Request-Method) is
// answered here and never reaches the handler: 204 with the
// Access-Control-Allow-* headers if the origin, method, headers (and
// private-network access) are allowed, or a 403 problem document naming
// what was refused. An actual request from an allowed origin gets
// Access-Control-Allow-Origin (the origin itself, or "*" when any origin
// is allowed without credentials), Access-Control-Allow-Credentials and
// Access-Control-Expose-Headers, then goes to the handler; one from a
// disallowed origin goes to the handler without CORS headers, and the
// browser withholds the response from the script. Vary is set whenever
// the answer depends on the request's headers, so that caches keep the
// variants apart.
//
// CORS panics on a malformed origin pattern or on credentials combined
// with the "*" origin.
func CORS(cfg CORSConfig) func(http.Handler) http.Handler {
	c := newCORS(cfg)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			origin := r.Header["Origin"]
			if len(origin) == 0 {
				if !c.anyOrigin {
					w.Header().Add("Vary", "Origin")
				}
				next.ServeHTTP(w, r)
				return
			}
			if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
				c.preflight(w, r, origin[0])
				return
			}
			h := w.Header()
			if !c.anyOrigin {
				h.Add("Vary", "Origin")
			}
			if c.allowed(origin[0]) {
				c.allowOrigin(h, origin[0])
				if c.exposed != nil {
					h["Access-Control-Expose-Headers"] = []string{c.exposed[0]}
				}
			}
			next.ServeHTTP(w, r)
		})
	}
}

// cors is a validated CORSConfig.
type cors struct {
	anyOrigin   bool // "*" listed and no credentials: answer "*"
	wildcard    bool // "*" listed
	exact       map[string]bool
	suffixes    []originSuffix
	allowFunc   func(string) bool
	methods     map[string]bool
	methodList  string
	anyHeader   bool
	headers     map[string]bool
	exposed     []string
	credentials bool
	maxAge      string
	pna         bool
}

// originSuffix matches "scheme://<labels>.domain[:port]".
type originSuffix struct{ prefix, suffix string }

func newCORS(cfg CORSConfig) *cors {
	c := &cors{
		exact:       map[string]bool{},
		allowFunc:   cfg.AllowOrigin,
		credentials: cfg.AllowCredentials,
		pna:         cfg.AllowPrivateNetwork,
		methods:     map[string]bool{http.MethodGet: true, http.MethodHead: true, http.MethodPost: true},
		headers:     map[string]bool{},
	}
	origins := cfg.AllowedOrigins
	if len(origins) == 0 && cfg.AllowOrigin == nil {
		origins = []string{"*"}
	}
	for _, o := range origins {
		o = strings.ToLower(strings.TrimSpace(o))
		switch o {
		case "*":
			c.wildcard = true
		case "null":
			c.exact[o] = true
		default:
			scheme, host, ok := strings.Cut(o, "://")
			if !ok || scheme == "" || host == "" || strings.ContainsAny(host, "/?#@ ") {
				panic(fmt.Sprintf("portico/middleware: CORS: origin %q is not scheme://host[:port]", o))
			}
			if rest, ok := strings.CutPrefix(host, "*."); ok {
				if rest == "" || strings.Contains(rest, "*") {
					panic(fmt.Sprintf("portico/middleware: CORS: origin pattern %q may hold one leading \"*.\"", o))
				}
				c.suffixes = append(c.suffixes, originSuffix{prefix: scheme + "://", suffix: "." + rest})
				continue
			}
			if strings.Contains(host, "*") {
				panic(fmt.Sprintf("portico/middleware: CORS: origin pattern %q may hold one leading \"*.\"", o))
			}
			c.exact[o] = true
		}
	}
	if c.wildcard && c.credentials {
		panic("portico/middleware: CORS: AllowCredentials cannot be combined with the \"*\" origin; list the origins")
	}
	c.anyOrigin = c.wildcard && len(c.exact) == 0 && len(c.suffixes) == 0 && c.allowFunc == nil
	for _, m := range cfg.AllowedMethods {
		m = strings.TrimSpace(m)
		if m == "" || m == "*" {
			panic(fmt.Sprintf("portico/middleware: CORS: AllowedMethods holds %q; list the methods", m))
		}
		c.methods[m] = true
	}
	methods := make([]string, 0, len(c.methods))
	for m := range c.methods {
		methods = append(methods, m)
	}
	slices.Sort(methods)
	c.methodList = strings.Join(methods, ", ")
	headers := cfg.AllowedHeaders
	if len(headers) == 0 {
		headers = []string{"Accept", "Accept-Language", "Content-Language", "Content-Type", "X-Requested-With"}
	}
	for _, h := range headers {
		h = strings.ToLower(strings.TrimSpace(h))
		if h == "*" {
			c.anyHeader = true
			continue
		}
		c.headers[h] = true
	}
	if len(cfg.ExposedHeaders) > 0 {
		c.exposed = []string{strings.Join(cfg.ExposedHeaders, ", ")}
	}
	switch {
	case cfg.MaxAge > 0:
		c.maxAge = strconv.FormatInt(int64(cfg.MaxAge/time.Second), 10)
	case cfg.MaxAge < 0:
		c.maxAge = "0"
	}
	return c
}

// allowed reports whether origin may call.
func (c *cors) allowed(origin string) bool {
	if c.wildcard {
		return true
	}
	o := strings.ToLower(origin)
	if c.exact[o] {
		return true
	}
	for _, s := range c.suffixes {
		host, ok := strings.CutPrefix(o, s.prefix)
		if !ok {
			continue
		}
		name, port, _ := strings.Cut(host, ":")
		sfx, sport, _ := strings.Cut(s.suffix, ":")
		if port == sport && len(name) > len(sfx) && strings.HasSuffix(name, sfx) && validHostLabels(name[:len(name)-len(sfx)]) {
			return true
		}
	}
	return c.allowFunc != nil && c.allowFunc(origin)
}

// validHostLabels reports whether s is one or more DNS labels.
func validHostLabels(s string) bool {
	for label := range strings.SplitSeq(s, ".") {
		if label == "" {
			return false
		}
		for i := 0; i < len(label); i++ {
			b := label[i]
			if (b < 'a' || b > 'z') && (b < '0' || b > '9') && b != '-' {
				return false
			}
		}
	}
	return true
}

// allowOrigin sets the headers every allowed CORS response carries.
func (c *cors) allowOrigin(h http.Header, origin string) {
	if c.anyOrigin {
		h["Access-Control-Allow-Origin"] = []string{"*"}
		return
	}
	h["Access-Control-Allow-Origin"] = []string{origin}
	if c.credentials {
		h["Access-Control-Allow-Credentials"] = []string{"true"}
	}
}

// preflight answers a CORS preflight request.
func (c *cors) preflight(w http.ResponseWriter, r *http.Request, origin string) {
	h := w.Header()
	vary := "Origin, Access-Control-Request-Method, Access-Control-Request-Headers"
	if c.pna {
		vary += ", Access-Control-Request-Private-Network"
	}
	h.Add("Vary", vary)
	if !c.allowed(origin) {
		problem.Error(w, r, http.StatusForbidden, "CORS: origin "+strconv.Quote(origin)+" is not allowed.")
		return
	}
	method := r.Header.Get("Access-Control-Request-Method")
	if !c.methods[method] {
		problem.Error(w, r, http.StatusForbidden, "CORS: method "+strconv.Quote(method)+" is not allowed.")
		return
	}
	var requested []string
	for _, line := range r.Header.Values("Access-Control-Request-Headers") {
		for name := range strings.SplitSeq(line, ",") {
			name = strings.ToLower(strings.TrimSpace(name))
			if name == "" {
				continue
			}
			if !c.anyHeader && !c.headers[name] {
				problem.Error(w, r, http.StatusForbidden, "CORS: header "+strconv.Quote(name)+" is not allowed.")
				return
			}
			requested = append(requested, name)
		}
	}
	if strings.EqualFold(r.Header.Get("Access-Control-Request-Private-Network"), "true") {
		if !c.pna {
			problem.Error(w, r, http.StatusForbidden, "CORS: private network access is not allowed.")
			return
		}
		h.Set("Access-Control-Allow-Private-Network", "true")
	}
	c.allowOrigin(h, origin)
	h.Set("Access-Control-Allow-Methods", c.methodList)
	if len(requested) > 0 {
		h.Set("Access-Control-Allow-Headers", strings.Join(requested, ", "))
	}
	if c.maxAge != "" {
		h.Set("Access-Control-Max-Age", c.maxAge)
	}
	w.WriteHeader(http.StatusNoContent)
}
