package gateway

import (
	"net"
	"net/http"
	"net/textproto"
	"slices"
	"strings"

	"github.com/go-chi/chi/v5"
)

// matcher is the compiled form of a route's matchers.
type matcher struct {
	hosts    []hostMatch
	methods  []string // upper case; empty means any
	headers  []headerMatch
	patterns []string // chi patterns: one for Path, two for Prefix
	self     *chi.Mux // the route's own patterns, for the slow path
}

type hostMatch struct {
	suffix   string // ".example.com" for "*.example.com"
	exact    string
	wildcard bool
}

type headerMatch struct {
	name  string // canonical
	value string // "*" means present
}

func compileMatcher(rt *Route) *matcher {
	m := &matcher{}
	for _, h := range rt.Hosts {
		h = strings.ToLower(h)
		if s, ok := strings.CutPrefix(h, "*"); ok {
			m.hosts = append(m.hosts, hostMatch{suffix: s, wildcard: true})
		} else {
			m.hosts = append(m.hosts, hostMatch{exact: h})
		}
	}
	for _, meth := range rt.Methods {
		m.methods = append(m.methods, strings.ToUpper(meth))
	}
	names := make([]string, 0, len(rt.Headers))
	for k := range rt.Headers {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		m.headers = append(m.headers, headerMatch{name: textproto.CanonicalMIMEHeaderKey(k), value: rt.Headers[k]})
	}
	if rt.Prefix != "" {
		p := strings.TrimSuffix(rt.Prefix, "/")
		if p == "" {
			m.patterns = []string{"/*"}
		} else {
			m.patterns = []string{p, p + "/*"}
		}
	} else {
		m.patterns = []string{rt.Path}
	}
	m.self = chi.NewMux()
	for _, p := range m.patterns {
		m.self.Handle(p, http.NotFoundHandler())
	}
	return m
}

// requestHost returns the request host without its port.
func requestHost(r *http.Request) string {
	h := r.Host
	if i := strings.LastIndexByte(h, ':'); i >= 0 && !strings.HasSuffix(h, "]") {
		if host, _, err := net.SplitHostPort(h); err == nil {
			return host
		}
	}
	return strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")
}

func (m *matcher) matchHost(host string) bool {
	if len(m.hosts) == 0 {
		return true
	}
	host = strings.TrimSuffix(host, ".")
	for _, h := range m.hosts {
		if h.wildcard {
			if len(host) > len(h.suffix) && strings.EqualFold(host[len(host)-len(h.suffix):], h.suffix) {
				return true
			}
		} else if strings.EqualFold(host, h.exact) {
			return true
		}
	}
	return false
}

func (m *matcher) matchHeaders(h http.Header) bool {
	for _, hm := range m.headers {
		vs := h[hm.name]
		if len(vs) == 0 {
			return false
		}
		if hm.value != "*" && !slices.Contains(vs, hm.value) {
			return false
		}
	}
	return true
}

func (m *matcher) matchMethod(method string) bool {
	return len(m.methods) == 0 || slices.Contains(m.methods, method)
}

// tier holds the routes of one priority. Its chi tree finds the most
// specific pattern for a path; the routes registered at that pattern are
// then tried in definition order.
type tier struct {
	mux    *chi.Mux
	byPat  map[string][]*route
	routes []*route // definition order
}

// table is the immutable routing table of one gateway.
type table struct {
	tiers []*tier // highest priority first
}

func newTable(routes []*route) *table {
	var prios []int
	for _, r := range routes {
		if !slices.Contains(prios, r.spec.Priority) {
			prios = append(prios, r.spec.Priority)
		}
	}
	slices.Sort(prios)
	slices.Reverse(prios)
	t := &table{}
	for _, p := range prios {
		tr := &tier{mux: chi.NewMux(), byPat: map[string][]*route{}}
		for _, r := range routes {
			if r.spec.Priority != p {
				continue
			}
			tr.routes = append(tr.routes, r)
			for _, pat := range r.match.patterns {
				if _, ok := tr.byPat[pat]; !ok {
					tr.mux.Handle(pat, http.NotFoundHandler())
				}
				tr.byPat[pat] = append(tr.byPat[pat], r)
			}
		}
		t.tiers = append(t.tiers, tr)
	}
	return t
}

// result is the outcome of a lookup.
type result struct {
	route   *route
	pattern string
	// allow lists the methods of routes whose every other matcher
	// accepted the request, when no route matched outright (for 405).
	allow []string
}

// lookup finds the route for r, filling rctx with its path parameters.
// It matches the decoded path: normalized (see [PathNormalization]), it
// has the segments of the escaped one, so a parameter never holds a
// separator or a dot segment.
func (t *table) lookup(rctx *chi.Context, r *http.Request) result {
	path := r.URL.Path
	host := requestHost(r)
	var res result
	for _, tr := range t.tiers {
		rctx.Reset()
		// Every pattern is registered for every method, so GET finds it.
		pat := tr.mux.Find(rctx, http.MethodGet, path)
		if pat == "" {
			continue
		}
		for _, rt := range tr.byPat[pat] {
			if res.accept(rt, r, host) {
				res.pattern = pat
				return res
			}
		}
		// The most specific pattern matched but none of its routes did:
		// try the tier's other routes, in order.
		for _, rt := range tr.routes {
			if slices.Contains(tr.byPat[pat], rt) {
				continue
			}
			rctx.Reset()
			p := rt.match.self.Find(rctx, http.MethodGet, path)
			if p == "" {
				continue
			}
			if res.accept(rt, r, host) {
				res.pattern = p
				return res
			}
		}
	}
	return res
}

// accept reports whether rt matches r, setting res.route; a route that
// matches all but the method adds its methods to res.allow.
func (res *result) accept(rt *route, r *http.Request, host string) bool {
	m := rt.match
	if !m.matchHost(host) || !m.matchHeaders(r.Header) {
		return false
	}
	if !m.matchMethod(r.Method) {
		for _, meth := range m.methods {
			if !slices.Contains(res.allow, meth) {
				res.allow = append(res.allow, meth)
			}
		}
		return false
	}
	res.route = rt
	return true
}
