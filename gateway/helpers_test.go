package gateway_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"go.uber.org/goleak"

	"github.com/portico-dev/portico/gateway"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

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

// direct is an upstream with one instance and no health checks.
type direct struct {
	name string
	url  *url.URL
	tr   http.RoundTripper
}

func (d *direct) Name() string { return d.name }

func (d *direct) RoundTrip(r *http.Request) (*http.Response, error) {
	r.URL.Scheme = d.url.Scheme
	r.URL.Host = d.url.Host
	return d.tr.RoundTrip(r)
}

func upstreamOf(t *testing.T, name string, srv *httptest.Server) gateway.Upstream {
	t.Helper()
	u, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	t.Cleanup(tr.CloseIdleConnections)
	return &direct{name: name, url: u, tr: tr}
}

// newGateway builds a gateway and serves it on loopback.
func newGateway(t *testing.T, opts ...gateway.Option) (*gateway.Gateway, *httptest.Server) {
	t.Helper()
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
