package gateway_test

import (
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"go.uber.org/goleak"

	"github.com/portico-dev/portico/gateway"
	"github.com/portico-dev/portico/gateway/upstream"
	"github.com/portico-dev/portico/middleware"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// quiet discards the logs of gateways under test.
var quiet = slog.New(slog.DiscardHandler)

// echo is what the echo upstream reports about the request it received.
type echo struct {
	Server  string      `json:"server"`
	Method  string      `json:"method"`
	Path    string      `json:"path"`
	RawPath string      `json:"raw_path"`
	Query   string      `json:"query"`
	Host    string      `json:"host"`
	Header  http.Header `json:"header"`
}

// echoServer starts a loopback upstream that describes each request.
func echoServer(t *testing.T, name string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Served-By", name)
		_ = json.NewEncoder(w).Encode(echo{Server: name, Method: r.Method, Path: r.URL.Path, RawPath: r.URL.RawPath,
			Query: r.URL.RawQuery, Host: r.Host, Header: r.Header})
	}))
	t.Cleanup(srv.Close)
	return srv
}

// upstreamOf returns a pool with the given servers as instances.
func upstreamOf(t *testing.T, name string, srvs ...*httptest.Server) *upstream.Pool {
	t.Helper()
	return poolOf(t, upstream.Config{Name: name}, srvs...)
}

// poolOf completes cfg with the servers as instances and its own
// transport, and returns the pool.
func poolOf(t *testing.T, cfg upstream.Config, srvs ...*httptest.Server) *upstream.Pool {
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

// newGateway builds a gateway and serves it on loopback.
func newGateway(t *testing.T, opts ...gateway.Option) (*gateway.Gateway, *httptest.Server) {
	t.Helper()
	opts = append([]gateway.Option{gateway.WithLogger(quiet)}, opts...)
	g, err := gateway.New(opts...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	srv := httptest.NewServer(g)
	t.Cleanup(func() {
		srv.Close()
		g.Close()
	})
	return g, srv
}

// do sends a request and decodes the echo, failing the test on error.
func do(t *testing.T, c *http.Client, req *http.Request) (*http.Response, echo) {
	t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	var e echo
	if resp.Header.Get("Content-Type") == "application/json" {
		if err := json.NewDecoder(resp.Body).Decode(&e); err != nil {
			t.Fatalf("decode: %v", err)
		}
	}
	return resp, e
}

// sha256Hex returns the hash of an API key as a config file holds it.
func sha256Hex(key string) string {
	h := middleware.HashAPIKey(key)
	return hex.EncodeToString(h[:])
}

// httptestServer serves h on loopback until the test ends.
func httptestServer(t *testing.T, h http.Handler) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}
