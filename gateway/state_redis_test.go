package gateway_test

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/redistest"
)

// A Redis outage costs a request at most the store timeout, once: the
// Redis client and its circuit breaker are kept by a reload, so the
// gateway built during the outage does not wait for Redis again.
func TestAReloadDuringARedisOutageCostsNoFurtherStoreTimeout(t *testing.T) {
	t.Parallel()
	rs := redistest.Start(t)
	up := newCounter(t)
	path := filepath.Join(t.TempDir(), "gateway.yaml")
	file := func(v int) string {
		return fmt.Sprintf("upstreams: [{name: up, instances: [{url: %q}]}]\n"+
			"store: {redis: {address: %q, timeout: 3s, failures: 1, open_for: 1h}}\n"+
			"routes: [{name: r, prefix: /r, upstream: up, policy: {rate_limit: {requests: 1000, key: ip}}}]\n"+
			"trusted_proxies: [10.9.9.%d]\n", up.URL, rs.Addr(), v)
	}
	writeFile(t, path, file(1))
	rl, base := startReloader(t, path)
	if got, want := status(t, "GET", base+"/r", ""), http.StatusOK; got != want {
		t.Fatalf("with Redis up: status %d, want %d", got, want)
	}
	rs.Pause()
	t.Cleanup(rs.Resume)
	if got, want := status(t, "GET", base+"/r", ""), http.StatusOK; got != want {
		t.Fatalf("the request that finds Redis down: status %d, want %d (failing open)", got, want)
	}
	writeFile(t, path, file(2))
	if err := rl.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if got, want := status(t, "GET", base+"/r", ""), http.StatusOK; got != want {
		t.Errorf("after the reload: status %d, want %d", got, want)
	}
	if took := time.Since(start); took >= 2*time.Second {
		t.Errorf("the first request after the reload took %v: it waited for Redis again (store timeout 3s)", took)
	}
}
