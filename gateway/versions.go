package gateway

import (
	"net/http"
	"strings"

	"github.com/portico-dev/portico/gateway/internal/fields"
	"github.com/portico-dev/portico/middleware"
)

// Versions routes each API version to its own upstream, or its own path
// on one upstream. The version is read from the first path segment
// ("/v2/orders"), then the API-Version header, then the version parameter
// of the Accept media type ("application/vnd.acme+json; version=2"). A
// version the route does not serve gets a 400 problem listing those it
// does. Responses carry Vary naming the header and Accept while those
// sources are enabled, and a route's [Cache] keeps one entry per version.
type Versions struct {
	// Targets maps each version ("v1", "2024-06-01") to where it goes.
	// At least one is required.
	Targets map[string]VersionTarget `yaml:"targets"`
	// Default is the version of requests that name none. If empty, such
	// requests get 400.
	Default string `yaml:"default"`
	// Header names the header carrying the version. If empty,
	// "API-Version"; "-" disables it.
	Header string `yaml:"header"`
	// Param names the Accept media-type parameter. If empty, "version";
	// "-" disables it.
	Param string `yaml:"param"`
	// NoPath stops the version being read from the path.
	NoPath bool `yaml:"no_path"`
	// StripPath removes the version segment from the path sent upstream.
	StripPath bool `yaml:"strip_path"`
}

// VersionTarget is where one version goes.
type VersionTarget struct {
	// Upstream names the pool. Required.
	Upstream string `yaml:"upstream"`
	// AddPrefix is put in front of the path sent upstream, as
	// [Route].AddPrefix is, for versions served by one pool under
	// different paths.
	AddPrefix string `yaml:"add_prefix"`
}

type versionTarget struct {
	b      *backend
	prefix string
}

func (g *Gateway) versionStage(v Versions) stage {
	versions := fields.SortedKeys(v.Targets)
	return stage{"version(" + joinNames(versions) + ")", middleware.Version(middleware.VersionConfig{
		Header: v.Header, Param: v.Param, NoPath: v.NoPath, StripPath: v.StripPath,
		Default: v.Default, Supported: versions})}
}

// checkTargets validates the targets of a versioned or composed route and
// returns the backends to build, one per version in version order.
func (g *Gateway) checkTargets(errs fields.Collector, spec Route) []Backend {
	if spec.Upstream != "" || len(spec.Split) > 0 || spec.Mirror != nil {
		errs.Addf("upstream", "set upstream and split, or versions, or compose; not several")
	}
	if spec.Versions != nil && spec.Compose != nil {
		errs.Addf("compose", "set versions or compose, not both")
		return nil
	}
	if c := spec.Compose; c != nil {
		g.checkCompose(errs.At("compose"), c)
		return nil
	}
	v := spec.Versions
	if len(v.Targets) == 0 {
		errs.Addf("versions.targets", "needs at least one version, like {v1: {upstream: users-v1}}")
	}
	if v.Default != "" {
		if _, ok := v.Targets[v.Default]; !ok {
			errs.Addf("versions.default", "%q is not one of the targets (%s)", v.Default, fields.Known(v.Targets))
		}
	}
	if h := v.Header; h != "" && h != "-" && !fields.ValidHeaderName(h) {
		errs.Addf("versions.header", "%q is not a valid header name", h)
	}
	var out []Backend
	seen := map[string]bool{}
	for _, ver := range fields.SortedKeys(v.Targets) {
		t := v.Targets[ver]
		n, ok := normalVersion(ver)
		if !ok {
			errs.Addf("versions.targets", "%q is not a version; use letters, digits, '.', '-' and '_', like \"v2\" or \"2024-06-01\"", ver)
		} else if seen[n] {
			errs.Addf("versions.targets", "%q names version %s again", ver, n)
		}
		seen[n] = true
		if _, ok := g.byName[t.Upstream]; !ok {
			errs.Addf("versions.targets."+ver+".upstream", "%q is not a defined upstream (defined: %s)", t.Upstream, fields.Known(g.byName))
		}
		if t.AddPrefix != "" && !strings.HasPrefix(t.AddPrefix, "/") {
			errs.Addf("versions.targets."+ver+".add_prefix", "must start with '/'")
		}
		out = append(out, Backend{Upstream: t.Upstream, Weight: 1})
	}
	return out
}

// versionBackends maps each version to its backend; rt.backends were
// built in version order.
func (g *Gateway) versionBackends(rt *route) map[string]versionTarget {
	m := map[string]versionTarget{}
	for i, ver := range fields.SortedKeys(rt.spec.Versions.Targets) {
		n, _ := normalVersion(ver)
		m[n] = versionTarget{b: rt.backends[i], prefix: rt.spec.Versions.Targets[ver].AddPrefix}
	}
	return m
}

// pickVersion returns the backend of r's version, and r with the
// version's path prefix; ok is false after answering 400.
func (rt *route) pickVersion(w http.ResponseWriter, r *http.Request) (*backend, *http.Request, bool) {
	v, ok := rt.versions[middleware.VersionFrom(r.Context())]
	if !ok {
		writeProblem(w, r, http.StatusBadRequest, "name an API version in the path, the API-Version header or the Accept header; served: "+fields.Known(rt.versions))
		return nil, r, false
	}
	if v.prefix != "" {
		r2 := r.WithContext(r.Context())
		u := *r.URL
		u.Path = strings.TrimSuffix(v.prefix, "/") + u.Path
		u.RawPath = ""
		r2.URL = &u
		r = r2
	}
	return v.b, r, true
}

// normalVersion is the version as middleware.VersionFrom reports it:
// without a leading "v" before a digit.
func normalVersion(s string) (string, bool) {
	if len(s) > 1 && (s[0] == 'v' || s[0] == 'V') && s[1] >= '0' && s[1] <= '9' {
		s = s[1:]
	}
	if s == "" || len(s) > 32 {
		return "", false
	}
	for _, c := range s {
		if (c < '0' || c > '9') && (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') && c != '.' && c != '-' && c != '_' {
			return "", false
		}
	}
	return s, true
}

// validVersions reports whether middleware.Version accepts v's versions;
// checkTargets names the ones it does not.
func validVersions(v *Versions) bool {
	for ver := range v.Targets {
		if _, ok := normalVersion(ver); !ok {
			return false
		}
	}
	_, ok := normalVersion(v.Default)
	return ok || v.Default == ""
}
