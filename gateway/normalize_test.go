package gateway_test

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/portico-dev/portico/gateway"
	"github.com/portico-dev/portico/gateway/config"
	"github.com/portico-dev/portico/middleware"
)

const secret = "the private secret"

// fileGateway serves a directory holding public/hello.txt and
// private/secret.txt with http.FileServer, behind an anonymous route, a
// route that needs an API key and a template route, as issue reports of
// auth bypasses use them.
func fileGateway(t *testing.T, escaped string) *httptest.Server {
	t.Helper()
	dir := t.TempDir()
	for name, body := range map[string]string{"public/hello.txt": "hello", "private/secret.txt": secret} {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	files := httptest.NewServer(http.FileServer(http.Dir(dir)))
	t.Cleanup(files.Close)
	_, gw := newGateway(t,
		gateway.WithPathNormalization(gateway.PathNormalization{Escaped: escaped}),
		gateway.WithUpstream(upstreamOf(t, "files", files)),
		config.WithConsumers(config.ConsumerConfig{Consumer: middleware.Consumer{ID: "alice"},
			Keys: []config.APIKeyConfig{{ID: "a1", Secret: "alice-key"}}}),
		gateway.WithRoute(
			gateway.Route{
				Name:        "public",
				Prefix:      "/api/public",
				StripPrefix: "/api",
				Upstream:    "files",
			},
			gateway.Route{
				Name:        "private",
				Prefix:      "/api/private",
				StripPrefix: "/api",
				Upstream:    "files",
				Policy:      gateway.Policy{Auth: &gateway.Auth{}},
			},
			gateway.Route{
				Name:     "file",
				Path:     "/f/{name}",
				Rewrite:  "/public/{name}",
				Upstream: "files",
			},
		))
	return gw
}

// rawGet sends target on the request line as is, which net/http's client
// would clean or escape, and returns the response and its body.
func rawGet(t *testing.T, addr, target string, header ...string) (*http.Response, string) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	req := "GET " + target + " HTTP/1.1\r\nHost: gw.test\r\nConnection: close\r\n"
	for _, h := range header {
		req += h + "\r\n"
	}
	if _, err := io.WriteString(conn, req+"\r\n"); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("GET %s: %v", target, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: reading the body: %v", target, err)
	}
	return resp, string(body)
}

func TestAuthBypassByDotSegments(t *testing.T) {
	t.Parallel()
	const key = "X-API-Key: alice-key"
	tests := []struct {
		name   string
		target string
		header string
		reject int // status with escaped dots and separators refused (the default)
		decode int // status with them decoded
	}{
		{
			name:   "the private file needs a key",
			target: "/api/private/secret.txt",
			reject: 401,
			decode: 401,
		},
		{
			name:   "the private file is served with a key",
			target: "/api/private/secret.txt",
			header: key,
			reject: 200,
			decode: 200,
		},
		{
			name:   "the public file is served without one",
			target: "/api/public/hello.txt",
			reject: 200,
			decode: 200,
		},
		{
			name:   "dot segments lead to the private route",
			target: "/api/public/../private/secret.txt",
			reject: 401,
			decode: 401,
		},
		{
			name:   "dot segments with a key reach the file",
			target: "/api/public/../private/secret.txt",
			header: key,
			reject: 200,
			decode: 200,
		},
		{
			name:   "dot segments mixed with single dots lead to the private route",
			target: "/api/public/./.././private/./secret.txt",
			reject: 401,
			decode: 401,
		},
		{
			name:   "escaped double dots are refused or lead to the private route",
			target: "/api/public/%2e%2e/private/secret.txt",
			reject: 400,
			decode: 401,
		},
		{
			name:   "upper-case escaped double dots are refused or lead to the private route",
			target: "/api/public/%2E%2E/private/secret.txt",
			reject: 400,
			decode: 401,
		},
		{
			name:   "an escaped slash after dots is refused or leads to the private route",
			target: "/api/public/..%2fprivate/secret.txt",
			reject: 400,
			decode: 401,
		},
		{
			name:   "escaped dots and slashes are refused or lead to the private route",
			target: "/api/public/%2e%2e%2fprivate%2fsecret.txt",
			reject: 400,
			decode: 401,
		},
		{
			name:   "an escaped backslash is refused or leads to the private route",
			target: "/api/public/..%5cprivate/secret.txt",
			reject: 400,
			decode: 401,
		},
		{
			name:   "a backslash is refused or leads to the private route",
			target: `/api/public/..\private\secret.txt`,
			reject: 400,
			decode: 401,
		},
		{
			name:   "a template parameter cannot hold an escaped traversal",
			target: "/f/..%2fprivate%2fsecret.txt",
			reject: 400,
			decode: 404,
		},
		{
			name:   "a template parameter cannot hold escaped dots",
			target: "/f/%2e%2e",
			reject: 400,
			decode: 404,
		},
		{
			name:   "a template parameter holding an escaped percent stays one segment",
			target: "/f/..%252fprivate%252fsecret.txt",
			reject: 404,
			decode: 404,
		},
		{
			name:   "a template parameter serves its file",
			target: "/f/hello.txt",
			reject: 200,
			decode: 200,
		},
		{
			name:   "double slashes lead to the private route",
			target: "//api//private//secret.txt",
			reject: 401,
			decode: 401,
		},
		{
			name:   "double slashes after the public prefix lead to the private route",
			target: "/api/public//..//private/secret.txt",
			reject: 401,
			decode: 401,
		},
		{
			name:   "a dot segment with parameters is refused",
			target: "/api/public/..;/private/secret.txt",
			reject: 400,
			decode: 400,
		},
		{
			name:   "an escaped letter leads to the private route",
			target: "/api/priv%61te/secret.txt",
			reject: 401,
			decode: 401,
		},
		{
			name:   "another case is another path",
			target: "/api/PRIVATE/secret.txt",
			reject: 404,
			decode: 404,
		},
		{
			name:   "an escaped NUL is refused",
			target: "/api/public/hello.txt%00",
			reject: 400,
			decode: 400,
		},
		{
			name:   "double dots above the root stop at the root",
			target: "/../../api/private/secret.txt",
			reject: 401,
			decode: 401,
		},
		{
			name:   "an absolute-form target is normalized too",
			target: "http://gw.test/api/public/../private/secret.txt",
			reject: 401,
			decode: 401,
		},
	}
	gws := map[string]*httptest.Server{
		"reject": fileGateway(t, ""),
		"decode": fileGateway(t, "decode"),
	}
	for _, tt := range tests {
		for mode, gw := range gws {
			want := tt.reject
			if mode == "decode" {
				want = tt.decode
			}
			t.Run(tt.name+" ("+mode+")", func(t *testing.T) {
				t.Parallel()
				var hs []string
				if tt.header != "" {
					hs = append(hs, tt.header)
				}
				resp, body := rawGet(t, gw.Listener.Addr().String(), tt.target, hs...)
				if got := resp.StatusCode; got != want {
					t.Errorf("status = %d, want %d (body %q)", got, want, body)
				}
				if strings.Contains(body, secret) && tt.header == "" {
					t.Errorf("the secret came back without a key (status %d)", resp.StatusCode)
				}
				if want >= 400 && want != 404 {
					if got := resp.Header.Get("Content-Type"); got != "application/problem+json" {
						t.Errorf("Content-Type = %q, want a problem document", got)
					}
				}
			})
		}
	}
}

func TestNormalPathIsWhatEverythingSees(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	type seen struct{ path, uri string }
	var global []seen
	record := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			global = append(global, seen{r.URL.Path, r.RequestURI})
			mu.Unlock()
			next.ServeHTTP(w, r)
		})
	}
	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans), sdktrace.WithSampler(sdktrace.AlwaysSample()))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	up := upstreamOf(t, "svc", echoServer(t, "svc"))
	g, gw := newGateway(t, gateway.WithUpstream(up), gateway.WithTracerProvider(tp),
		gateway.WithMiddleware("record", record), gateway.WithChain("request_id", "telemetry", "record"),
		gateway.WithRoute(gateway.Route{Name: "api", Prefix: "/api", Upstream: "svc"}))

	t.Run("the global chain, the route and the upstream see the normal path", func(t *testing.T) {
		resp, body := rawGet(t, gw.Listener.Addr().String(), "//api/./x/../%75sers//7/?q=1")
		if got, want := resp.StatusCode, 200; got != want {
			t.Fatalf("status = %d, want %d", got, want)
		}
		if !strings.Contains(body, `"path":"/api/users/7/"`) {
			t.Errorf("the upstream saw %s, want path /api/users/7/", body)
		}
		if !strings.Contains(body, `"query":"q=1"`) {
			t.Errorf("the upstream saw %s, want query q=1", body)
		}
		mu.Lock()
		defer mu.Unlock()
		if got, want := global[len(global)-1], (seen{"/api/users/7/", "/api/users/7/?q=1"}); got != want {
			t.Errorf("the global chain saw %+v, want %+v", got, want)
		}
		if got, want := spanPath(spans), "/api/users/7/"; got != want {
			t.Errorf("the server span's url.path = %q, want %q", got, want)
		}
	})
	t.Run("a refused request passes the global chain with its status", func(t *testing.T) {
		resp, body := rawGet(t, gw.Listener.Addr().String(), "/api/%2e%2e/admin")
		if got, want := resp.StatusCode, 400; got != want {
			t.Fatalf("status = %d, want %d", got, want)
		}
		if got := resp.Header.Get("X-Request-ID"); got == "" {
			t.Error("the refusal has no X-Request-ID: the global chain did not run")
		}
		if !strings.Contains(body, "escaped dot") {
			t.Errorf("the problem document does not say what is wrong: %s", body)
		}
		mu.Lock()
		defer mu.Unlock()
		if got, want := global[len(global)-1].uri, "/api/%2e%2e/admin"; got != want {
			t.Errorf("the global chain saw the request URI %q, want %q, as sent", got, want)
		}
	})
	t.Run("Lookup normalizes as ServeHTTP does", func(t *testing.T) {
		for _, tt := range []struct {
			target string
			route  string
			ok     bool
		}{
			{"/x/../api/users", "api", true},
			{"/api/%2e%2e/x", "", false},
			{"/x", "", false},
		} {
			u, err := url.ParseRequestURI(tt.target)
			if err != nil {
				t.Fatal(err)
			}
			route, ok := g.Lookup(&http.Request{Method: http.MethodGet, URL: u, Header: http.Header{}})
			if got, want := (lookup{route, ok}), (lookup{tt.route, tt.ok}); got != want {
				t.Errorf("Lookup(%s) = %+v, want %+v", tt.target, got, want)
			}
		}
	})
}

// spanPath returns the url.path of the first server span to end, waiting
// for it: the client may read the whole response before the span ends.
func spanPath(spans *tracetest.SpanRecorder) string {
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		for _, s := range spans.Ended() {
			for _, a := range s.Attributes() {
				if a.Key == "url.path" {
					return a.Value.AsString()
				}
			}
		}
	}
	return ""
}

func TestConnectAndTraceAreNotServed(t *testing.T) {
	t.Parallel()
	var hits sync.Map
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Store(r.Method, true)
		for k, v := range r.Header {
			w.Header()[k] = v // a TRACE-like echo
		}
	}))
	t.Cleanup(srv.Close)
	_, gw := newGateway(t, gateway.WithUpstream(upstreamOf(t, "svc", srv)),
		gateway.WithRoute(gateway.Route{Prefix: "/", Upstream: "svc"}))
	for _, tt := range []struct{ name, request string }{
		{"CONNECT in authority form", "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n"},
		{"CONNECT in origin form", "CONNECT /x HTTP/1.1\r\nHost: gw.test\r\n\r\n"},
		{"TRACE", "TRACE / HTTP/1.1\r\nHost: gw.test\r\nCookie: session=s3cret\r\n\r\n"},
	} {
		t.Run(tt.name+" is answered 501 and never reaches the upstream", func(t *testing.T) {
			conn, err := net.Dial("tcp", gw.Listener.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
			if _, err := io.WriteString(conn, tt.request); err != nil {
				t.Fatal(err)
			}
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if got, want := resp.StatusCode, http.StatusNotImplemented; got != want {
				t.Errorf("status = %d, want %d", got, want)
			}
			if strings.Contains(string(body), "s3cret") {
				t.Errorf("the response echoes the request: %q", body)
			}
			if got := resp.Header.Get("Cookie"); got != "" {
				t.Errorf("the response echoes the request's Cookie: %q", got)
			}
		})
	}
	for _, m := range []string{http.MethodConnect, http.MethodTrace} {
		if _, ok := hits.Load(m); ok {
			t.Errorf("a %s request reached the upstream", m)
		}
	}
}

func TestPathNormalizationConfig(t *testing.T) {
	t.Parallel()
	up := echoServer(t, "svc")
	build := func(t *testing.T, escaped string) (*gateway.Gateway, error) {
		t.Helper()
		c, err := config.Parse("gw.yaml", []byte(`
upstreams: [{name: svc, instances: [{url: "`+up.URL+`"}]}]
routes: [{prefix: /api, upstream: svc}]
path_normalization: {escaped: `+escaped+`}
`), nil)
		if err != nil {
			t.Fatal(err)
		}
		return c.Build(gateway.WithLogger(quiet))
	}
	t.Run("escaped: decode decodes escaped separators", func(t *testing.T) {
		t.Parallel()
		g, err := build(t, "decode")
		if err != nil {
			t.Fatal(err)
		}
		defer g.Close()
		route, ok := g.Lookup(httptest.NewRequest(http.MethodGet, "/x/..%2Fapi/users", nil))
		if !ok {
			t.Error("Lookup matched nothing, want the /api route")
		} else if got, want := route, "* /api"; got != want {
			t.Errorf("Lookup = %q, want %q", got, want)
		}
	})
	t.Run("escaped: reject refuses them", func(t *testing.T) {
		t.Parallel()
		g, err := build(t, "reject")
		if err != nil {
			t.Fatal(err)
		}
		defer g.Close()
		rec := httptest.NewRecorder()
		g.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/a%2Fb", nil))
		if got, want := rec.Code, http.StatusBadRequest; got != want {
			t.Errorf("status = %d, want %d", got, want)
		}
	})
	t.Run("an unknown action names the field", func(t *testing.T) {
		t.Parallel()
		g, err := build(t, "keep")
		if err == nil {
			g.Close()
			t.Fatal("no error")
		}
		for _, want := range []string{"gw.yaml:4:", "path_normalization.escaped", `"keep" is not an action`} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not contain %q", err, want)
			}
		}
	})
}
