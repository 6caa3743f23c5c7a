// Package gwtest holds the helpers the tests of the gateway core and of
// its config layer share: loopback upstreams that describe what they
// received, gateways served on loopback, and clients for the platform's
// admin API and the AI endpoints.
package gwtest

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/portico-dev/portico/gateway"
	"github.com/portico-dev/portico/gateway/config"
	"github.com/portico-dev/portico/gateway/upstream"
	"github.com/portico-dev/portico/middleware/auth"
	"github.com/portico-dev/portico/openapi"
)

// Quiet discards the logs of gateways under test.
var Quiet = slog.New(slog.DiscardHandler)

// PlatformToken is the platform administrator's token in tests.
const PlatformToken = "admin-token-0123456789"

// Echo is what the echo upstream reports about the request it received.
type Echo struct {
	Server  string      `json:"server"`
	Method  string      `json:"method"`
	Path    string      `json:"path"`
	RawPath string      `json:"raw_path"`
	Query   string      `json:"query"`
	Host    string      `json:"host"`
	Header  http.Header `json:"header"`
}

// EchoServer starts a loopback upstream that describes each request.
func EchoServer(t testing.TB, name string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Served-By", name)
		_ = json.NewEncoder(w).Encode(Echo{Server: name, Method: r.Method, Path: r.URL.Path, RawPath: r.URL.RawPath,
			Query: r.URL.RawQuery, Host: r.Host, Header: r.Header})
	}))
	t.Cleanup(srv.Close)
	return srv
}

// PoolOf completes cfg with the servers as instances and its own
// transport, and returns the pool.
func PoolOf(t testing.TB, cfg upstream.Config, srvs ...*httptest.Server) *upstream.Pool {
	t.Helper()
	for _, s := range srvs {
		cfg.Instances = append(cfg.Instances, upstream.Instance{URL: s.URL})
	}
	if cfg.Transport == nil {
		tr := upstream.NewTransport(nil)
		t.Cleanup(tr.CloseIdleConnections)
		cfg.Transport = tr
	}
	p, err := upstream.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// UpstreamOf returns a pool named name with the servers as instances.
func UpstreamOf(t testing.TB, name string, srvs ...*httptest.Server) *upstream.Pool {
	t.Helper()
	return PoolOf(t, upstream.Config{Name: name}, srvs...)
}

// NewGateway builds a gateway and serves it on loopback.
func NewGateway(t testing.TB, opts ...gateway.Option) (*gateway.Gateway, *httptest.Server) {
	t.Helper()
	opts = append([]gateway.Option{gateway.WithLogger(Quiet)}, opts...)
	g, err := gateway.New(opts...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	srv := httptest.NewServer(g)
	t.Cleanup(func() {
		srv.Close()
		_ = g.Close()
	})
	return g, srv
}

// Do sends a request and decodes the echo, failing the test on error.
func Do(t testing.TB, c *http.Client, req *http.Request) (*http.Response, Echo) {
	t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	var e Echo
	if resp.Header.Get("Content-Type") == "application/json" {
		if err := json.NewDecoder(resp.Body).Decode(&e); err != nil {
			t.Fatalf("decode: %v", err)
		}
	}
	return resp, e
}

// SHA256Hex returns the hash of an API key as a config file holds it.
func SHA256Hex(key string) string {
	h := auth.HashAPIKey(key)
	return hex.EncodeToString(h[:])
}

// Serve serves h on loopback until the test ends and returns its URL.
func Serve(t testing.TB, h http.Handler) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

// Reply is a response read to the end.
type Reply struct {
	Status int
	Header http.Header
	Body   []byte
}

// Call sends a JSON request with a bearer token (a consumer's key or the
// admin token) and fails the test unless the status is want.
func Call(t testing.TB, method, u, token string, body any, want int) Reply {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(context.Background(), method, u, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != want {
		t.Fatalf("%s %s: status %d, want %d: %s", method, u, res.StatusCode, want, b)
	}
	return Reply{res.StatusCode, res.Header, b}
}

// Onboard creates tenant acme, its consumer shop with a key, and the
// published API orders with manual approval, through the platform's
// admin API at adm, and returns the key.
func Onboard(t testing.TB, adm string) string {
	t.Helper()
	Call(t, http.MethodPost, adm+"/api/tenants", PlatformToken, map[string]any{"id": "acme"}, http.StatusCreated)
	Call(t, http.MethodPost, adm+"/api/tenants/acme/consumers", PlatformToken, map[string]any{"id": "shop"}, http.StatusCreated)
	var k struct{ Secret string }
	r := Call(t, http.MethodPost, adm+"/api/tenants/acme/consumers/shop/keys", PlatformToken, nil, http.StatusCreated)
	if err := json.Unmarshal(r.Body, &k); err != nil || k.Secret == "" {
		t.Fatalf("created key %s: %v", r.Body, err)
	}
	Call(t, http.MethodPut, adm+"/api/apis/orders", PlatformToken,
		map[string]any{"tenant": "acme", "state": "published", "approval": "manual"}, http.StatusOK)
	return k.Secret
}

// AIGateway builds the gateway of a config file (environment variables
// all unset) and serves it on loopback.
func AIGateway(t testing.TB, cfg string) *httptest.Server {
	t.Helper()
	c, err := config.Parse("ai.yaml", []byte(cfg), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	g, err := c.Build()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = g.Close() })
	srv := httptest.NewServer(g)
	t.Cleanup(srv.Close)
	return srv
}

// AIPost posts body to url with key as a bearer token, and returns the
// answer's status, header and body.
func AIPost(t testing.TB, url, key, body string) (int, http.Header, string) {
	t.Helper()
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, url, strings.NewReader(body))
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

// SubscribeAndApprove checks the consumer is refused before its
// subscription is requested and while it is pending, and served once the
// administrator approves it.
func SubscribeAndApprove(t testing.TB, pub, adm, key string) {
	t.Helper()
	r := Call(t, http.MethodGet, pub+"/orders/1", key, nil, http.StatusForbidden)
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") || !strings.Contains(string(r.Body), "subscri") {
		t.Errorf("refusal without a subscription: %s %s, want a problem saying how to subscribe", ct, r.Body)
	}
	Call(t, http.MethodGet, pub+"/orders/1", "", nil, http.StatusUnauthorized)
	Call(t, http.MethodPost, adm+"/api/subscriptions", PlatformToken,
		map[string]string{"tenant": "acme", "consumer": "shop", "api": "orders"}, http.StatusOK)
	r = Call(t, http.MethodGet, pub+"/orders/1", key, nil, http.StatusForbidden)
	if !strings.Contains(string(r.Body), "approv") {
		t.Errorf("refusal of a pending subscription: %s, want it to say it awaits approval", r.Body)
	}
	Call(t, http.MethodPost, adm+"/api/subscriptions/shop.orders/approve", PlatformToken, nil, http.StatusOK)
	Call(t, http.MethodGet, pub+"/orders/1", key, nil, http.StatusOK)
}

// CountingServer starts an echo upstream that counts the requests it sees.
func CountingServer(t testing.TB, name string) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(Echo{Server: name, Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Header: r.Header})
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

// Spec loads the OpenAPI document at path.
func Spec(t testing.TB, path string) *openapi.Spec {
	t.Helper()
	spec, err := openapi.LoadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return spec
}

// WriteFile replaces the file at path with content at once, as a
// ConfigMap update does, so a reader never sees half of it.
func WriteFile(t testing.TB, path, content string) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// Send sends a request with a JSON body, if any, and closes the response
// body when the test ends.
func Send(t testing.TB, method, url, body string) *http.Response {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(context.Background(), method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = resp.Body.Close() })
	return resp
}

// Env is a lookup of the variables in m, for config.Parse.
func Env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}
