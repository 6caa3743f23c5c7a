package openapi_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v4"

	"github.com/portico-dev/portico/openapi"
)

func docsServer(t *testing.T, spec *openapi.Spec) *httptest.Server {
	t.Helper()
	d, err := openapi.NewDocs(spec)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/docs/", http.StripPrefix("/docs", d))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func get(t *testing.T, client *http.Client, url string, header ...string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	return res, string(b)
}

func TestDocsServesTheSpec(t *testing.T) {
	t.Parallel()
	spec := load(t, versions[0])
	srv := docsServer(t, spec)
	client := &http.Client{Transport: &http.Transport{}, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	defer client.CloseIdleConnections()

	tests := []struct {
		name  string
		path  string
		ctype string
		check func(t *testing.T, body string)
	}{
		{
			name:  "the JSON document lists every operation",
			path:  "/docs/openapi.json",
			ctype: "application/json",
			check: func(t *testing.T, body string) {
				var doc struct {
					OpenAPI string                    `json:"openapi"`
					Paths   map[string]map[string]any `json:"paths"`
				}
				if err := json.Unmarshal([]byte(body), &doc); err != nil {
					t.Fatal(err)
				}
				if got, want := doc.OpenAPI, "3.0.3"; got != want {
					t.Errorf("openapi = %q, want %q", got, want)
				}
				if got, want := len(doc.Paths), 12; got != want {
					t.Errorf("%d paths, want %d", got, want)
				}
			},
		},
		{
			name:  "the YAML document starts with the version and round-trips",
			path:  "/docs/openapi.yaml",
			ctype: "application/yaml",
			check: func(t *testing.T, body string) {
				if !strings.HasPrefix(body, "openapi: 3.0.3\ninfo:\n") {
					t.Fatalf("YAML starts %q", body[:min(40, len(body))])
				}
				if _, err := openapi.Parse([]byte(body)); err != nil {
					t.Fatalf("served YAML does not load: %v", err)
				}
				var m map[string]any
				if err := yaml.Unmarshal([]byte(body), &m); err != nil {
					t.Fatalf("YAML: %v", err)
				}
				if m["paths"] == nil {
					t.Error("YAML has no paths")
				}
			},
		},
		{
			name:  "the page loads the embedded renderer by a relative URL",
			path:  "/docs/",
			ctype: "text/html; charset=utf-8",
			check: func(t *testing.T, body string) {
				for _, want := range []string{`src="assets/redoc.standalone.js"`, "<title>Petstore</title>"} {
					if !strings.Contains(body, want) {
						t.Errorf("page does not hold %s: %s", want, body)
					}
				}
				if strings.Contains(body, "<script>") {
					t.Errorf("page holds an inline <script>: %s", body)
				}
			},
		},
		{
			name:  "the renderer script is served from the module",
			path:  "/docs/assets/redoc.standalone.js",
			ctype: "text/javascript; charset=utf-8",
			check: func(t *testing.T, body string) {
				if len(body) < 500_000 {
					t.Fatalf("script is %d bytes", len(body))
				}
			},
		},
		{
			name:  "the page's start-up script is served as a file, not inline",
			path:  "/docs/assets/init.js",
			ctype: "text/javascript; charset=utf-8",
			check: func(t *testing.T, body string) {
				if !strings.Contains(body, "Redoc.init(") {
					t.Fatalf("init script: %s", body)
				}
			},
		},
		{
			name:  "the renderer's licence is served next to it",
			path:  "/docs/assets/LICENSE",
			ctype: "text/plain; charset=utf-8",
			check: func(t *testing.T, body string) {
				for _, want := range []string{"The MIT License", "Rebilly"} {
					if !strings.Contains(body, want) {
						t.Errorf("licence does not name %s: %.200s", want, body)
					}
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			res, body := get(t, client, srv.URL+tc.path)
			if got, want := res.StatusCode, http.StatusOK; got != want {
				t.Fatalf("status = %d, want %d", got, want)
			}
			if got, want := res.Header.Get("Content-Type"), tc.ctype; got != want {
				t.Fatalf("Content-Type = %q, want %q", got, want)
			}
			tc.check(t, body)
			etag := res.Header.Get("ETag")
			if etag == "" {
				t.Error("no ETag")
			}
			res2, _ := get(t, client, srv.URL+tc.path, "If-None-Match", etag)
			if got, want := res2.StatusCode, http.StatusNotModified; got != want {
				t.Errorf("conditional GET with ETag %q: status = %d, want %d", etag, got, want)
			}
		})
	}
	t.Run("the page without its trailing slash redirects to it", func(t *testing.T) {
		t.Parallel()
		mux := http.NewServeMux()
		d, _ := openapi.NewDocs(spec)
		mux.Handle("/api/docs", http.StripPrefix("/api/docs", d))
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/api/docs", nil))
		if got, want := w.Code, http.StatusMovedPermanently; got != want {
			t.Errorf("status = %d, want %d", got, want)
		}
		if got, want := w.Header().Get("Location"), "/api/docs/"; got != want {
			t.Errorf("Location = %q, want %q", got, want)
		}
	})
}

// chromium renders url headless, with every host but the loopback
// unresolvable, and returns the DOM after scripts ran.
func chromium(t *testing.T, url string) string {
	t.Helper()
	bin := "/usr/bin/chromium"
	if _, err := os.Stat(bin); err != nil {
		if bin, err = exec.LookPath("chromium"); err != nil {
			t.Skip("chromium is not installed (apt-get install chromium): the docs page cannot be rendered here")
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
		"--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
		"--user-data-dir="+t.TempDir(), "--virtual-time-budget=20000", "--dump-dom", url)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium: %v", err)
	}
	return string(out)
}

func TestDocsPageRendersOfflineInChromium(t *testing.T) {
	t.Parallel()
	for _, file := range versions {
		spec := load(t, file)
		t.Run("the "+spec.Version()+" page shows every operation", func(t *testing.T) {
			srv := docsServer(t, spec)
			dom := chromium(t, srv.URL+"/docs/")
			for _, op := range spec.Operations() {
				if !strings.Contains(dom, op.Summary) {
					t.Errorf("rendered page lacks operation %q (%s)", op.Summary, op)
				}
			}
		})
	}
}

func TestCatalog(t *testing.T) {
	t.Parallel()
	pets := load(t, versions[0])
	other, err := openapi.Parse([]byte(`{"openapi":"3.1.0","info":{"title":"Billing <API>","version":"2.0.0","description":"Invoices"},"paths":{"/invoices":{"get":{"responses":{"200":{"description":"ok"}}}}}}`))
	if err != nil {
		t.Fatal(err)
	}
	h := openapi.Catalog("Our APIs", openapi.API{Spec: pets, Docs: "/pets/docs/"}, openapi.API{Spec: other, Docs: "/billing/docs/"})
	tests := []struct {
		name   string
		accept string
		want   []string
	}{
		{name: "the HTML page links each API's docs and escapes titles", want: []string{`<a href="/pets/docs/">Petstore</a>`, `<a href="/billing/docs/">Billing &lt;API&gt;</a>`, "14 operations", "Invoices"}},
		{name: "one operation is written in the singular", want: []string{"<p>1 operation</p>"}},
		{name: "the JSON form lists the same entries", accept: "application/json", want: []string{`"title":"Our APIs"`, `"docs":"/pets/docs/"`, `"title":"Billing \u003cAPI\u003e","version":"2.0.0"`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			req := httptest.NewRequest(http.MethodGet, "/", nil)
			if tc.accept != "" {
				req.Header.Set("Accept", tc.accept)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			for _, s := range tc.want {
				if !strings.Contains(w.Body.String(), s) {
					t.Errorf("catalog lacks %q:\n%s", s, w.Body.String())
				}
			}
		})
	}
}
