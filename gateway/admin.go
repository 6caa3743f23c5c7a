package gateway

import (
	"cmp"
	"encoding/json"
	"io"
	"net/http"
	"strings"

	"github.com/portico-dev/portico/gateway/internal/fields"
	"github.com/portico-dev/portico/gateway/upstream"
	"github.com/portico-dev/portico/internal/problem"
	"github.com/portico-dev/portico/resilience"
)

// AdminConfig configures [Admin].
type AdminConfig struct {
	// Gateway returns the gateway to report on, such as
	// [Reloader.Current]. Required.
	Gateway func() *Gateway
	// Metrics serves /metrics, such as the Handler of config.NewMetrics.
	// If nil, /metrics answers 404.
	Metrics http.Handler
}

// Admin returns the admin handler, to serve on a separate, private
// listener:
//
//	GET /healthz    200 while the process serves (liveness)
//	GET /readyz     200 once every upstream has an instance able to take
//	                traffic, else 503 (readiness)
//	GET /metrics    Prometheus exposition, if AdminConfig.Metrics is set
//	GET /routes     every route with its matchers, target and chain, as JSON,
//	                the AI endpoints, prompt APIs and portal included
//	GET /upstreams  every upstream with its instances and breakers, as JSON
//
// and what the current gateway's parts mount (see [Builder.Admin]), such
// as, with package gateway/config:
//
//	GET /apis/      the catalog of the APIs built from OpenAPI documents
//	GET /apis/<name>/  an API's documentation page, openapi.json and openapi.yaml
//	    /platform/  the platform's admin API, catalog and dashboard
//
// It panics if cfg.Gateway is nil.
func Admin(cfg AdminConfig) http.Handler {
	if cfg.Gateway == nil {
		panic("portico/gateway: AdminConfig.Gateway is nil")
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if !cfg.Gateway().Ready() {
			problem.Error(w, r, http.StatusServiceUnavailable, "an upstream has no instance able to take traffic")
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	})
	mux.HandleFunc("GET /routes", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, cfg.Gateway().Routes())
	})
	mux.HandleFunc("GET /upstreams", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, cfg.Gateway().Upstreams())
	})
	if cfg.Metrics != nil {
		mux.Handle("GET /metrics", cfg.Metrics)
	}
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		if !strings.Contains(r.Header.Get("Accept"), "text/html") {
			writeJSON(w, http.StatusOK, adminIndex)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
		w.Header().Set("Cache-Control", "no-store")
		_, _ = io.WriteString(w, adminHome)
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		g := cfg.Gateway()
		if h, _ := g.adminHandler(r.URL.Path); h != nil {
			h.ServeHTTP(w, r)
			return
		}
		problem.Error(w, r, http.StatusNotFound, "admin endpoints: /healthz, /readyz, /metrics, /routes, /upstreams"+g.adminPatterns()+
			"; /apis/ is served for a gateway with API documents, /platform/ for one with a platform")
	})
	return mux
}

// adminPatterns lists the patterns the parts mounted, for the 404.
func (g *Gateway) adminPatterns() string {
	var b strings.Builder
	for _, p := range fields.SortedKeys(g.admin) {
		b.WriteString(", " + p)
	}
	return b.String()
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// RouteInfo describes a route for /routes.
type RouteInfo struct {
	Name string `json:"name"`
	// Kind is "route" for a configured route (or an operation of an
	// API), or the kind of an [Endpoint] a part serves, such as "ai" for
	// an OpenAI- or Anthropic-compatible endpoint, "prompt" for a prompt
	// API, "portal" for the consumer portal (see package gateway/config).
	Kind     string            `json:"kind"`
	Priority int               `json:"priority"`
	Hosts    []string          `json:"hosts,omitempty"`
	Methods  []string          `json:"methods,omitempty"`
	Path     string            `json:"path,omitempty"`
	Prefix   string            `json:"prefix,omitempty"`
	Headers  map[string]string `json:"headers,omitempty"`
	// Target names the upstream, or the split, the route sends to, the
	// split's pin and the mirror.
	Target struct {
		Upstream string    `json:"upstream,omitempty"`
		Split    []Backend `json:"split,omitempty"`
		Pin      *Pin      `json:"pin,omitempty"`
		Mirror   string    `json:"mirror,omitempty"`
	} `json:"target"`
	// Rewrite lists the request changes, such as "strip_prefix /api".
	Rewrite []string `json:"rewrite,omitempty"`
	// Chain is every stage a request goes through, outermost first: the
	// global middleware, the route's middleware, its policies, and the
	// proxy to the upstream.
	Chain []string `json:"chain"`
}

// Routes describes every endpoint the gateway serves, in matching order:
// by priority, then as defined; the configured routes come before the
// AI endpoints, prompt APIs and consumer portal, which are routes of
// priority 0 in the same table (see [RouteInfo].Kind).
func (g *Gateway) Routes() []RouteInfo {
	out := make([]RouteInfo, 0, len(g.routes))
	for _, tr := range g.table.tiers {
		for _, rt := range tr.routes {
			s := rt.spec
			ri := RouteInfo{Name: rt.name, Kind: cmp.Or(rt.kind, kindRoute), Priority: s.Priority, Hosts: s.Hosts, Methods: s.Methods,
				Path: s.Path, Prefix: s.Prefix, Headers: s.Headers}
			ri.Target.Upstream, ri.Target.Split, ri.Target.Pin = s.Upstream, s.Split, s.Pin
			if s.Mirror != nil {
				ri.Target.Mirror = s.Mirror.Upstream
			}
			for _, kv := range [][2]string{{"strip_prefix", s.StripPrefix}, {"add_prefix", s.AddPrefix}, {"rewrite", s.Rewrite}, {"host", s.Host}} {
				if kv[1] != "" {
					ri.Rewrite = append(ri.Rewrite, kv[0]+" "+kv[1])
				}
			}
			ri.Chain = append(append([]string(nil), g.cfg.chain...), rt.chain...)
			if s.Compose == nil && rt.kind == "" {
				ri.Chain = append(ri.Chain, "proxy")
			}
			out = append(out, ri)
		}
	}
	return out
}

// UpstreamInfo describes an upstream for /upstreams.
type UpstreamInfo struct {
	Name      string                    `json:"name"`
	Ready     bool                      `json:"ready"`
	Instances []upstream.InstanceStatus `json:"instances,omitempty"`
	// Breakers lists the circuit breakers of the routes that send to this
	// upstream, by route.
	Breakers map[string][]resilience.BreakerState `json:"breakers,omitempty"`
}

// Upstreams describes the upstreams, in the order they were added.
func (g *Gateway) Upstreams() []UpstreamInfo {
	out := make([]UpstreamInfo, 0, len(g.upstreams))
	for _, u := range g.upstreams {
		ui := UpstreamInfo{Name: u.Name(), Ready: true}
		if rd, ok := u.(interface{ Ready() bool }); ok {
			ui.Ready = rd.Ready()
		}
		if st, ok := u.(interface {
			Status() []upstream.InstanceStatus
		}); ok {
			ui.Instances = st.Status()
		}
		for _, rt := range g.routes {
			for _, b := range rt.backends {
				if b.upstream != ui.Name || b.breakers == nil {
					continue
				}
				if ui.Breakers == nil {
					ui.Breakers = map[string][]resilience.BreakerState{}
				}
				ui.Breakers[rt.name] = b.breakers.Breakers()
			}
		}
		out = append(out, ui)
	}
	return out
}

// adminIndex is the admin root's answer to scripts: what each endpoint is.
var adminIndex = map[string]string{
	"/platform/": "the console: sign in, dashboard, catalog, approvals (with a platform)",
	"/routes":    "every route, AI endpoint and portal, with its chain",
	"/upstreams": "the upstream pools and the health of their instances",
	"/healthz":   "liveness",
	"/readyz":    "readiness: every upstream has an instance able to take traffic",
	"/metrics":   "Prometheus metrics (when configured)",
	"/apis/":     "the documentation of each OpenAPI-described API",
}

// adminHome is the admin root's landing page for people.
const adminHome = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Portico admin</title>
<style>body{font-family:system-ui,sans-serif;margin:2rem;color:#111827}li{margin:.4rem 0}</style></head>
<body><h1>Portico admin</h1>
<ul>
<li><a href="platform/">Console</a>: sign in with the admin token, then the dashboard, the API catalog and subscription approvals (when the gateway has a platform)</li>
<li><a href="platform/dashboard">Dashboard</a> · <a href="platform/catalog">Catalog</a> · <a href="platform/docs/">Admin API docs</a></li>
<li><a href="routes">Routes</a>: every route and its chain of stages</li>
<li><a href="upstreams">Upstreams</a>: pools and the health of their instances</li>
<li><a href="readyz">Readiness</a> · <a href="healthz">Liveness</a> · <a href="metrics">Metrics</a> · <a href="apis/">API docs</a></li>
</ul></body></html>
`
