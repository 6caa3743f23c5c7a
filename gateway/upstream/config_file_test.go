package upstream_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/gateway"
	"github.com/portico-dev/portico/gateway/config"
	"github.com/portico-dev/portico/gateway/upstream"
)

func noEnv(string) (string, bool) { return "", false }

// buildConfig parses and builds a gateway configuration, serves it on a
// loopback server and closes both at the end of the test.
func buildConfig(t *testing.T, yaml string) (*gateway.Gateway, *httptest.Server) {
	t.Helper()
	c, err := config.Parse("gw.yaml", []byte(yaml), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	g, err := c.Build()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Close() })
	srv := httptest.NewServer(g)
	t.Cleanup(srv.Close)
	return g, srv
}

// instanceStatus returns the status of an instance of a gateway's pool.
func instanceStatus(t *testing.T, g *gateway.Gateway, pool, url string) upstream.InstanceStatus {
	t.Helper()
	for _, u := range g.Upstreams() {
		for _, s := range u.Instances {
			if u.Name == pool && s.URL == url {
				return s
			}
		}
	}
	t.Fatalf("no instance %s in pool %s: %+v", url, pool, g.Upstreams())
	return upstream.InstanceStatus{}
}

// TestConfigFileTurnsOnPeakEWMAAndSlowEjection builds a gateway from a
// configuration file with a peak_ewma pool and a pool with slow-response
// ejection, each over a fast and a 1s-slow instance, and checks that the
// first sends the slow instance little and the second ejects it.
//
// Regression: it bounded the instances by 200ms and 100ms, which a fast
// instance on a loaded machine could cross. The slow instance is now 1s
// and the slow threshold 500ms, and the checks compare the instances or
// count requests rather than hold either to a tight time.
func TestConfigFileTurnsOnPeakEWMAAndSlowEjection(t *testing.T) {
	t.Parallel()
	const delay = time.Second
	fast := newBackend(t, "fast")
	slow := newBackendWith(t, "slow", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
		}
	})
	g, srv := buildConfig(t, fmt.Sprintf(`
upstreams:
  - name: balanced
    instances: [{url: %[1]q}, {url: %[2]q}]
    balancer: peak_ewma
  - name: ejecting
    instances: [{url: %[1]q}, {url: %[2]q}]
    outlier:
      slow: {threshold: 500ms, consecutive: 2, peer_factor: 2}
routes:
  - {name: b, prefix: /b, upstream: balanced}
  - {name: e, prefix: /e, upstream: ejecting}
`, fast.url(), slow.url()))
	send := func(path string, n int) {
		t.Helper()
		for range n {
			resp, err := srv.Client().Get(srv.URL + path)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
		}
	}

	send("/b", 20)
	if n := slow.hits.Load(); n > 5 {
		t.Errorf("peak_ewma sent the slow instance %d of 20 requests, want at most 5", n)
	}
	slowEst := instanceStatus(t, g, "balanced", slow.url()).Latency
	if fastEst := instanceStatus(t, g, "balanced", fast.url()).Latency; slowEst <= fastEst {
		t.Errorf("the slow instance's estimate is %v, the fast one's %v: want the slow one's higher", slowEst, fastEst)
	}

	send("/e", 4) // round robin: fast, slow, fast, slow
	if s := instanceStatus(t, g, "ejecting", slow.url()); !s.Ejected {
		t.Errorf("two slow responses did not eject the slow instance: %+v", s)
	}
	if s := instanceStatus(t, g, "ejecting", fast.url()); s.Ejected {
		t.Errorf("the fast instance was ejected: %+v", s)
	}
}

// TestConfigFileNamesBadLatencySettings checks that a mistake in the new
// settings fails the build with the field's path.
func TestConfigFileNamesBadLatencySettings(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		pool string
		want string
	}{
		{name: "an unknown balancer", pool: "balancer: peak_ewmaa", want: "upstreams[0].balancer"},
		{name: "a peer factor below one", pool: "outlier: {slow: {peer_factor: 0.5}}", want: "upstreams[0].outlier.slow.peer_factor"},
		{name: "a negative slow threshold", pool: "outlier: {slow: {threshold: -1s}}", want: "upstreams[0].outlier.slow.threshold"},
		{name: "an unknown slow field", pool: "outlier: {slow: {treshold: 1s}}", want: "treshold"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			yaml := "upstreams:\n  - name: svc\n    instances: [{url: \"http://127.0.0.1:9\"}]\n    " + tt.pool + "\n" +
				"routes:\n  - {name: r, prefix: /, upstream: svc}\n"
			c, err := config.Parse("gw.yaml", []byte(yaml), noEnv)
			if err == nil {
				var g *gateway.Gateway
				if g, err = c.Build(); err == nil {
					g.Close()
					t.Fatal("the configuration was accepted")
				}
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q, want it to name %s", err, tt.want)
			}
		})
	}
}
