package gateway

import (
	"cmp"
	"net/http"
	"slices"
	"strings"

	"github.com/go-chi/chi/v5"
)

// kindRoute is the [RouteInfo].Kind of a configured route.
const kindRoute = "route"

// mountEndpoints adds the endpoints the parts serve (see [Endpoint]) to
// the routes, so one table matches them all, and reports every overlap
// between them and the routes as a field error naming both.
func (g *Gateway) mountEndpoints() []error {
	var errs []error
	var builtins []*route
	for _, e := range g.endpoints {
		if msg := checkPattern(e.Path); msg != "" {
			errs = append(errs, fieldErr(e.At, "%q: %s", e.Path, msg))
			continue
		}
		spec := Route{Name: e.Name, Path: e.Path}
		if e.Method != "" {
			spec.Methods = []string{e.Method}
		}
		rt := &route{kind: e.Kind, label: e.Label, at: e.At, chain: e.Chain}
		builtins = append(builtins, builtin(rt, spec, e.Handler))
	}
	reported := map[[2]string]bool{}
	for _, b := range builtins {
		for _, rt := range g.routes {
			if pair := [2]string{rt.at, b.at}; !reported[pair] && overlaps(rt.match, b.match) {
				reported[pair] = true
				errs = append(errs, overlapErr(rt, b))
			}
		}
		g.routes = append(g.routes, b)
	}
	return errs
}

// builtin completes rt, an endpoint the gateway serves with h.
func builtin(rt *route, spec Route, h http.Handler) *route {
	rt.spec, rt.name, rt.handler = spec, spec.Name, h
	rt.match = compileMatcher(&rt.spec)
	return rt
}

// overlapErr describes the overlap of rt, a route or an endpoint built
// earlier, and b, a built-in endpoint.
func overlapErr(rt, b *route) error {
	what := func(r *route) string {
		return strings.TrimPrefix(strings.Join(r.spec.Methods, ",")+" "+r.spec.Path+r.spec.Prefix, " ")
	}
	if rt.kind == "" {
		field, pattern := "path", rt.spec.Path
		if rt.spec.Prefix != "" {
			field, pattern = "prefix", rt.spec.Prefix
		}
		name := ""
		if rt.spec.Name != "" {
			name = " (route " + quote(rt.spec.Name) + ")"
		}
		return fieldErr(rt.at+"."+field, "%q%s overlaps %s %q (%s): a request could match both; change the route's path, methods or prefix, or move %s",
			pattern, name, cmp.Or(b.label, b.kind), what(b), b.at, b.at)
	}
	return fieldErr(b.at, "%s %q overlaps %s %q (%s); give one of them another path",
		cmp.Or(b.label, b.kind), what(b), cmp.Or(rt.label, rt.kind), what(rt), rt.at)
}

func quote(s string) string { return `"` + s + `"` }

// overlaps reports whether some request could match both a and b: their
// hosts share a host, their methods share a method (an empty list is
// every host or method), and some path matches both their patterns.
// Header matchers are ignored: they narrow a route, but a request with
// the headers would still match both.
func overlaps(a, b *matcher) bool {
	if !hostsMeet(a.hosts, b.hosts) {
		return false
	}
	if len(a.methods) > 0 && len(b.methods) > 0 && !slices.ContainsFunc(a.methods, func(m string) bool { return slices.Contains(b.methods, m) }) {
		return false
	}
	for _, p := range a.patterns {
		for _, q := range b.patterns {
			if patternsMeet(p, q) {
				return true
			}
		}
	}
	return false
}

func hostsMeet(a, b []hostMatch) bool {
	if len(a) == 0 || len(b) == 0 {
		return true
	}
	meet := func(x, y hostMatch) bool {
		switch {
		case x.wildcard && y.wildcard:
			return strings.HasSuffix(x.suffix, y.suffix) || strings.HasSuffix(y.suffix, x.suffix)
		case x.wildcard:
			return len(y.exact) > len(x.suffix) && strings.HasSuffix(y.exact, x.suffix)
		case y.wildcard:
			return len(x.exact) > len(y.suffix) && strings.HasSuffix(x.exact, y.suffix)
		}
		return x.exact == y.exact
	}
	for _, x := range a {
		for _, y := range b {
			if meet(x, y) {
				return true
			}
		}
	}
	return false
}

// patternsMeet reports whether some path matches both chi patterns p and
// q, segment by segment: static segments must be equal; a static segment
// meets a segment with parameters when chi matches it there (so regular
// expressions are honoured); two segments with parameters are taken to
// meet; a trailing catch-all meets whatever remains, even nothing, but
// not the end of a pattern that stops before its slash ("/v1" and
// "/v1/*" do not meet).
func patternsMeet(p, q string) bool {
	ps, qs := strings.Split(p, "/"), strings.Split(q, "/")
	for i := 0; i < len(ps) || i < len(qs); i++ {
		if i >= len(ps) || i >= len(qs) {
			return false
		}
		a, b := ps[i], qs[i]
		starA, starB := strings.HasSuffix(a, "*"), strings.HasSuffix(b, "*")
		switch {
		case starA && starB:
			a, b = a[:len(a)-1], b[:len(b)-1]
			return strings.HasPrefix(a, b) || strings.HasPrefix(b, a)
		case starA:
			return catchAllMeets(a[:len(a)-1], b)
		case starB:
			return catchAllMeets(b[:len(b)-1], a)
		case !segmentsMeet(a, b):
			return false
		}
	}
	return true
}

// catchAllMeets reports whether a path segment seg can start with pre,
// the static text before a catch-all. A segment with parameters is
// taken to meet pre when its static head and pre agree.
func catchAllMeets(pre, seg string) bool {
	if i := strings.IndexByte(seg, '{'); i >= 0 {
		head := seg[:i]
		return strings.HasPrefix(head, pre) || strings.HasPrefix(pre, head)
	}
	return strings.HasPrefix(seg, pre)
}

// segmentsMeet reports whether some text matches both path segments.
func segmentsMeet(a, b string) bool {
	paramA, paramB := strings.Contains(a, "{"), strings.Contains(b, "{")
	switch {
	case !paramA && !paramB:
		return a == b
	case paramA && paramB:
		return true
	case paramA:
		a, b = b, a
	}
	// a is static, b has parameters: ask chi.
	m := chi.NewMux()
	m.Handle("/"+b, http.NotFoundHandler())
	return m.Find(chi.NewRouteContext(), http.MethodGet, "/"+a) != ""
}

// underPrefix reports whether path is prefix or under it.
func underPrefix(path, prefix string) bool {
	rest, ok := strings.CutPrefix(path, prefix)
	return ok && (rest == "" || rest[0] == '/')
}
