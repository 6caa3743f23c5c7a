package gateway_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/portico-dev/portico/gateway"
	"github.com/portico-dev/portico/internal/problem"
)

func TestMatchers(t *testing.T) {
	t.Parallel()
	names := []string{"exact", "prefix", "param", "catchall", "host", "wild", "post", "header", "low", "high", "fallback"}
	var opts []gateway.Option
	for _, n := range names {
		opts = append(opts, gateway.WithUpstream(upstreamOf(t, n, echoServer(t, n))))
	}
	opts = append(opts, gateway.WithRoute(
		gateway.Route{Path: "/exact", Upstream: "exact"},
		gateway.Route{Prefix: "/pre", Upstream: "prefix"},
		gateway.Route{Path: "/users/{id}", Upstream: "param"},
		gateway.Route{Path: "/files/*", Upstream: "catchall"},
		gateway.Route{Path: "/h", Hosts: []string{"api.example.com"}, Upstream: "host"},
		gateway.Route{Path: "/h", Hosts: []string{"*.example.org"}, Upstream: "wild"},
		gateway.Route{Path: "/m", Methods: []string{"POST", "PUT"}, Upstream: "post"},
		gateway.Route{Path: "/hdr", Headers: map[string]string{"X-Canary": "yes"}, Upstream: "header"},
		gateway.Route{Path: "/hdr", Upstream: "fallback"},
		gateway.Route{Prefix: "/prio", Upstream: "low"},
		gateway.Route{
			Prefix:   "/prio",
			Priority: 10,
			Methods:  []string{"GET"},
			Upstream: "high",
		},
		gateway.Route{Path: "/shadow/{id}", Headers: map[string]string{"X-Beta": "*"}, Upstream: "header"},
		gateway.Route{Prefix: "/shadow", Upstream: "fallback"},
	))
	_, gw := newGateway(t, opts...)

	tests := []struct {
		name    string
		method  string
		host    string
		path    string
		header  map[string]string
		server  string
		status  int
		gotPath string
	}{
		{name: "an exact path matches itself", path: "/exact", server: "exact"},
		{name: "an exact path does not match a longer path", path: "/exact/more", status: 404},
		{name: "a prefix matches itself", path: "/pre", server: "prefix"},
		{name: "a prefix matches a path under it", path: "/pre/a/b?x=1", server: "prefix"},
		{name: "a prefix does not match a longer segment", path: "/prefix", status: 404},
		{name: "a template matches one segment", path: "/users/42", server: "param"},
		{name: "a template does not match two segments", path: "/users/42/x", status: 404},
		{name: "a catch-all matches any depth", path: "/files/a/b/c.txt", server: "catchall"},
		{
			name:   "an exact host matches ignoring case and port",
			host:   "API.example.com:8443",
			path:   "/h",
			server: "host",
		},
		{
			name:   "a wildcard host matches a subdomain",
			host:   "eu.cdn.example.org",
			path:   "/h",
			server: "wild",
		},
		{
			name:   "a wildcard host does not match the apex",
			host:   "example.org",
			path:   "/h",
			status: 404,
		},
		{
			name:   "an unknown host does not match",
			host:   "other.test",
			path:   "/h",
			status: 404,
		},
		{
			name:   "a listed method matches",
			method: "PUT",
			path:   "/m",
			server: "post",
		},
		{
			name:   "an unlisted method is refused with 405",
			method: "GET",
			path:   "/m",
			status: 405,
		},
		{
			name:   "a header matcher picks its route",
			path:   "/hdr",
			header: map[string]string{"X-Canary": "yes"},
			server: "header",
		},
		{
			name:   "a different header value falls to the next route",
			path:   "/hdr",
			header: map[string]string{"X-Canary": "no"},
			server: "fallback",
		},
		{name: "a higher priority wins over definition order", path: "/prio/x", server: "high"},
		{
			name:   "a lower priority route takes what the higher one refuses",
			method: "POST",
			path:   "/prio/x",
			server: "low",
		},
		{name: "a less specific path takes what a specific route refuses", path: "/shadow/7", server: "fallback"},
		{
			name:   "a specific path with its header wins",
			path:   "/shadow/7",
			header: map[string]string{"X-Beta": "1"},
			server: "header",
		},
		{name: "an unmatched path is 404", path: "/nowhere", status: 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			method := tt.method
			if method == "" {
				method = http.MethodGet
			}
			req, _ := http.NewRequest(method, gw.URL+tt.path, nil)
			if tt.host != "" {
				req.Host = tt.host
			}
			for k, v := range tt.header {
				req.Header.Set(k, v)
			}
			resp, e := do(t, gw.Client(), req)
			want := tt.status
			if want == 0 {
				want = http.StatusOK
			}
			if resp.StatusCode != want {
				t.Fatalf("status = %d, want %d", resp.StatusCode, want)
			}
			if want != http.StatusOK {
				if ct := resp.Header.Get("Content-Type"); ct != problem.ContentType {
					t.Errorf("content type = %q, want a problem document", ct)
				}
				if want == 405 && resp.Header.Get("Allow") != "POST, PUT" {
					t.Errorf("Allow = %q, want %q", resp.Header.Get("Allow"), "POST, PUT")
				}
				return
			}
			if e.Server != tt.server {
				t.Errorf("served by %q, want %q", e.Server, tt.server)
			}
		})
	}
}

func FuzzRoute(f *testing.F) {
	f.Add("/users/{id}", "", "/v2/{id}", "*.example.com")
	f.Add("", "/api", "", "api.example.com")
	f.Add("/files/*", "", "/x/{*}", "")
	f.Add("/{a}/{a}", "", "", "")
	f.Add("/{id:[0-9]+}", "", "/{id}", "")
	f.Fuzz(func(t *testing.T, path, prefix, rewrite, host string) {
		rt := gateway.Route{
			Path:     path,
			Prefix:   prefix,
			Rewrite:  rewrite,
			Upstream: "a",
		}
		if host != "" {
			rt.Hosts = []string{host}
		}
		g, err := gateway.New(gateway.WithUpstream(fuzzUpstream{}), gateway.WithRoute(rt))
		if err != nil {
			return
		}
		rec := httptest.NewRecorder()
		g.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/users/1", nil))
		if rec.Code == 0 {
			t.Fatal("no status")
		}
	})
}

// fuzzUpstream answers every request itself.
type fuzzUpstream struct{}

func (fuzzUpstream) Name() string { return "a" }

func (fuzzUpstream) RoundTrip(*http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: http.StatusNoContent, Header: http.Header{}, Body: http.NoBody}, nil
}
