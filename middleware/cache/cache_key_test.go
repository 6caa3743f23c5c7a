package cache_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/portico-dev/portico/middleware"
	"github.com/portico-dev/portico/middleware/cache"
)

// withFront gives every request the Host api.example, so fronts on
// different ports ask for the same resource, and makes the front name
// itself to the origin in the X-Front request header, so bodies tell which
// front fetched them.
func withFront(name string, mw func(http.Handler) http.Handler) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		h := mw(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			r.Header.Set("X-Front", name)
			next.ServeHTTP(w, r)
		}))
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			r.Host = "api.example"
			h.ServeHTTP(w, r)
		})
	}
}

func TestCacheNamespacesKeepEntriesApart(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		ns       [2]string
		wantBody string
		wantHit  bool
	}{
		{
			name:     "caches with different namespaces never see each other's entries",
			ns:       [2]string{"orders", "invoices"},
			wantBody: "from b",
			wantHit:  false,
		},
		{
			name:     "caches with the same namespace share their entries",
			ns:       [2]string{"users", "users"},
			wantBody: "from a",
			wantHit:  true,
		},
		{name: "caches without a namespace share their entries", wantBody: "from a", wantHit: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			o := newCountingOrigin(t, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Cache-Control", "max-age=60")
				fmt.Fprint(w, "from "+r.Header.Get("X-Front"))
			})
			store := cache.NewMemory(cache.MemoryConfig{})
			a := frontFor(t, o, withFront("a", cache.New(cache.Config{Store: store, Namespace: tt.ns[0]})))
			b := frontFor(t, o, withFront("b", cache.New(cache.Config{Store: store, Namespace: tt.ns[1]})))
			if got := fetch(t, http.MethodGet, a.URL+"/items", nil, nil); got.body != "from a" {
				t.Fatalf("first body = %q, want from a", got.body)
			}
			got := fetch(t, http.MethodGet, b.URL+"/items", nil, nil)
			if got.body != tt.wantBody {
				t.Errorf("body = %q, want %q", got.body, tt.wantBody)
			}
			if hit := strings.Contains(got.header.Get("Cache-Status"), "hit"); hit != tt.wantHit {
				t.Errorf("Cache-Status = %q, want hit %v", got.header.Get("Cache-Status"), tt.wantHit)
			}
		})
	}
}

func TestCacheKeysEntriesOnTheAPIVersion(t *testing.T) {
	t.Parallel()
	o := newCountingOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		v := r.Header.Get("API-Version")
		if _, p, ok := strings.Cut(r.Header.Get("Accept"), "version="); ok && v == "" {
			v = p
		}
		w.Header().Set("Cache-Control", "max-age=60")
		fmt.Fprint(w, "version "+strings.TrimPrefix(v, "v"))
	})
	caching := cache.New(cache.Config{})
	version := middleware.Version(middleware.VersionConfig{})
	gw := frontFor(t, o, func(h http.Handler) http.Handler { return version(caching(h)) })
	steps := []struct {
		name     string
		header   map[string]string
		wantBody string
		wantHit  bool
	}{
		{name: "version 1 by header is fetched", header: map[string]string{"API-Version": "1"}, wantBody: "version 1"},
		{name: "version 2 by header is not served version 1's entry", header: map[string]string{"API-Version": "2"}, wantBody: "version 2"},
		{
			name:     "version 1 again is a hit",
			header:   map[string]string{"API-Version": "1"},
			wantBody: "version 1",
			wantHit:  true,
		},
		{name: "version 3 by Accept is fetched", header: map[string]string{"Accept": "application/vnd.acme+json; version=3"}, wantBody: "version 3"},
		{
			name:     "version 2 by Accept is the same version as by header",
			header:   map[string]string{"Accept": "application/vnd.acme+json; version=2"},
			wantBody: "version 2",
			wantHit:  true,
		},
		{
			name:     "v3 by header is version 3",
			header:   map[string]string{"API-Version": "v3"},
			wantBody: "version 3",
			wantHit:  true,
		},
		{name: "a request without a version has entries of its own", wantBody: "version "},
	}
	for _, s := range steps {
		got := fetch(t, http.MethodGet, gw.URL+"/orders", s.header, nil)
		if got.body != s.wantBody {
			t.Errorf("%s: body = %q, want %q", s.name, got.body, s.wantBody)
		}
		if hit := strings.Contains(got.header.Get("Cache-Status"), "hit"); hit != s.wantHit {
			t.Errorf("%s: Cache-Status = %q, want hit %v", s.name, got.header.Get("Cache-Status"), s.wantHit)
		}
	}
	if got, want := o.Calls.Load(), int64(4); got != want {
		t.Errorf("upstream calls = %d, want %d", got, want)
	}
}

func TestVersionSendsVaryForTheFieldsItReads(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		cfg      middleware.VersionConfig
		header   map[string]string
		wantVary string
	}{
		{name: "by default the header and Accept are named", wantVary: "API-Version, Accept"},
		{name: "a custom header is named", cfg: middleware.VersionConfig{Header: "x-api"}, wantVary: "x-api, Accept"},
		{name: "without the Accept parameter only the header is named", cfg: middleware.VersionConfig{Param: "-"}, wantVary: "API-Version"},
		{name: "without the header only Accept is named", cfg: middleware.VersionConfig{Header: "-"}, wantVary: "Accept"},
		{name: "a version read from the path alone varies on nothing", cfg: middleware.VersionConfig{Header: "-", Param: "-"}, wantVary: ""},
		{name: "a rejected version carries Vary too", header: map[string]string{"API-Version": "bad;value"}, wantVary: "API-Version, Accept"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			o := newCountingOrigin(t, func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "ok") })
			gw := frontFor(t, o, middleware.Version(tt.cfg))
			got := fetch(t, http.MethodGet, gw.URL+"/v1/orders", tt.header, nil)
			if v := strings.Join(got.header.Values("Vary"), "; "); v != tt.wantVary {
				t.Errorf("Vary = %q, want %q", v, tt.wantVary)
			}
		})
	}
}

// TestRegressionCacheDroppedTheVaryOfMiddlewareInFront: the cache copied
// the upstream's Vary over the one CORS or Version had set, on a miss as
// on a hit, so caches downstream mixed the variants up.
func TestRegressionCacheDroppedTheVaryOfMiddlewareInFront(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		front  func(http.Handler) http.Handler
		header map[string]string
		want   []string
	}{
		{
			name:   "Version in front of the cache keeps its Vary",
			front:  middleware.Version(middleware.VersionConfig{}),
			header: map[string]string{"API-Version": "2"},
			want:   []string{"API-Version, Accept", "Accept-Encoding"},
		},
		{
			name:   "CORS in front of the cache keeps its Vary",
			front:  middleware.CORS(middleware.CORSConfig{AllowedOrigins: []string{"https://app.example"}}),
			header: map[string]string{"Origin": "https://app.example"},
			want:   []string{"Origin", "Accept-Encoding"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			o := newCountingOrigin(t, func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Cache-Control", "max-age=60")
				w.Header().Set("Vary", "Accept-Encoding")
				fmt.Fprint(w, "ok")
			})
			caching := cache.New(cache.Config{})
			gw := frontFor(t, o, func(h http.Handler) http.Handler { return tt.front(caching(h)) })
			for _, status := range []string{"miss", "hit"} {
				got := fetch(t, http.MethodGet, gw.URL+"/doc", tt.header, nil)
				if hit := strings.Contains(got.header.Get("Cache-Status"), "hit"); hit != (status == "hit") {
					t.Fatalf("Cache-Status = %q, want a %s", got.header.Get("Cache-Status"), status)
				}
				if got, want := strings.Join(got.header.Values("Vary"), "; "), strings.Join(tt.want, "; "); got != want {
					t.Errorf("on a %s Vary = %q, want %q", status, got, want)
				}
			}
		})
	}
}

func TestCacheHonoursVaryAsRFC9111Says(t *testing.T) {
	t.Parallel()
	t.Run("a field sent empty is not the same as a field not sent", func(t *testing.T) {
		t.Parallel()
		o := newCountingOrigin(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "max-age=60")
			w.Header().Set("Vary", "X-Flag")
			_, sent := r.Header["X-Flag"]
			fmt.Fprintf(w, "sent=%v", sent)
		})
		gw := frontFor(t, o, cache.New(cache.Config{}))
		fetch(t, http.MethodGet, gw.URL+"/f", nil, nil)
		got := fetch(t, http.MethodGet, gw.URL+"/f", map[string]string{"X-Flag": ""}, nil)
		if got.body != "sent=true" {
			t.Errorf("body = %q, want sent=true", got.body)
		}
		if cs := got.header.Get("Cache-Status"); !strings.Contains(cs, "fwd=vary-miss") {
			t.Errorf("Cache-Status = %q, want a vary-miss", cs)
		}
	})
	t.Run("Vary: * on any of several lines is never stored", func(t *testing.T) {
		t.Parallel()
		o := newCountingOrigin(t, func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Cache-Control", "max-age=60")
			w.Header().Add("Vary", "Accept")
			w.Header().Add("Vary", "*")
			fmt.Fprint(w, "ok")
		})
		gw := frontFor(t, o, cache.New(cache.Config{}))
		for range 2 {
			got := fetch(t, http.MethodGet, gw.URL+"/star", nil, nil)
			if cs := got.header.Get("Cache-Status"); !strings.Contains(cs, "detail=vary") {
				t.Errorf("Cache-Status = %q, want detail=vary", cs)
			}
		}
		if got, want := o.Calls.Load(), int64(2); got != want {
			t.Errorf("upstream calls = %d, want %d", got, want)
		}
	})
	t.Run("the same values on one line or several select the same variant", func(t *testing.T) {
		t.Parallel()
		o := newCountingOrigin(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "max-age=60")
			w.Header().Set("Vary", "X-Tags")
			fmt.Fprint(w, strings.Join(r.Header.Values("X-Tags"), "+"))
		})
		gw := frontFor(t, o, cache.New(cache.Config{}))
		fetch(t, http.MethodGet, gw.URL+"/t", map[string]string{"X-Tags": "a, b"}, nil)
		req, _ := http.NewRequest(http.MethodGet, gw.URL+"/t", nil)
		req.Header.Add("X-Tags", "a")
		req.Header.Add("X-Tags", "b")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if cs := res.Header.Get("Cache-Status"); !strings.Contains(cs, "hit") {
			t.Errorf("Cache-Status = %q, want a hit", cs)
		}
	})
}

// keyRecorder is a Store that remembers the key of the last Get.
type keyRecorder struct {
	cache.Store
	mu   sync.Mutex
	last string
}

func (k *keyRecorder) Get(ctx context.Context, key string) (*cache.Entry, error) {
	k.mu.Lock()
	k.last = key
	k.mu.Unlock()
	return k.Store.Get(ctx, key)
}

// keyFields are the request properties a cache key is made of.
type keyFields struct {
	namespace, scope, version, host, path, query string
}

// cacheKeyOf returns the key a cache looks up for a request with the
// fields f. The request is served in process, since a real server
// refuses most of the bytes the fields are fuzzed with; middleware may
// sit behind anything.
func cacheKeyOf(f keyFields) string {
	rec := &keyRecorder{Store: cache.NewMemory(cache.MemoryConfig{})}
	h := cache.New(cache.Config{Store: rec, Namespace: f.namespace,
		Scope: func(r *http.Request) string { return r.Header.Get("X-Scope") }})(http.NotFoundHandler())
	r := &http.Request{
		Method: http.MethodGet,
		URL:    &url.URL{Path: f.path, RawQuery: f.query},
		Host:   f.host,
		Header: http.Header{"X-Scope": {f.scope}},
	}
	r = r.WithContext(middleware.WithVersion(context.Background(), f.version))
	h.ServeHTTP(httptest.NewRecorder(), r)
	return rec.last
}

// TestRegressionCacheKeyFieldsHoldingTheSeparatorCollided: the key joined
// its fields with NUL bytes, so a scope holding NUL could pass for a
// different scope and host.
func TestRegressionCacheKeyFieldsHoldingTheSeparatorCollided(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		a, b keyFields
	}{
		{name: "a NUL in the scope does not shift the host", a: keyFields{scope: "consumer:a\x00evil", host: "api"}, b: keyFields{scope: "consumer:a", host: "evil\x00api"}},
		{name: "a question mark in the path is not the query", a: keyFields{path: "/a?b", query: ""}, b: keyFields{path: "/a", query: "b"}},
		{name: "a namespace cannot absorb the scope", a: keyFields{namespace: "1:x", scope: ""}, b: keyFields{namespace: "", scope: "x"}},
		{name: "a version cannot absorb the host", a: keyFields{version: "2", host: ""}, b: keyFields{version: "", host: "2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if a, b := cacheKeyOf(tt.a), cacheKeyOf(tt.b); a == b {
				t.Errorf("both requests have the key %q", a)
			}
		})
	}
}

// FuzzCacheKeysAreUnambiguous asserts that two requests share a cache key
// exactly when they agree on every field the key is made of.
func FuzzCacheKeysAreUnambiguous(f *testing.F) {
	f.Add("", "consumer:a\x00evil", "", "api", "/p", "", "", "consumer:a", "", "evil\x00api", "/p", "")
	f.Add("ns", "", "2", "h", "/a?b", "", "ns", "", "2", "h", "/a", "b")
	f.Add("1:x", "", "", "", "/", "", "", "1:x", "", "", "/", "")
	f.Add("n", "s", "v", "h", "/p", "q", "n", "s", "v", "h", "/p", "q")
	f.Fuzz(func(t *testing.T, ns1, s1, v1, h1, p1, q1, ns2, s2, v2, h2, p2, q2 string) {
		a := keyFields{
			namespace: ns1,
			scope:     s1,
			version:   v1,
			host:      h1,
			path:      p1,
			query:     q1,
		}
		b := keyFields{
			namespace: ns2,
			scope:     s2,
			version:   v2,
			host:      h2,
			path:      p2,
			query:     q2,
		}
		// The key holds the escaped path: two paths that escape alike are
		// the same resource.
		same := a.namespace == b.namespace && a.scope == b.scope && a.version == b.version &&
			a.host == b.host && a.query == b.query &&
			(&url.URL{Path: a.path}).EscapedPath() == (&url.URL{Path: b.path}).EscapedPath()
		ka, kb := cacheKeyOf(a), cacheKeyOf(b)
		if (ka == kb) != same {
			t.Fatalf("fields %+v and %+v: keys %q and %q, want equal %v", a, b, ka, kb, same)
		}
	})
}
