package gateway_test

import (
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"go.uber.org/goleak"

	"github.com/portico-dev/portico/gateway"
	"github.com/portico-dev/portico/gateway/internal/gwtest"
	"github.com/portico-dev/portico/gateway/upstream"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// The helpers the core's and the config layer's tests share live in
// gwtest; these are their short names here.
var quiet = gwtest.Quiet

type echo = gwtest.Echo

func echoServer(t *testing.T, name string) *httptest.Server { return gwtest.EchoServer(t, name) }

// upstreamOf returns a pool with the given servers as instances.
func upstreamOf(t *testing.T, name string, srvs ...*httptest.Server) *upstream.Pool {
	t.Helper()
	return gwtest.UpstreamOf(t, name, srvs...)
}

func poolOf(t *testing.T, cfg upstream.Config, srvs ...*httptest.Server) *upstream.Pool {
	t.Helper()
	return gwtest.PoolOf(t, cfg, srvs...)
}

func newGateway(t *testing.T, opts ...gateway.Option) (*gateway.Gateway, *httptest.Server) {
	t.Helper()
	return gwtest.NewGateway(t, opts...)
}

func do(t *testing.T, c *http.Client, req *http.Request) (*http.Response, echo) {
	t.Helper()
	return gwtest.Do(t, c, req)
}

func sha256Hex(key string) string { return gwtest.SHA256Hex(key) }

func httptestServer(t *testing.T, h http.Handler) string {
	t.Helper()
	return gwtest.Serve(t, h)
}

func aiGateway(t *testing.T, cfg string) *httptest.Server {
	t.Helper()
	return gwtest.AIGateway(t, cfg)
}

func aiPost(t *testing.T, url, key, body string) (int, http.Header, string) {
	t.Helper()
	return gwtest.AIPost(t, url, key, body)
}

func countingServer(t *testing.T, name string) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	return gwtest.CountingServer(t, name)
}

func writeFile(t testing.TB, path, content string) {
	t.Helper()
	gwtest.WriteFile(t, path, content)
}

func envOf(m map[string]string) func(string) (string, bool) { return gwtest.Env(m) }
