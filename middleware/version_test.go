package middleware_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/portico-dev/portico/middleware"
)

func TestVersionFindsTheRequestedVersion(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		cfg        middleware.VersionConfig
		path       string
		header     map[string]string
		wantStatus int
		wantVer    string
		wantPath   string
	}{
		{
			name:       "the path prefix names the version",
			path:       "/v2/orders",
			wantStatus: 200,
			wantVer:    "2",
			wantPath:   "/v2/orders",
		},
		{
			name:       "the path prefix is stripped when asked",
			cfg:        middleware.VersionConfig{StripPath: true},
			path:       "/v2.1/orders/7",
			wantStatus: 200,
			wantVer:    "2.1",
			wantPath:   "/orders/7",
		},
		{
			name:       "a bare version path strips to the root",
			cfg:        middleware.VersionConfig{StripPath: true},
			path:       "/v3",
			wantStatus: 200,
			wantVer:    "3",
			wantPath:   "/",
		},
		{
			name:       "the header names the version",
			path:       "/orders",
			header:     map[string]string{"API-Version": "2024-06-01"},
			wantStatus: 200,
			wantVer:    "2024-06-01",
			wantPath:   "/orders",
		},
		{
			name:       "a custom header names the version",
			cfg:        middleware.VersionConfig{Header: "X-Api"},
			path:       "/orders",
			header:     map[string]string{"X-Api": "v4"},
			wantStatus: 200,
			wantVer:    "4",
		},
		{
			name:       "the Accept media-type parameter names the version",
			path:       "/orders",
			header:     map[string]string{"Accept": "text/html, application/vnd.acme+json; version=3; q=0.9"},
			wantStatus: 200,
			wantVer:    "3",
		},
		{
			name:       "agreeing sources are accepted",
			path:       "/v2/orders",
			header:     map[string]string{"API-Version": "v2"},
			wantStatus: 200,
			wantVer:    "2",
		},
		{
			name:       "conflicting sources are a 400",
			path:       "/v2/orders",
			header:     map[string]string{"API-Version": "3"},
			wantStatus: 400,
		},
		{
			name:       "a malformed header is a 400",
			path:       "/orders",
			header:     map[string]string{"API-Version": "2;drop table"},
			wantStatus: 400,
		},
		{
			name:       "an unsupported version is a 400",
			cfg:        middleware.VersionConfig{Supported: []string{"1", "2"}},
			path:       "/v9/x",
			wantStatus: 400,
		},
		{
			name:       "a request without a version gets the default",
			cfg:        middleware.VersionConfig{Default: "v1"},
			path:       "/orders",
			wantStatus: 200,
			wantVer:    "1",
		},
		{
			name:       "a path that only looks like a version is ignored",
			path:       "/videos/1",
			wantStatus: 200,
			wantVer:    "",
			wantPath:   "/videos/1",
		},
		{
			name:       "disabled sources are ignored",
			cfg:        middleware.VersionConfig{NoPath: true, Header: "-", Param: "-"},
			path:       "/v2/x",
			header:     map[string]string{"API-Version": "3"},
			wantStatus: 200,
			wantVer:    "",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			o := newCountingOrigin(t, func(w http.ResponseWriter, r *http.Request) {
				fmt.Fprint(w, r.URL.Path)
			})
			inner := func(next http.Handler) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("X-Seen-Version", middleware.VersionFrom(r.Context()))
					next.ServeHTTP(w, r)
				})
			}
			mw := middleware.Version(tt.cfg)
			gw := frontFor(t, o, func(h http.Handler) http.Handler { return mw(inner(h)) })
			got := fetch(t, http.MethodGet, gw.URL+tt.path, tt.header, nil)
			if got.status != tt.wantStatus {
				t.Fatalf("status = %d, want %d (%s)", got.status, tt.wantStatus, got.body)
			}
			if tt.wantStatus != 200 {
				if got.header.Get("Content-Type") != "application/problem+json" {
					t.Errorf("a rejection must be a problem document")
				}
				return
			}
			if v := got.header.Get("X-Seen-Version"); v != tt.wantVer {
				t.Errorf("VersionFrom = %q, want %q", v, tt.wantVer)
			}
			if tt.wantPath != "" && got.body != tt.wantPath {
				t.Errorf("upstream path = %q, want %q", got.body, tt.wantPath)
			}
		})
	}
}

func TestByVersionRoutesEachVersionToItsUpstream(t *testing.T) {
	t.Parallel()
	v1 := newCountingOrigin(t, func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "v1 pool "+r.URL.Path) })
	v2 := newCountingOrigin(t, func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "v2 pool "+r.URL.Path) })
	proxy := func(o *countingOrigin) http.Handler {
		u, _ := url.Parse(o.URL)
		return httputil.NewSingleHostReverseProxy(u)
	}
	router := middleware.Version(middleware.VersionConfig{StripPath: true})(middleware.ByVersion(map[string]http.Handler{
		"v1": proxy(v1), "2": proxy(v2),
	}))
	srv := httptest.NewServer(router)
	defer srv.Close()
	tests := []struct {
		name   string
		path   string
		header map[string]string
		status int
		body   string
	}{
		{
			name:   "version 1 by path goes to the v1 pool",
			path:   "/v1/users",
			status: 200,
			body:   "v1 pool /users",
		},
		{
			name:   "version 2 by header goes to the v2 pool",
			path:   "/users",
			header: map[string]string{"API-Version": "2"},
			status: 200,
			body:   "v2 pool /users",
		},
		{name: "an unknown version is a 404 problem listing the versions", path: "/v7/users", status: 404},
		{name: "no version is a 404 problem", path: "/users", status: 404},
	}
	for _, tt := range tests {
		got := fetch(t, http.MethodGet, srv.URL+tt.path, tt.header, nil)
		if got.status != tt.status {
			t.Errorf("%s: status = %d, want %d", tt.name, got.status, tt.status)
			continue
		}
		if tt.status == 200 && got.body != tt.body {
			t.Errorf("%s: body = %q, want %q", tt.name, got.body, tt.body)
		}
		if tt.status == 404 {
			var doc struct {
				Supported []string `json:"supported_versions"`
			}
			if err := json.Unmarshal([]byte(got.body), &doc); err != nil {
				t.Errorf("%s: problem %s: %v", tt.name, got.body, err)
			} else if want := []string{"1", "2"}; !slices.Equal(doc.Supported, want) {
				t.Errorf("%s: supported_versions = %q, want %q", tt.name, doc.Supported, want)
			}
		}
	}
}

func FuzzVersion(f *testing.F) {
	for _, s := range []string{"/v2/x", "/v", "/v1.2.3-beta/", "/V9", "/v2%2F/x"} {
		f.Add(s, "2", "application/json; version=2")
	}
	f.Add("/", "v", `a/b; version="3"`)
	mw := middleware.Version(middleware.VersionConfig{StripPath: true})
	f.Fuzz(func(t *testing.T, path, header, accept string) {
		u, err := url.Parse("http://h" + path)
		if err != nil || !strings.HasPrefix(u.Path, "/") {
			return
		}
		var seen string
		h := mw(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
			seen = middleware.VersionFrom(r.Context())
			if !strings.HasPrefix(r.URL.Path, "/") {
				t.Fatalf("stripped path %q does not start with /", r.URL.Path)
			}
		}))
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.URL = u
		req.Header["Api-Version"] = []string{header}
		req.Header["Accept"] = []string{accept}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != 200 && w.Code != 400 {
			t.Fatalf("status %d", w.Code)
		}
		if strings.ContainsAny(seen, "/ ;\"") {
			t.Fatalf("version %q holds a separator", seen)
		}
	})
}
