package gateway_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portico-dev/portico/gateway"
	"github.com/portico-dev/portico/gateway/config"
)

// latencyConfig is a gateway with the pieces a reload could disturb: a
// health-checked pool with one instance that never answers, limits, a
// quota, a cache, idempotency, retries, a breaker and a bulkhead. version
// makes each file differ from the last.
const latencyConfig = `
upstreams:
  - name: svc
    instances: [{url: %[1]q}, {url: %[2]q}, {url: %[4]q}]
    health_check: {path: /health, interval: 1s, timeout: 200ms}
    outlier: {consecutive_5xx: 5}
routes:
  - name: api
    prefix: /api
    upstream: svc
    response_headers: {set: {X-Version: "%[3]d"}}
    policy:
      timeout: 5s
      retry: {attempts: 2, per_try: 1s}
      breaker: {failures: 50}
      bulkhead: {max_concurrent: 500}
      rate_limit: {requests: 100000, key: ip}
      quota: {limit: 100000000, key: ip}
      idempotency: {}
  - name: cached
    prefix: /cached
    upstream: svc
    policy: {cache: {ttl: 1m}}
`

// TestReloadsUnderLoadDoNotStallRequests sends a steady 400 requests a
// second, first with no reload, then while the file is reloaded every
// 400ms. A reload builds, starts and warms the new gateway beside the
// serving one (its pools carried over keep their health) and swaps it in
// atomically, so no request waits for it: every request is answered 200,
// the reloads happen, and the instance that never answers, which a
// reloaded pool that forgot its health or skipped its warm-up would send
// requests to (each waiting for the per-try timeout), gets none. The
// latencies are logged, not asserted: load generator, gateway and
// upstream share this process, so the figure itself is measured by the
// load harness, each on its own CPU: make bench-reload (examples/loadtest
// -targets reload).
func TestReloadsUnderLoadDoNotStallRequests(t *testing.T) {
	if testing.Short() {
		t.Skip("a load test of several seconds")
	}
	a, b := newCounter(t), newCounter(t)
	// stuck accepts connections and never answers: a pool that forgot it
	// is down sends it requests that wait for the per-try timeout.
	// Its proxied requests (not its health checks) are counted.
	hang := make(chan struct{})
	var stuckHits atomic.Int64
	stuck := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/health" {
			stuckHits.Add(1)
		}
		<-hang
	}))
	t.Cleanup(stuck.Close)
	t.Cleanup(func() { close(hang) })
	path := filepath.Join(t.TempDir(), "gateway.yaml")
	writeFile(t, path, fmt.Sprintf(latencyConfig, a.URL, b.URL, 0, stuck.URL))
	rl, base := startReloader(t, path)

	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}, Timeout: 30 * time.Second}
	defer client.CloseIdleConnections()
	// phase sends the load for d and, if enough is not nil, until enough
	// is closed too (for at most a minute): on a loaded machine a reload
	// may take longer than planned, and the phase waits for its reloads.
	phase := func(d time.Duration, enough <-chan struct{}, during func(stop <-chan struct{})) []time.Duration {
		stop := make(chan struct{})
		done := make(chan struct{})
		go func() { defer close(done); during(stop) }()
		var mu sync.Mutex
		var lat []time.Duration
		var wg sync.WaitGroup
		tick := time.NewTicker(time.Second / 400)
		end, limit := time.After(d), time.After(time.Minute)
		timeUp, gotEnough := false, enough == nil
	loop:
		for i := 0; ; i++ {
			select {
			case <-end:
				timeUp, end = true, nil
			case <-enough:
				gotEnough, enough = true, nil
			case <-limit:
				break loop
			case <-tick.C:
			}
			if timeUp && gotEnough {
				break loop
			}
			url := base + "/api/items"
			if i%4 == 0 {
				url = base + "/cached/items"
			}
			wg.Go(func() {
				start := time.Now()
				resp, err := client.Get(url)
				if err != nil {
					t.Errorf("GET %s: %v", url, err)
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					t.Errorf("GET %s: status %d", url, resp.StatusCode)
				}
				mu.Lock()
				lat = append(lat, time.Since(start))
				mu.Unlock()
			})
		}
		tick.Stop()
		close(stop)
		wg.Wait()
		<-done
		slices.Sort(lat)
		return lat
	}

	phase(time.Second, nil, func(<-chan struct{}) {}) // warm connections up
	hitsBefore := stuckHits.Load()
	steady := phase(3*time.Second, nil, func(<-chan struct{}) {})
	const wantReloads = 5
	reloads := 0
	enough := make(chan struct{})
	during := phase(4*time.Second, enough, func(stop <-chan struct{}) {
		for v := 1; ; v++ {
			select {
			case <-stop:
				return
			case <-time.After(400 * time.Millisecond):
			}
			writeFile(t, path, fmt.Sprintf(latencyConfig, a.URL, b.URL, v, stuck.URL))
			if err := rl.Reload(context.Background()); err != nil {
				t.Errorf("reload %d: %v", v, err)
				return
			}
			if reloads++; reloads == wantReloads {
				close(enough)
			}
		}
	})
	if len(steady) == 0 {
		t.Fatal("no request completed before the reloads")
	}
	if len(during) == 0 {
		t.Fatal("no request completed during the reloads")
	}
	if got := stuckHits.Load() - hitsBefore; got != 0 {
		t.Errorf("the instance that never answers got %d requests during the load, want 0 (a reload must keep it marked down)", got)
	}
	p99 := steady[len(steady)*99/100]
	slowest, duringP99 := during[len(during)-1], during[len(during)*99/100]
	// The steady phase's own slowest request is logged beside: on a
	// shared machine it is itself several times the p99, so it, not the
	// p99, is what a reload's cost shows against.
	t.Logf("steady: %d requests, p99 %v, slowest %v; with %d reloads: %d requests, p99 %v, slowest %v (%.1f× the steady p99, %.1f× the steady slowest)",
		len(steady), p99, steady[len(steady)-1], reloads, len(during), duringP99, slowest,
		float64(slowest)/float64(p99), float64(slowest)/float64(steady[len(steady)-1]))
	if reloads < wantReloads {
		t.Errorf("reloads during the load = %d after a minute, want at least %d", reloads, wantReloads)
	}
}

// BenchmarkReloadBuild measures what one reload of latencyConfig costs
// the process: loading the file and building the gateway beside a
// serving one's State, then closing it.
func BenchmarkReloadBuild(b *testing.B) {
	var urls [3]string
	for i := range urls {
		up := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
		defer up.Close()
		urls[i] = up.URL
	}
	path := filepath.Join(b.TempDir(), "gateway.yaml")
	writeFile(b, path, fmt.Sprintf(latencyConfig, urls[0], urls[1], 1, urls[2]))
	st := gateway.NewState()
	defer st.Close()
	b.ReportAllocs()
	for b.Loop() {
		g, err := config.LoadGateway(path, gateway.WithLogger(quiet), gateway.WithState(st))
		if err != nil {
			b.Fatal(err)
		}
		_ = g.Close()
	}
}
