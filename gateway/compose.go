package gateway

import (
	"cmp"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/portico-dev/portico/gateway/internal/fields"
	"github.com/portico-dev/portico/middleware"
	"github.com/portico-dev/portico/middleware/auth"
)

// Compose answers a request with one JSON object built from several
// upstream calls made in parallel. A failed required call fails the
// response with 502; a failed optional call is left out and named in the
// Portico-Partial header. The route's policy (timeout, retry, breaker)
// applies to every call.
type Compose struct {
	// Calls are made in parallel. At least one is required.
	Calls []ComposeCall `yaml:"calls"`
	// Headers lists request headers copied to every call, such as
	// "Accept-Language". The identity headers are always copied; the
	// credential the caller authenticated with never is (nor rendered from
	// the query), unless the route's [Auth].ForwardCredentials is set.
	Headers []string `yaml:"headers"`
}

// ComposeCall is one upstream call of a [Compose] route.
type ComposeCall struct {
	// Name identifies the call in errors and the partial marker.
	// Required and unique.
	Name string `yaml:"name"`
	// Key is the member of the merged object holding this call's JSON. If
	// empty, the call's JSON object is merged into the root.
	Key string `yaml:"key"`
	// Upstream names the pool called. Required.
	Upstream string `yaml:"upstream"`
	// Path is the path called, a template filled from the request:
	// "/users/{path.id}", "/orders?user={path.id}&limit={query.limit}".
	Path string `yaml:"path"`
	// Optional lets the response succeed without this call.
	Optional bool `yaml:"optional"`
	// Timeout bounds the call. If zero, the route's timeout does.
	Timeout time.Duration `yaml:"timeout"`
}

// hostRouter sends a request to the upstream its URL host names.
type hostRouter map[string]Upstream

func (h hostRouter) RoundTrip(r *http.Request) (*http.Response, error) {
	u, ok := h[r.URL.Host]
	if !ok {
		return nil, fmt.Errorf("portico/gateway: no upstream %q", r.URL.Host)
	}
	return u.RoundTrip(r)
}

func (g *Gateway) composeConfig(c *Compose, tr http.RoundTripper) middleware.ComposeConfig {
	cfg := middleware.ComposeConfig{Client: &http.Client{Transport: tr}, Logger: g.cfg.logger}
	id := g.cfg.identity
	cfg.Header = append(append([]string(nil), c.Headers...), cmp.Or(id.Consumer, auth.DefaultConsumerHeader),
		cmp.Or(id.Tenant, auth.DefaultTenantHeader), cmp.Or(id.Plan, auth.DefaultPlanHeader),
		cmp.Or(id.Scopes, auth.DefaultScopesHeader), cmp.Or(id.Roles, auth.DefaultRolesHeader))
	for _, call := range c.Calls {
		cfg.Calls = append(cfg.Calls, middleware.ComposeCall{Name: call.Name, Key: call.Key,
			URL: "http://" + call.Upstream + call.Path, Optional: call.Optional, Timeout: call.Timeout})
	}
	return cfg
}

// checkCompose validates c, letting middleware.Compose check the
// templates without panicking.
func (g *Gateway) checkCompose(errs fields.Collector, c *Compose) {
	if len(c.Calls) == 0 {
		errs.Addf("calls", "needs at least one call")
		return
	}
	n := errs.Len()
	seen := map[string]bool{}
	for i, call := range c.Calls {
		cat := fields.Index("calls", i)
		if call.Name == "" {
			errs.Addf(cat+".name", "is required")
		} else if seen[call.Name] {
			errs.Addf(cat+".name", "%q is used twice; call names must be unique", call.Name)
		}
		seen[call.Name] = true
		if _, ok := g.byName[call.Upstream]; !ok {
			errs.Addf(cat+".upstream", "%q is not a defined upstream (defined: %s)", call.Upstream, fields.Known(g.byName))
		}
		if !strings.HasPrefix(call.Path, "/") {
			errs.Addf(cat+".path", "must start with '/', like \"/users/{path.id}\"")
		}
		if call.Timeout < 0 {
			errs.Addf(cat+".timeout", "must not be negative")
		}
	}
	for i, h := range c.Headers {
		if !fields.ValidHeaderName(h) {
			errs.Addf(fields.Index("headers", i), "%q is not a valid header name", h)
		}
	}
	if errs.Len() > n {
		return
	}
	defer func() {
		if r := recover(); r != nil {
			errs.Addf("calls", "%s", strings.TrimPrefix(fmt.Sprint(r), "portico/middleware: "))
		}
	}()
	middleware.Compose(g.composeConfig(c, http.DefaultTransport))
}

// composeHandler builds the handler of a validated Compose route.
func (g *Gateway) composeHandler(rid string, c *Compose, p Policy) (http.Handler, []string) {
	tr, names := g.policyTransport(rid+" compose", p, hostRouter(g.byName), false)
	if rtr, ok := tr.(resilientTransport); ok {
		g.closers = append(g.closers, rtr)
	}
	h := middleware.Compose(g.composeConfig(c, tr))
	if p.Auth == nil || !p.Auth.ForwardCredentials {
		h = withoutCredential(h)
	}
	return h, names
}

func composeNames(c *Compose) string {
	var names []string
	for _, call := range c.Calls {
		names = append(names, call.Name)
	}
	return joinNames(names)
}
