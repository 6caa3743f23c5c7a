package middleware

import (
	"context"
	"mime"
	"net/http"
	"slices"
	"strings"

	"github.com/portico-dev/portico/internal/problem"
	"github.com/portico-dev/portico/middleware/internal/headerlist"
)

// VersionConfig configures [Version]. The zero value reads the version
// from a "/v{N}" path prefix, the API-Version header and the "version"
// parameter of the Accept media type, in that order.
type VersionConfig struct {
	// Header names the request header carrying the version. If empty,
	// "API-Version"; "-" disables it.
	Header string
	// Param names the Accept media-type parameter carrying the version
	// ("application/vnd.acme+json; version=2"). If empty, "version"; "-"
	// disables it.
	Param string
	// NoPath stops the version being read from the first path segment.
	NoPath bool
	// StripPath removes the version segment from the path before the next
	// handler, so that "/v2/orders" reaches it as "/orders".
	StripPath bool
	// Default is the version of requests that name none. If empty, they
	// have no version and [VersionFrom] returns "".
	Default string
	// Supported lists the versions accepted. If set, any other version
	// gets a 400 problem listing them.
	Supported []string
}

type versionKey struct{}

// VersionFrom returns the API version [Version] recorded in ctx, without a
// leading "v" ("2", "2.1", "2024-06-01"), or "" if there is none.
func VersionFrom(ctx context.Context) string {
	v, _ := ctx.Value(versionKey{}).(string)
	return v
}

// WithVersion returns a copy of ctx that carries version v, for routers
// that determine the version themselves.
func WithVersion(ctx context.Context, v string) context.Context {
	return context.WithValue(ctx, versionKey{}, v)
}

// Version returns a middleware that finds the API version a request asks
// for and records it for [VersionFrom] and [ByVersion]. The sources are, in
// order, the path ("/v2/..."), the header and the Accept media-type
// parameter; a request whose sources disagree, or that names a malformed
// or unsupported version, gets a 400 problem. Versions are compared
// without a leading "v": "v2" and "2" are the same version.
//
// Every response, the 400 problems included, carries Vary naming the
// header and Accept when those sources are enabled ("Vary: API-Version,
// Accept" by default), so that caches downstream keep one response per
// version. A cache.New middleware (package cache) behind Version keys its
// entries on the version itself.
func Version(cfg VersionConfig) func(http.Handler) http.Handler {
	if cfg.Header == "" {
		cfg.Header = "API-Version"
	}
	if cfg.Param == "" {
		cfg.Param = "version"
	}
	if cfg.Default != "" {
		d, ok := normalizeVersion(cfg.Default)
		if !ok {
			panic("portico/middleware: VersionConfig.Default " + cfg.Default + " is not a valid version")
		}
		cfg.Default = d
	}
	supported := make([]string, 0, len(cfg.Supported))
	for _, s := range cfg.Supported {
		n, ok := normalizeVersion(s)
		if !ok {
			panic("portico/middleware: VersionConfig.Supported holds an invalid version " + s)
		}
		supported = append(supported, n)
	}
	vary := versionVary(&cfg)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if vary != nil {
				h := w.Header()
				h["Vary"] = append(h["Vary"], vary...)
			}
			v, rest, err := requestVersion(r, &cfg)
			if err != "" {
				problem.Error(w, r, http.StatusBadRequest, err)
				return
			}
			if v == "" {
				v = cfg.Default
			}
			if v != "" && len(supported) > 0 && !slices.Contains(supported, v) {
				problem.Write(w, r, problem.New(http.StatusBadRequest, "API version "+v+" is not supported").
					With("supported_versions", supported))
				return
			}
			if v == "" {
				next.ServeHTTP(w, r)
				return
			}
			r2 := r.WithContext(WithVersion(r.Context(), v))
			if cfg.StripPath && rest != "" {
				u := *r.URL
				u.Path, u.RawPath = rest, ""
				r2.URL = &u
			}
			next.ServeHTTP(w, r2)
		})
	}
}

// versionVary returns the Vary line naming the request header fields the
// version is read from, or nil when it is read from the path alone.
func versionVary(cfg *VersionConfig) []string {
	var names []string
	if cfg.Header != "-" {
		names = append(names, cfg.Header)
	}
	if cfg.Param != "-" {
		names = append(names, "Accept")
	}
	if len(names) == 0 {
		return nil
	}
	return []string{strings.Join(names, ", ")}
}

// requestVersion reads every enabled source; rest is the path without the
// version segment.
func requestVersion(r *http.Request, cfg *VersionConfig) (v, rest, problemDetail string) {
	var found []string
	if !cfg.NoPath {
		if seg, after, ok := versionSegment(r.URL.Path); ok {
			found = append(found, seg)
			rest = after
		}
	}
	if cfg.Header != "-" {
		if h := strings.TrimSpace(r.Header.Get(cfg.Header)); h != "" {
			n, ok := normalizeVersion(h)
			if !ok {
				return "", "", "the " + cfg.Header + " header does not hold a valid version"
			}
			found = append(found, n)
		}
	}
	if cfg.Param != "-" {
		if p, ok := acceptVersion(r.Header.Values("Accept"), cfg.Param); ok {
			n, valid := normalizeVersion(p)
			if !valid {
				return "", "", "the Accept " + cfg.Param + " parameter does not hold a valid version"
			}
			found = append(found, n)
		}
	}
	for _, f := range found[min(1, len(found)):] {
		if f != found[0] {
			return "", "", "the request names conflicting API versions"
		}
	}
	if len(found) > 0 {
		v = found[0]
	}
	return v, rest, ""
}

// versionSegment matches a first path segment "v" followed by a version
// that starts with a digit: "/v2/x" gives "2" and "/x".
func versionSegment(path string) (v, rest string, ok bool) {
	if len(path) < 3 || path[0] != '/' || (path[1] != 'v' && path[1] != 'V') || path[2] < '0' || path[2] > '9' {
		return "", "", false
	}
	seg, after, _ := strings.Cut(path[1:], "/")
	n, ok := normalizeVersion(seg)
	if !ok {
		return "", "", false
	}
	return n, "/" + after, true
}

// normalizeVersion trims a leading "v" and checks the rest is 1 to 32
// characters of letters, digits, '.', '-' and '_'.
func normalizeVersion(s string) (string, bool) {
	if len(s) > 1 && (s[0] == 'v' || s[0] == 'V') && s[1] >= '0' && s[1] <= '9' {
		s = s[1:]
	}
	if s == "" || len(s) > 32 {
		return "", false
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9', c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '.', c == '-', c == '_':
		default:
			return "", false
		}
	}
	return s, true
}

// acceptVersion returns the first value of param among the Accept media
// ranges.
func acceptVersion(lines []string, param string) (string, bool) {
	for _, line := range lines {
		for line != "" {
			var member string
			member, line = headerlist.Next(line)
			member = strings.TrimSpace(member)
			if !strings.Contains(member, ";") {
				continue
			}
			_, params, err := mime.ParseMediaType(member)
			if err != nil {
				continue
			}
			if v, ok := params[strings.ToLower(param)]; ok {
				return v, true
			}
		}
	}
	return "", false
}

// ByVersion returns a handler that sends each request to the handler
// registered for its [VersionFrom] version: one upstream pool or path per
// version. A request for a version without a handler gets a 404 problem
// listing the versions served; mount [Version] in front of it.
func ByVersion(handlers map[string]http.Handler) http.Handler {
	table := make(map[string]http.Handler, len(handlers))
	for v, h := range handlers {
		n, ok := normalizeVersion(v)
		if !ok || h == nil {
			panic("portico/middleware: ByVersion needs valid versions and non-nil handlers (" + v + ")")
		}
		table[n] = h
	}
	served := ruleKeys(table)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v := VersionFrom(r.Context())
		if h, ok := table[v]; ok {
			h.ServeHTTP(w, r)
			return
		}
		detail := "this API has no version " + v
		if v == "" {
			detail = "the request does not name an API version"
		}
		problem.Write(w, r, problem.New(http.StatusNotFound, detail).With("supported_versions", served))
	})
}
