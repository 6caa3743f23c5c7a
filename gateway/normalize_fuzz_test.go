package gateway_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"path"
	"strings"
	"sync"
	"testing"

	"github.com/portico-dev/portico/gateway"
)

// pathRecorder is an in-process upstream that records the path it is sent.
type pathRecorder struct {
	name string
	mu   sync.Mutex
	got  []string
}

func (p *pathRecorder) Name() string { return p.name }

func (p *pathRecorder) RoundTrip(r *http.Request) (*http.Response, error) {
	p.mu.Lock()
	p.got = append(p.got, r.URL.EscapedPath())
	p.mu.Unlock()
	return &http.Response{
		StatusCode: http.StatusNoContent,
		Header:     http.Header{},
		Body:       http.NoBody,
		Request:    r,
	}, nil
}

func (p *pathRecorder) take() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	got := p.got
	p.got = nil
	return got
}

// upstreamPath maps the path an upstream received, read as an upstream
// such as http.FileServer reads it (decoded once, then cleaned), back to
// the gateway path it stands for; ok is false when the path lies outside
// what the route may send.
type upstreamPath func(decoded string) (string, bool)

// FuzzPathNormalization asserts, for any request target, that the gateway
// refuses it or that the route which matched is the route the path its
// upstream received belongs to: no spelling of a path reaches an upstream
// under another route's name.
func FuzzPathNormalization(f *testing.F) {
	for _, s := range []string{
		"/api/public/hello.txt", "/api/public/../private/secret.txt", "/api/public/%2e%2e/private/secret.txt",
		"/api/public/..%2fprivate/secret.txt", "/f/..%2fprivate%2fsecret.txt", "/f/..%252fprivate", "//api//private",
		`/api/public/..\private`, "/api/public/..;/private", "/api/priv%61te/x", "/x/%2E%2E/api/private/y",
		"http://evil.example/api/public/../private/x", "/f/a%20b", "/api/public/a%3Bb/./c", "/../api/private",
	} {
		f.Add(s, false)
		f.Add(s, true)
	}
	recs := map[string]*pathRecorder{}
	back := map[string]upstreamPath{
		"public":  underPrefix("/public", "/api"),
		"private": underPrefix("/private", "/api"),
		"any":     func(d string) (string, bool) { return d, true },
		"file": func(d string) (string, bool) {
			name, ok := strings.CutPrefix(d, "/public/")
			return "/f/" + name, ok && name != "" && !strings.Contains(name, "/")
		},
	}
	gws := map[bool]*gateway.Gateway{}
	for _, decode := range []bool{false, true} {
		opts := []gateway.Option{gateway.WithLogger(quiet), gateway.WithRoute(
			gateway.Route{
				Name:        "public",
				Prefix:      "/api/public",
				StripPrefix: "/api",
				Upstream:    "public",
			},
			gateway.Route{
				Name:        "private",
				Prefix:      "/api/private",
				StripPrefix: "/api",
				Upstream:    "private",
			},
			gateway.Route{
				Name:     "file",
				Path:     "/f/{name}",
				Rewrite:  "/public/{name}",
				Upstream: "file",
			},
			gateway.Route{Name: "any", Prefix: "/", Upstream: "any"},
		)}
		if decode {
			opts = append(opts, gateway.WithPathNormalization(gateway.PathNormalization{Escaped: "decode"}))
		}
		for name := range back {
			rec := &pathRecorder{name: name}
			recs[name+modeName(decode)] = rec
			opts = append(opts, gateway.WithUpstream(rec))
		}
		g, err := gateway.New(opts...)
		if err != nil {
			f.Fatal(err)
		}
		f.Cleanup(func() { g.Close() })
		gws[decode] = g
	}

	f.Fuzz(func(t *testing.T, target string, decode bool) {
		u, err := url.ParseRequestURI(target)
		if err != nil {
			return // net/http answers 400 before the gateway sees it
		}
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.URL, r.RequestURI = u, target
		w := httptest.NewRecorder()
		gws[decode].ServeHTTP(w, r)
		var hits []string
		for name, toGateway := range back {
			for _, got := range recs[name+modeName(decode)].take() {
				hits = append(hits, name)
				decoded, err := url.PathUnescape(got)
				if err != nil {
					t.Fatalf("%s: route %s sent the malformed path %q", target, name, got)
				}
				p, ok := toGateway(clean(decoded))
				if !ok {
					t.Fatalf("%s: route %s sent %q, outside its upstream path", target, name, got)
				}
				owner, _ := gws[decode].Lookup(&http.Request{Method: http.MethodGet, URL: &url.URL{Path: p}, Header: http.Header{}})
				if owner != name {
					t.Fatalf("%s: route %s sent %q, which belongs to route %q", target, name, got, owner)
				}
			}
		}
		if w.Code == http.StatusBadRequest && len(hits) > 0 {
			t.Fatalf("%s: refused, yet sent to %v", target, hits)
		}
		if w.Code != http.StatusBadRequest && len(hits) != 1 {
			t.Fatalf("%s: status %d, sent to %v, want one upstream", target, w.Code, hits)
		}
	})
}

// clean cleans p as http.FileServer does, but keeps a trailing slash:
// "/f/x/" and "/f/x" are different paths to the gateway's routes.
func clean(p string) string {
	c := path.Clean(p)
	if strings.HasSuffix(p, "/") && c != "/" {
		c += "/"
	}
	return c
}

// underPrefix maps an upstream path under want back to the gateway path
// that had prefix stripped.
func underPrefix(want, prefix string) upstreamPath {
	return func(d string) (string, bool) {
		return prefix + d, d == want || strings.HasPrefix(d, want+"/")
	}
}

func modeName(decode bool) string {
	if decode {
		return " decode"
	}
	return " reject"
}
