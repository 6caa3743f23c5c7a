package gateway_test

import (
	"net/http"
	"net/netip"
	"slices"
	"testing"

	"github.com/portico-dev/portico/gateway"
)

func TestRewritesAndHeaders(t *testing.T) {
	t.Parallel()
	up := upstreamOf(t, "svc", echoServer(t, "svc"))
	_, gw := newGateway(t, gateway.WithUpstream(up), gateway.WithRoute(
		gateway.Route{Prefix: "/api", StripPrefix: "/api", Upstream: "svc"},
		gateway.Route{
			Prefix:      "/old",
			StripPrefix: "/old",
			AddPrefix:   "/new",
			Upstream:    "svc",
		},
		gateway.Route{Path: "/u/{id}/posts/{post}", Rewrite: "/v2/posts/{post}/by/{id}", Upstream: "svc"},
		gateway.Route{Path: "/static/*", Rewrite: "/assets/{*}", Upstream: "svc"},
		gateway.Route{Path: "/keep", Upstream: "svc"},
		gateway.Route{Path: "/vhost", Host: "internal.svc", Upstream: "svc"},
		gateway.Route{
			Path:     "/hdrs",
			Upstream: "svc",
			RequestHeaders: gateway.HeaderEdits{
				Set:    map[string]string{"X-Tenant": "acme"},
				Add:    map[string]string{"X-Tag": "gw"},
				Remove: []string{"X-Secret"},
			},
			ResponseHeaders: gateway.HeaderEdits{
				Set:    map[string]string{"Cache-Control": "no-store"},
				Add:    map[string]string{"X-Tag": "gw"},
				Remove: []string{"X-Served-By"},
			},
		},
	))

	tests := []struct {
		name     string
		path     string
		wantPath string
		wantRaw  string
		query    string
	}{
		{name: "a stripped prefix leaves the rest of the path", path: "/api/users/7", wantPath: "/users/7"},
		{name: "a stripped prefix that was the whole path leaves a slash", path: "/api", wantPath: "/"},
		{
			name:     "a query survives the strip",
			path:     "/api/x?a=1&b=2",
			wantPath: "/x",
			query:    "a=1&b=2",
		},
		{name: "a replaced prefix strips then adds", path: "/old/thing", wantPath: "/new/thing"},
		{name: "a template rewrite fills parameters", path: "/u/9/posts/33", wantPath: "/v2/posts/33/by/9"},
		{name: "a template rewrite fills the catch-all", path: "/static/css/site.css", wantPath: "/assets/css/site.css"},
		{name: "an escaped percent stays escaped", path: "/api/a%252Fb", wantPath: "/a%2Fb"},
		{
			name:     "an escaped reserved character stays escaped",
			path:     "/api/a%3bb",
			wantPath: "/a;b",
			wantRaw:  "/a%3Bb",
		},
		{name: "a template rewrite escapes parameters again", path: "/u/a%20b%252F/posts/x%3F", wantPath: "/v2/posts/x?/by/a b%2F"},
		{name: "a template rewrite escapes the catch-all segment by segment", path: "/static/a%20b/c%23", wantPath: "/assets/a b/c#"},
		{name: "a route without rewrite keeps the path", path: "/keep", wantPath: "/keep"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req, _ := http.NewRequest(http.MethodGet, gw.URL+tt.path, nil)
			resp, e := do(t, gw.Client(), req)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status = %d", resp.StatusCode)
			}
			if e.Path != tt.wantPath {
				t.Errorf("path = %q, want %q", e.Path, tt.wantPath)
			}
			if e.RawPath != tt.wantRaw {
				t.Errorf("raw path = %q, want %q", e.RawPath, tt.wantRaw)
			}
			if e.Query != tt.query {
				t.Errorf("query = %q, want %q", e.Query, tt.query)
			}
		})
	}

	t.Run("the upstream sees its own host unless the route overrides it", func(t *testing.T) {
		t.Parallel()
		req, _ := http.NewRequest(http.MethodGet, gw.URL+"/keep", nil)
		req.Host = "public.example.com"
		_, e := do(t, gw.Client(), req)
		if e.Host == "public.example.com" {
			t.Errorf("upstream host = %q, want the instance's", e.Host)
		}
		if got := e.Header.Get("X-Forwarded-Host"); got != "public.example.com" {
			t.Errorf("X-Forwarded-Host = %q", got)
		}
		req, _ = http.NewRequest(http.MethodGet, gw.URL+"/vhost", nil)
		_, e = do(t, gw.Client(), req)
		if e.Host != "internal.svc" {
			t.Errorf("overridden host = %q, want internal.svc", e.Host)
		}
	})

	t.Run("request and response header rules apply", func(t *testing.T) {
		t.Parallel()
		req, _ := http.NewRequest(http.MethodGet, gw.URL+"/hdrs", nil)
		req.Header.Set("X-Tenant", "evil")
		req.Header.Set("X-Secret", "s3cr3t")
		req.Header.Add("X-Tag", "client")
		resp, e := do(t, gw.Client(), req)
		if got := e.Header.Values("X-Tenant"); !slices.Equal(got, []string{"acme"}) {
			t.Errorf("X-Tenant = %q, want [acme]", got)
		}
		if got := e.Header.Get("X-Secret"); got != "" {
			t.Errorf("X-Secret reached the upstream: %q", got)
		}
		if got := e.Header.Values("X-Tag"); !slices.Equal(got, []string{"client", "gw"}) {
			t.Errorf("X-Tag = %q, want [client gw]", got)
		}
		if got := resp.Header.Get("Cache-Control"); got != "no-store" {
			t.Errorf("response Cache-Control = %q", got)
		}
		if got := resp.Header.Get("X-Served-By"); got != "" {
			t.Errorf("removed response header still present: %q", got)
		}
		if got := resp.Header.Values("X-Tag"); !slices.Equal(got, []string{"gw"}) {
			t.Errorf("response X-Tag = %q", got)
		}
	})
}

func TestForwardedHeaders(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		trusted   []netip.Prefix
		wantXFF   string
		wantProto string
	}{
		{name: "an untrusted client's forwarded headers are replaced", wantXFF: "127.0.0.1", wantProto: "http"},
		{
			name:      "a trusted proxy's forwarded headers are extended",
			trusted:   []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")},
			wantXFF:   "203.0.113.9, 127.0.0.1",
			wantProto: "https",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			up := upstreamOf(t, "svc", echoServer(t, "svc"))
			_, gw := newGateway(t, gateway.WithUpstream(up), gateway.WithTrustedProxies(tt.trusted...),
				gateway.WithRoute(gateway.Route{Prefix: "/", Upstream: "svc"}))
			req, _ := http.NewRequest(http.MethodGet, gw.URL+"/", nil)
			req.Header.Set("X-Forwarded-For", "203.0.113.9")
			req.Header.Set("X-Forwarded-Proto", "https")
			req.Header.Set("Forwarded", "for=203.0.113.9")
			_, e := do(t, gw.Client(), req)
			if got := e.Header.Get("X-Forwarded-For"); got != tt.wantXFF {
				t.Errorf("X-Forwarded-For = %q, want %q", got, tt.wantXFF)
			}
			if got := e.Header.Get("X-Forwarded-Proto"); got != tt.wantProto {
				t.Errorf("X-Forwarded-Proto = %q, want %q", got, tt.wantProto)
			}
			if got := e.Header.Get("Forwarded"); got != "" {
				t.Errorf("Forwarded passed through: %q", got)
			}
		})
	}
}
