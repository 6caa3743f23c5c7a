package upstream_test

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"

	"github.com/portico-dev/portico/gateway/upstream"
)

// TestAProbeReplacesTheHTTPCheck checks each instance with a probe that
// fails for one of them, and checks that the probe got the pool's
// transport and each instance's target, and decided health alone.
func TestAProbeReplacesTheHTTPCheck(t *testing.T) {
	t.Parallel()
	a, b := newBackend(t, "a"), newBackend(t, "b")
	tr := http.DefaultTransport.(*http.Transport).Clone()
	t.Cleanup(tr.CloseIdleConnections)
	var mu sync.Mutex
	seen := map[string]bool{}
	sameTransport := true
	hc := activeCheck()
	hc.Path = "/nowhere" // the HTTP check would fail both
	hc.Probe = func(_ context.Context, rt http.RoundTripper, target string) error {
		mu.Lock()
		defer mu.Unlock()
		seen[target] = true
		if _, ok := rt.(*http.Transport); !ok {
			sameTransport = false
		}
		if target == b.url() {
			return errors.New("b is down")
		}
		return nil
	}
	p := newPool(t, upstream.Config{
		Instances:   []upstream.Instance{{URL: a.url()}, {URL: b.url()}},
		HealthCheck: hc,
		Transport:   tr,
	})
	p.Start(t.Context())
	if err := p.Warm(t.Context()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "b to be unhealthy", func() bool { return !status(t, p, b.url()).Healthy })
	if !status(t, p, a.url()).Healthy {
		t.Error("a is unhealthy although its probe passes")
	}
	mu.Lock()
	defer mu.Unlock()
	for _, u := range []string{a.url(), b.url()} {
		if !seen[u] {
			t.Errorf("the probe never checked %s", u)
		}
	}
	if !sameTransport {
		t.Error("the probe did not get an *http.Transport from the pool")
	}
}
