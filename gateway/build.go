package gateway

import (
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/portico-dev/portico/gateway/internal/fields"
)

// compileRoute validates the i-th route and compiles it.
func (g *Gateway) compileRoute(at string, spec Route, mws *registry) (*route, error) {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fieldErr(at+"."+field, format, args...))
	}
	switch {
	case spec.Path == "" && spec.Prefix == "":
		bad("path", "set path or prefix")
	case spec.Path != "" && spec.Prefix != "":
		bad("prefix", "set path or prefix, not both")
	case spec.Path != "":
		if msg := checkPattern(spec.Path); msg != "" {
			bad("path", "%s", msg)
		}
	default:
		if !strings.HasPrefix(spec.Prefix, "/") || strings.ContainsAny(spec.Prefix, "{}*") {
			bad("prefix", "must start with '/' and hold no {param} or '*', like \"/api\"")
		}
	}
	for j, h := range spec.Hosts {
		if msg := checkHost(h); msg != "" {
			bad(fields.Index("hosts", j), "%s", msg)
		}
	}
	for j, m := range spec.Methods {
		if m == "" || strings.ContainsFunc(m, func(r rune) bool { return r <= ' ' || r >= 0x7f || strings.ContainsRune("()<>@,;:\\\"/[]?={}", r) }) {
			bad(fields.Index("methods", j), "%q is not a valid HTTP method", m)
		}
	}
	for _, k := range fields.SortedKeys(spec.Headers) {
		if !fields.ValidHeaderName(k) {
			bad("headers", "%q is not a valid header name", k)
		}
		if spec.Headers[k] == "" {
			bad("headers."+k, "is empty; use \"*\" to require only that the header is present")
		}
	}
	rw := &rewriter{strip: spec.StripPrefix, add: spec.AddPrefix, host: spec.Host,
		req: compileHeaderOps(spec.RequestHeaders), resp: compileHeaderOps(spec.ResponseHeaders)}
	if spec.StripPrefix != "" && !strings.HasPrefix(spec.StripPrefix, "/") {
		bad("strip_prefix", "must start with '/'")
	}
	if spec.AddPrefix != "" && !strings.HasPrefix(spec.AddPrefix, "/") {
		bad("add_prefix", "must start with '/'")
	}
	if spec.Rewrite != "" {
		if spec.StripPrefix != "" || spec.AddPrefix != "" {
			bad("rewrite", "cannot be combined with strip_prefix or add_prefix")
		}
		parts, msg := parseTemplate(spec.Rewrite)
		switch {
		case msg != "":
			bad("rewrite", "%s", msg)
		case !strings.HasPrefix(spec.Rewrite, "/") && !strings.HasPrefix(spec.Rewrite, "{"):
			bad("rewrite", "must start with '/'")
		default:
			params := patternParams(spec.Path)
			for _, p := range parts {
				if p.param != "" && !slices.Contains(params, p.param) {
					bad("rewrite", "uses {%s}, which the route's path does not capture", p.param)
				}
			}
			rw.template = parts
		}
	}
	if strings.ContainsAny(spec.Host, " /\t\r\n") {
		bad("host", "%q is not a valid host", spec.Host)
	}
	checkHeaderRules(&errs, at+".request_headers", spec.RequestHeaders)
	checkHeaderRules(&errs, at+".response_headers", spec.ResponseHeaders)

	// Targets.
	var targets []Backend
	switch {
	case spec.Versions != nil || spec.Compose != nil:
		if spec.Serve != nil {
			bad("serve", "cannot be combined with versions or compose")
		}
		targets = g.checkTargets(&errs, at, spec)
	case spec.Upstream != "" && len(spec.Split) > 0:
		bad("split", "set upstream or split, not both")
	case spec.Upstream != "":
		targets = []Backend{{Upstream: spec.Upstream, Weight: 1}}
		if _, ok := g.byName[spec.Upstream]; !ok {
			bad("upstream", "%q is not a defined upstream (defined: %s)", spec.Upstream, fields.Known(g.byName))
		}
	case len(spec.Split) > 0:
		total := 0
		for j, b := range spec.Split {
			if _, ok := g.byName[b.Upstream]; !ok {
				bad(fields.Index("split", j)+".upstream", "%q is not a defined upstream (defined: %s)", b.Upstream, fields.Known(g.byName))
			}
			if b.Weight < 0 {
				bad(fields.Index("split", j)+".weight", "must not be negative")
			}
			for _, o := range spec.Split[:j] {
				if o.Upstream == b.Upstream {
					bad(fields.Index("split", j)+".upstream", "%q appears twice in the split", b.Upstream)
				}
			}
			total += b.Weight
		}
		if total == 0 && spec.Pin == nil {
			bad("split", "needs a backend with a weight above 0")
		}
		targets = spec.Split
	default:
		bad("upstream", "set upstream or split")
	}
	if spec.Pin != nil {
		if len(spec.Split) == 0 {
			bad("pin", "needs a split")
		}
		if spec.Pin.Header == "" && spec.Pin.Cookie == "" {
			bad("pin", "set header or cookie")
		}
		if spec.Pin.Header != "" && !fields.ValidHeaderName(spec.Pin.Header) {
			bad("pin.header", "%q is not a valid header name", spec.Pin.Header)
		}
		if spec.Pin.MaxAge < 0 {
			bad("pin.max_age", "must not be negative")
		}
	}
	if m := spec.Mirror; m != nil {
		if _, ok := g.byName[m.Upstream]; !ok {
			bad("mirror.upstream", "%q is not a defined upstream (defined: %s)", m.Upstream, fields.Known(g.byName))
		}
		if m.Percent < 0 || m.Percent > 100 {
			bad("mirror.percent", "must be between 0 and 100")
		}
		if m.MaxConcurrent < 0 {
			bad("mirror.max_concurrent", "must not be negative")
		}
		if m.Timeout < 0 {
			bad("mirror.timeout", "must not be negative")
		}
		if m.MaxBodyBytes < 0 {
			bad("mirror.max_body_bytes", "must not be negative")
		}
	}
	checkPolicy(&errs, at+".policy", spec.Policy)
	stages, serrs := g.routeStages(at+".policy", spec)
	errs = append(errs, serrs...)
	for j, name := range spec.Policy.Middleware {
		if !mws.has(name) {
			bad(fields.Index("policy.middleware", j), "%q is not a registered middleware (known: %s)", name, mws.names())
		}
	}
	if len(errs) > 0 {
		return nil, joinErrs(errs)
	}

	rt := &route{spec: spec, name: spec.Name, at: at, match: compileMatcher(&spec), rw: rw, pin: spec.Pin, maxBody: spec.Policy.MaxBodyBytes, track: spec.Policy.Retry != nil || spec.Policy.Hedge != nil}
	if rt.name == "" {
		meth := "*"
		if len(spec.Methods) > 0 {
			meth = strings.Join(spec.Methods, ",")
		}
		rt.name = meth + " " + spec.Path + spec.Prefix
	}
	var policies []string
	rid := routeIdentity(spec, stateName(spec))
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
	for _, s := range stages {
		rt.chain = append(rt.chain, s.name)
	}
	rt.chain = append(append(rt.chain, spec.Policy.Middleware...), policies...)
	return rt, nil
}

func joinErrs(errs []error) error {
	if len(errs) == 1 {
		return errs[0]
	}
	return joinedError(errs)
}

// joinedError joins field errors one per line, like errors.Join, and
// unwraps to them.
type joinedError []error

func (e joinedError) Error() string {
	var b strings.Builder
	for i, err := range e {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(err.Error())
	}
	return b.String()
}

func (e joinedError) Unwrap() []error { return e }

func checkPolicy(errs *[]error, at string, p Policy) {
	bad := func(field, format string, args ...any) {
		*errs = append(*errs, fieldErr(at+"."+field, format, args...))
	}
	if p.Timeout < 0 {
		bad("timeout", "must not be negative, got %s", p.Timeout)
	}
	if p.MaxBodyBytes < 0 {
		bad("max_body_bytes", "must not be negative")
	}
	if r := p.Retry; r != nil {
		if r.Attempts < 2 {
			bad("retry.attempts", "must be at least 2 (the first attempt counts), got %d", r.Attempts)
		}
		if r.PerTry < 0 {
			bad("retry.per_try", "must not be negative, got %s", r.PerTry)
		}
		if r.Backoff < 0 {
			bad("retry.backoff", "must not be negative, got %s", r.Backoff)
		}
		if r.MaxBackoff < 0 {
			bad("retry.max_backoff", "must not be negative, got %s", r.MaxBackoff)
		}
		for j, s := range r.Statuses {
			if s < 100 || s > 599 {
				bad(fields.Index("retry.statuses", j), "%d is not an HTTP status", s)
			}
		}
	}
	if h := p.Hedge; h != nil {
		checkHedge(bad, h)
	}
	if b := p.Breaker; b != nil {
		if b.Failures < 0 {
			bad("breaker.failures", "must not be negative")
		}
		if b.Delay < 0 {
			bad("breaker.delay", "must not be negative, got %s", b.Delay)
		}
		if b.Successes < 0 {
			bad("breaker.successes", "must not be negative")
		}
	}
	if b := p.Bulkhead; b != nil {
		if b.MaxConcurrent < 1 {
			bad("bulkhead.max_concurrent", "must be at least 1, got %d", b.MaxConcurrent)
		}
		if b.MaxWait < 0 {
			bad("bulkhead.max_wait", "must not be negative, got %s", b.MaxWait)
		}
	}
}

func checkHeaderRules(errs *[]error, at string, h HeaderEdits) {
	for _, k := range fields.SortedKeys(h.Set) {
		if !fields.ValidHeaderName(k) {
			*errs = append(*errs, fieldErr(at+".set", "%q is not a valid header name", k))
		}
	}
	for _, k := range fields.SortedKeys(h.Add) {
		if !fields.ValidHeaderName(k) {
			*errs = append(*errs, fieldErr(at+".add", "%q is not a valid header name", k))
		}
	}
	for j, k := range h.Remove {
		if !fields.ValidHeaderName(k) {
			*errs = append(*errs, fieldErr(fields.Index(at+".remove", j), "%q is not a valid header name", k))
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
