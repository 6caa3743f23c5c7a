package middleware

import (
	"cmp"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/portico-dev/portico/internal/problem"
)

// LifecycleConfig describes where a route stands in its life. The zero
// value announces nothing.
type LifecycleConfig struct {
	// Deprecated is when the route is, or will be, deprecated. If set,
	// responses carry "Deprecation: @<unix seconds>" (RFC 9745), also
	// before that date, to announce it.
	Deprecated time.Time
	// Sunset is when the route is retired. Until then responses carry a
	// Sunset header (RFC 8594); from then on the route answers 410 Gone
	// with a problem document naming the Successor.
	Sunset time.Time
	// Link is the URL of the migration guide, sent as a Link with
	// rel="deprecation" (and rel="sunset" unless SunsetLink is set).
	Link string
	// SunsetLink is the URL describing the retirement policy, sent as a
	// Link with rel="sunset". If empty, Link is used.
	SunsetLink string
	// Successor is the URL or path of the API that replaces this one, sent
	// as a Link with rel="successor-version" and named in the 410 problem.
	Successor string
	// Now is the clock. If nil, time.Now is used.
	Now func() time.Time
}

// Lifecycle returns a middleware that carries a route through deprecation
// to retirement: it adds Deprecation (RFC 9745), Sunset (RFC 8594) and Link
// headers to every response, and once the Sunset time has passed answers
// every request with 410 Gone and a problem document whose "successor"
// member (and Link header) names the replacement.
//
// Lifecycle panics when Sunset is before Deprecated or a URL is not a
// valid link target.
func Lifecycle(cfg LifecycleConfig) func(http.Handler) http.Handler {
	if !cfg.Sunset.IsZero() && !cfg.Deprecated.IsZero() && cfg.Sunset.Before(cfg.Deprecated) {
		panic("portico/middleware: LifecycleConfig.Sunset must not be before Deprecated (RFC 9745 section 3)")
	}
	for name, u := range map[string]string{"Link": cfg.Link, "SunsetLink": cfg.SunsetLink, "Successor": cfg.Successor} {
		if strings.ContainsAny(u, "<> \t\r\n\"") {
			panic("portico/middleware: LifecycleConfig." + name + " is not a valid URL: " + strconv.Quote(u))
		}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	var links []string
	if cfg.Link != "" && !cfg.Deprecated.IsZero() {
		links = append(links, "<"+cfg.Link+`>; rel="deprecation"; type="text/html"`)
	}
	if sl := cmp.Or(cfg.SunsetLink, cfg.Link); sl != "" && !cfg.Sunset.IsZero() {
		links = append(links, "<"+sl+`>; rel="sunset"; type="text/html"`)
	}
	if cfg.Successor != "" {
		links = append(links, "<"+cfg.Successor+`>; rel="successor-version"`)
	}
	var deprecation, sunset []string
	if !cfg.Deprecated.IsZero() {
		deprecation = []string{"@" + strconv.FormatInt(cfg.Deprecated.Unix(), 10)}
	}
	if !cfg.Sunset.IsZero() {
		sunset = []string{cfg.Sunset.UTC().Format(http.TimeFormat)}
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			h := w.Header()
			if deprecation != nil {
				h["Deprecation"] = deprecation
			}
			if sunset != nil {
				h["Sunset"] = sunset
			}
			if links != nil {
				h["Link"] = append(h["Link"], links...)
			}
			if cfg.Sunset.IsZero() || cfg.Now().Before(cfg.Sunset) {
				next.ServeHTTP(w, r)
				return
			}
			detail := "this API was retired on " + sunset[0]
			p := problem.New(http.StatusGone, detail)
			if cfg.Successor != "" {
				p.Detail += "; use " + cfg.Successor + " instead"
				p.With("successor", cfg.Successor)
			}
			problem.Write(w, r, p)
		})
	}
}
