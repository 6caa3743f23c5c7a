package gateway

import (
	"cmp"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/portico-dev/portico/gateway/internal/fields"
)

// compileRoute validates the route at "at" and, when it is valid,
// builds it: every check runs first and reports all it finds, then
// buildRoute assembles the checked spec.
func (g *Gateway) compileRoute(at string, spec Route, mws *registry) (*route, error) {
	errs := newErrors().At(at)
	checkMatch(errs, spec)
	checkRewrite(errs, spec)
	checkHeaderRules(errs.At("request_headers"), spec.RequestHeaders)
	checkHeaderRules(errs.At("response_headers"), spec.ResponseHeaders)
	targets := g.routeTargets(errs, spec)
	checkPin(errs, spec)
	g.checkMirror(errs, spec.Mirror)
	checkPolicy(errs.At("policy"), spec.Policy)
	stages := g.routeStages(errs.At("policy"), spec)
	for j, name := range spec.Policy.Middleware {
		if !mws.has(name) {
			errs.Addf(fields.Index("policy.middleware", j), "%q is not a registered middleware (known: %s)", name, mws.names())
		}
	}
	if errs.Len() > 0 {
		return nil, errs.Err()
	}
	return g.buildRoute(at, spec, targets, stages, mws), nil
}

// newErrors returns an empty collector of [FieldError]s.
func newErrors() fields.Collector {
	return fields.NewCollector(func(path, msg string) error { return &FieldError{Path: path, Msg: msg} })
}

// checkMatch validates what a route matches: its path or prefix, hosts,
// methods and headers.
func checkMatch(errs fields.Collector, spec Route) {
	switch {
	case spec.Path == "" && spec.Prefix == "":
		errs.Addf("path", "set path or prefix")
	case spec.Path != "" && spec.Prefix != "":
		errs.Addf("prefix", "set path or prefix, not both")
	case spec.Path != "":
		if msg := checkPattern(spec.Path); msg != "" {
			errs.Addf("path", "%s", msg)
		}
	default:
		if !strings.HasPrefix(spec.Prefix, "/") || strings.ContainsAny(spec.Prefix, "{}*") {
			errs.Addf("prefix", "must start with '/' and hold no {param} or '*', like \"/api\"")
		}
	}
	for j, h := range spec.Hosts {
		if msg := checkHost(h); msg != "" {
			errs.Addf(fields.Index("hosts", j), "%s", msg)
		}
	}
	for j, m := range spec.Methods {
		if m == "" || strings.ContainsFunc(m, func(r rune) bool { return r <= ' ' || r >= 0x7f || strings.ContainsRune("()<>@,;:\\\"/[]?={}", r) }) {
			errs.Addf(fields.Index("methods", j), "%q is not a valid HTTP method", m)
		}
	}
	for _, k := range fields.SortedKeys(spec.Headers) {
		if !fields.ValidHeaderName(k) {
			errs.Addf("headers", "%q is not a valid header name", k)
		}
		if spec.Headers[k] == "" {
			errs.Addf("headers."+k, "is empty; use \"*\" to require only that the header is present")
		}
	}
}

// checkRewrite validates how a route rewrites the request: prefixes,
// template and host.
func checkRewrite(errs fields.Collector, spec Route) {
	if spec.StripPrefix != "" && !strings.HasPrefix(spec.StripPrefix, "/") {
		errs.Addf("strip_prefix", "must start with '/'")
	}
	if spec.AddPrefix != "" && !strings.HasPrefix(spec.AddPrefix, "/") {
		errs.Addf("add_prefix", "must start with '/'")
	}
	if spec.Rewrite != "" {
		if spec.StripPrefix != "" || spec.AddPrefix != "" {
			errs.Addf("rewrite", "cannot be combined with strip_prefix or add_prefix")
		}
		parts, msg := parseTemplate(spec.Rewrite)
		switch {
		case msg != "":
			errs.Addf("rewrite", "%s", msg)
		case !strings.HasPrefix(spec.Rewrite, "/") && !strings.HasPrefix(spec.Rewrite, "{"):
			errs.Addf("rewrite", "must start with '/'")
		default:
			params := patternParams(spec.Path)
			for _, p := range parts {
				if p.param != "" && !slices.Contains(params, p.param) {
					errs.Addf("rewrite", "uses {%s}, which the route's path does not capture", p.param)
				}
			}
		}
	}
	if strings.ContainsAny(spec.Host, " /\t\r\n") {
		errs.Addf("host", "%q is not a valid host", spec.Host)
	}
}

// routeTargets validates where a route sends requests and returns the
// backends to build.
func (g *Gateway) routeTargets(errs fields.Collector, spec Route) []Backend {
	switch {
	case spec.Versions != nil || spec.Compose != nil:
		if spec.Serve != nil {
			errs.Addf("serve", "cannot be combined with versions or compose")
		}
		return g.checkTargets(errs, spec)
	case spec.Upstream != "" && len(spec.Split) > 0:
		errs.Addf("split", "set upstream or split, not both")
	case spec.Upstream != "":
		if _, ok := g.byName[spec.Upstream]; !ok {
			errs.Addf("upstream", "%q is not a defined upstream (defined: %s)", spec.Upstream, fields.Known(g.byName))
		}
		return []Backend{{Upstream: spec.Upstream, Weight: 1}}
	case len(spec.Split) > 0:
		g.checkSplit(errs, spec)
		return spec.Split
	default:
		errs.Addf("upstream", "set upstream or split")
	}
	return nil
}

// checkSplit validates a route's weighted split.
func (g *Gateway) checkSplit(errs fields.Collector, spec Route) {
	total := 0
	for j, b := range spec.Split {
		at := errs.At(fields.Index("split", j))
		if _, ok := g.byName[b.Upstream]; !ok {
			at.Addf("upstream", "%q is not a defined upstream (defined: %s)", b.Upstream, fields.Known(g.byName))
		}
		if b.Weight < 0 {
			at.Addf("weight", "must not be negative")
		}
		for _, o := range spec.Split[:j] {
			if o.Upstream == b.Upstream {
				at.Addf("upstream", "%q appears twice in the split", b.Upstream)
			}
		}
		total += b.Weight
	}
	if total == 0 && spec.Pin == nil {
		errs.Addf("split", "needs a backend with a weight above 0")
	}
}

// checkPin validates a route's sticky-session pin.
func checkPin(errs fields.Collector, spec Route) {
	p := spec.Pin
	if p == nil {
		return
	}
	if len(spec.Split) == 0 {
		errs.Addf("pin", "needs a split")
	}
	if p.Header == "" && p.Cookie == "" {
		errs.Addf("pin", "set header or cookie")
	}
	if p.Header != "" && !fields.ValidHeaderName(p.Header) {
		errs.Addf("pin.header", "%q is not a valid header name", p.Header)
	}
	if p.MaxAge < 0 {
		errs.Addf("pin.max_age", "must not be negative")
	}
}

// checkMirror validates a route's traffic mirror.
func (g *Gateway) checkMirror(errs fields.Collector, m *Mirror) {
	if m == nil {
		return
	}
	errs = errs.At("mirror")
	if _, ok := g.byName[m.Upstream]; !ok {
		errs.Addf("upstream", "%q is not a defined upstream (defined: %s)", m.Upstream, fields.Known(g.byName))
	}
	if m.Percent < 0 || m.Percent > 100 {
		errs.Addf("percent", "must be between 0 and 100")
	}
	for _, f := range []struct {
		name     string
		negative bool
	}{
		{"max_concurrent", m.MaxConcurrent < 0},
		{"timeout", m.Timeout < 0},
		{"max_body_bytes", m.MaxBodyBytes < 0},
	} {
		if f.negative {
			errs.Addf(f.name, "must not be negative")
		}
	}
}

// buildRoute builds a route whose spec compileRoute has checked.
func (g *Gateway) buildRoute(at string, spec Route, targets []Backend, stages []stage, mws *registry) *route {
	rw := &rewriter{strip: spec.StripPrefix, add: spec.AddPrefix, host: spec.Host,
		req: compileHeaderOps(spec.RequestHeaders), resp: compileHeaderOps(spec.ResponseHeaders)}
	if spec.Rewrite != "" {
		rw.template, _ = parseTemplate(spec.Rewrite)
	}
	rt := &route{spec: spec, name: spec.Name, at: at, match: compileMatcher(&spec), rw: rw, pin: spec.Pin, maxBody: spec.Policy.MaxBodyBytes, track: spec.Policy.Retry != nil || spec.Policy.Hedge != nil}
	if rt.name == "" {
		rt.name = cmp.Or(strings.Join(spec.Methods, ","), "*") + " " + spec.Path + spec.Prefix
	}
	rid := routeIdentity(spec, stateName(spec))
	policies := g.buildBackends(rt, rid, targets)
	if spec.Mirror != nil {
		rt.mirror = newMirror(*spec.Mirror, g.byName[spec.Mirror.Upstream], &g.mirrors, g.cfg.logger)
		rt.mirror.headers = g.upstreamHeaders
	}
	var h http.Handler = http.HandlerFunc(rt.serve)
	if spec.Versions != nil {
		rt.versions = g.versionBackends(rt)
	}
	if spec.Compose != nil {
		var names []string
		h, names = g.composeHandler(rid, spec.Compose, spec.Policy)
		policies = append(names, "compose("+composeNames(spec.Compose)+")")
	}
	for j := len(spec.Policy.Middleware) - 1; j >= 0; j-- {
		h = mws.get(spec.Policy.Middleware[j])(h)
	}
	for j := len(stages) - 1; j >= 0; j-- {
		h = stages[j].mw(h)
	}
	rt.handler = h
	// Nothing in a proxied route without middleware, stages (but the
	// identity headers) or path rewriting reads the routing context.
	rt.plain = spec.Serve == nil && spec.Compose == nil && spec.Versions == nil && len(spec.Policy.Middleware) == 0 &&
		rw.template == nil && rw.strip == "" && rw.add == "" && len(stages) == 1 && stages[0].name == identityStageName
	for _, s := range stages {
		rt.chain = append(rt.chain, s.name)
	}
	rt.chain = append(append(rt.chain, spec.Policy.Middleware...), policies...)
	return rt
}

// buildBackends gives rt a proxy per target, each behind the route's
// client-side policies, and returns those policies' names.
func (g *Gateway) buildBackends(rt *route, rid string, targets []Backend) []string {
	spec := rt.spec
	var policies []string
	for _, b := range targets {
		tr, names := g.policyTransport(rid+" "+b.Upstream, spec.Policy, g.byName[b.Upstream], true)
		policies = names
		be := &backend{upstream: b.Upstream, weight: b.Weight}
		if spec.Serve != nil {
			be.proxy = g.served(rt, b.Upstream, spec.Serve(tr))
		} else {
			be.proxy = g.newProxy(rt, b.Upstream, tr)
		}
		if rtr, ok := tr.(resilientTransport); ok {
			g.closers = append(g.closers, rtr)
			if spec.Policy.Breaker != nil {
				be.breakers = rtr
			}
		}
		rt.backends = append(rt.backends, be)
		rt.total += b.Weight
	}
	return policies
}

func checkPolicy(errs fields.Collector, p Policy) {
	if p.Timeout < 0 {
		errs.Addf("timeout", "must not be negative, got %s", p.Timeout)
	}
	if p.MaxBodyBytes < 0 {
		errs.Addf("max_body_bytes", "must not be negative")
	}
	if r := p.Retry; r != nil {
		if r.Attempts < 2 {
			errs.Addf("retry.attempts", "must be at least 2 (the first attempt counts), got %d", r.Attempts)
		}
		if r.PerTry < 0 {
			errs.Addf("retry.per_try", "must not be negative, got %s", r.PerTry)
		}
		if r.Backoff < 0 {
			errs.Addf("retry.backoff", "must not be negative, got %s", r.Backoff)
		}
		if r.MaxBackoff < 0 {
			errs.Addf("retry.max_backoff", "must not be negative, got %s", r.MaxBackoff)
		}
		for j, s := range r.Statuses {
			if s < 100 || s > 599 {
				errs.Addf(fields.Index("retry.statuses", j), "%d is not an HTTP status", s)
			}
		}
	}
	if h := p.Hedge; h != nil {
		checkHedge(errs, h)
	}
	if b := p.Breaker; b != nil {
		if b.Failures < 0 {
			errs.Addf("breaker.failures", "must not be negative")
		}
		if b.Delay < 0 {
			errs.Addf("breaker.delay", "must not be negative, got %s", b.Delay)
		}
		if b.Successes < 0 {
			errs.Addf("breaker.successes", "must not be negative")
		}
	}
	if b := p.Bulkhead; b != nil {
		if b.MaxConcurrent < 1 {
			errs.Addf("bulkhead.max_concurrent", "must be at least 1, got %d", b.MaxConcurrent)
		}
		if b.MaxWait < 0 {
			errs.Addf("bulkhead.max_wait", "must not be negative, got %s", b.MaxWait)
		}
	}
}

func checkHeaderRules(errs fields.Collector, h HeaderEdits) {
	for _, k := range fields.SortedKeys(h.Set) {
		if !fields.ValidHeaderName(k) {
			errs.Addf("set", "%q is not a valid header name", k)
		}
	}
	for _, k := range fields.SortedKeys(h.Add) {
		if !fields.ValidHeaderName(k) {
			errs.Addf("add", "%q is not a valid header name", k)
		}
	}
	for j, k := range h.Remove {
		if !fields.ValidHeaderName(k) {
			errs.Addf(fields.Index("remove", j), "%q is not a valid header name", k)
		}
	}
}

func checkHost(h string) string {
	if h == "" {
		return "is empty"
	}
	rest, wild := strings.CutPrefix(h, "*.")
	if strings.Contains(rest, "*") || (!wild && strings.HasPrefix(h, "*")) {
		return fmt.Sprintf("%q: a wildcard must be a whole leading label, like \"*.example.com\"", h)
	}
	if strings.ContainsAny(rest, " /:\t") {
		return fmt.Sprintf("%q is not a host name (no scheme, port or path)", h)
	}
	return ""
}

// checkPattern validates a chi path pattern without letting chi panic.
func checkPattern(p string) (msg string) {
	if !strings.HasPrefix(p, "/") {
		return "must start with '/'"
	}
	if i := strings.IndexByte(p, '*'); i >= 0 && i != len(p)-1 {
		return "a catch-all '*' must come last, like \"/files/*\""
	}
	if _, m := parseTemplate(p); m != "" {
		return m
	}
	// chi panics on patterns it cannot route, such as a parameter named
	// twice; ask it on a throwaway router.
	defer func() {
		if r := recover(); r != nil {
			msg = strings.TrimPrefix(fmt.Sprint(r), "chi: ")
		}
	}()
	chi.NewMux().Handle(p, http.NotFoundHandler())
	return ""
}

// patternParams lists the parameter names a chi pattern captures.
func patternParams(p string) []string {
	var names []string
	parts, _ := parseTemplate(p)
	for _, part := range parts {
		if part.param != "" {
			name, _, _ := strings.Cut(part.param, ":")
			names = append(names, name)
		}
	}
	if strings.HasSuffix(p, "*") {
		names = append(names, "*")
	}
	return names
}
