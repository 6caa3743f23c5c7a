package gateway_test

import (
	"context"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/portico-dev/portico/gateway"
	"github.com/portico-dev/portico/gateway/config"
	"github.com/portico-dev/portico/internal/redistest"
)

// outageGateway builds, from a config file, a gateway whose rate limits,
// cache and idempotency keys live in the Redis at addr (store timeout
// 100ms, breaker open for 200ms), and serves it on loopback. GET /cached
// is rate limited and cached; POST /orders is rate limited and idempotent.
func outageGateway(tb testing.TB, addr string, opts ...gateway.Option) string {
	tb.Helper()
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		_, _ = io.WriteString(w, "ok")
	}))
	tb.Cleanup(up.Close)
	yaml := `
upstreams: [{name: app, instances: [{url: ` + up.URL + `}]}]
store: {redis: {address: "` + addr + `", timeout: 100ms, open_for: 200ms}}
routes:
  - {path: /cached, methods: [GET], upstream: app, policy: {rate_limit: {requests: 1000000, per: 1s}, cache: {ttl: 1m}}}
  - {path: /orders, methods: [POST], upstream: app, policy: {rate_limit: {requests: 1000000, per: 1s}, idempotency: {}}}
`
	cfg, err := config.Parse("gw.yaml", []byte(yaml), nil)
	if err != nil {
		tb.Fatal(err)
	}
	g, err := cfg.Build(append([]gateway.Option{gateway.WithLogger(quiet)}, opts...)...)
	if err != nil {
		tb.Fatal(err)
	}
	srv := httptest.NewServer(g)
	tb.Cleanup(func() {
		srv.Close()
		_ = g.Close()
	})
	return srv.URL
}

// outageRequest sends the i-th request of a load: a GET of one of 50
// cached pages, or a POST with a fresh idempotency key. It returns the
// status and how long the answer took.
func outageRequest(client *http.Client, url string, i int64) (int, time.Duration, error) {
	var req *http.Request
	if i%2 == 0 {
		req, _ = http.NewRequestWithContext(context.Background(), http.MethodGet, url+"/cached?page="+strconv.FormatInt(i%50, 10), nil)
	} else {
		req, _ = http.NewRequestWithContext(context.Background(), http.MethodPost, url+"/orders", http.NoBody)
		req.Header.Set("Idempotency-Key", "k-"+strconv.FormatInt(i, 10)+"-"+strconv.FormatInt(time.Now().UnixNano(), 36))
	}
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return 0, 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return resp.StatusCode, time.Since(start), nil
}

// latencies collects request durations from several goroutines.
type latencies struct {
	mu sync.Mutex
	d  []time.Duration
}

func (l *latencies) add(d time.Duration) {
	l.mu.Lock()
	l.d = append(l.d, d)
	l.mu.Unlock()
}

// percentile returns the p-th percentile (0 < p <= 100) of the durations.
func (l *latencies) percentile(p float64) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.d) == 0 {
		return 0
	}
	s := slices.Clone(l.d)
	slices.Sort(s)
	return s[min(len(s)-1, int(float64(len(s))*p/100))]
}

// BenchmarkRedisOutage measures the latency of requests through rate
// limits, a cache and idempotency keys in Redis (store timeout 100ms), at
// a concurrency of 8: with Redis up, with redis-server killed (connections
// refused) and with it paused (connections accepted, nothing answered).
// It reports the 50th and 99th percentiles and the slowest request; run
// it with -benchtime=2000x for the figures in the changelog.
func BenchmarkRedisOutage(b *testing.B) {
	for _, mode := range []string{"up", "killed", "paused"} {
		b.Run("redis="+mode, func(b *testing.B) {
			rs := redistest.Start(b)
			url := outageGateway(b, rs.Addr())
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
			b.Cleanup(client.CloseIdleConnections)
			switch mode {
			case "killed":
				rs.Kill()
			case "paused":
				rs.Pause()
				b.Cleanup(rs.Resume)
			}
			var lat latencies
			var n atomic.Int64
			b.SetParallelism(max(1, 8/runtime.GOMAXPROCS(0)))
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					_, d, err := outageRequest(client, url, n.Add(1))
					if err != nil {
						b.Error(err)
						return
					}
					lat.add(d)
				}
			})
			b.StopTimer()
			b.ReportMetric(float64(lat.percentile(50).Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(lat.percentile(99).Microseconds())/1000, "p99-ms")
			b.ReportMetric(float64(lat.percentile(100).Microseconds())/1000, "max-ms")
		})
	}
}

// phase is what a load saw over some time: requests, the slowest one and
// the statuses by method.
type phase struct {
	requests int
	slowest  time.Duration
	// slow counts the requests that took longer than slowAfter.
	slow     int
	statuses map[string]map[int]int
}

// add merges o into p.
func (p *phase) add(o phase) {
	p.requests += o.requests
	p.slowest = max(p.slowest, o.slowest)
	p.slow += o.slow
	for m, byStatus := range o.statuses {
		for code, k := range byStatus {
			p.statuses[m][code] += k
		}
	}
}

// slowAfter is ten times the outage gateway's 100ms store timeout: a
// request of the outage load makes at most one store call that waits for
// Redis (the breaker skips the others), so only a scheduling stall of the
// machine makes one slower than this.
const slowAfter = time.Second

// drive sends requests from 4 goroutines for d.
func drive(t *testing.T, client *http.Client, url string, n *atomic.Int64, d time.Duration) phase {
	t.Helper()
	var mu sync.Mutex
	p := phase{statuses: map[string]map[int]int{http.MethodGet: {}, http.MethodPost: {}}}
	end := time.Now().Add(d)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for time.Now().Before(end) {
				i := n.Add(1)
				status, took, err := outageRequest(client, url, i)
				if err != nil {
					t.Error(err)
					return
				}
				method := http.MethodGet
				if i%2 == 1 {
					method = http.MethodPost
				}
				mu.Lock()
				p.requests++
				p.slowest = max(p.slowest, took)
				if took > slowAfter {
					p.slow++
				}
				p.statuses[method][status]++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return p
}

// storeCalls reads portico.redisstore.calls by outcome and the breaker
// state gauge.
func storeCalls(t *testing.T, r *sdkmetric.ManualReader) (map[string]int64, int64) {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := r.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	calls, state := map[string]int64{}, int64(-1)
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				if m.Name == "portico.redisstore.calls" {
					for _, dp := range d.DataPoints {
						o, _ := dp.Attributes.Value("portico.outcome")
						calls[o.AsString()] += dp.Value
					}
				}
			case metricdata.Gauge[int64]:
				if m.Name == "portico.redisstore.breaker.state" {
					state = d.DataPoints[0].Value
				}
			}
		}
	}
	return calls, state
}

// TestARedisOutageUnderLoadCostsARequestAtMostTheStoreTimeout is a
// regression test: with redis-server down, every request used to wait
// for go-redis to dial Redis five times, 100ms apart, per command (and
// for the read timeout of each command when Redis hung).
func TestARedisOutageUnderLoadCostsARequestAtMostTheStoreTimeout(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name        string
		stop, start func(*redistest.Server)
	}{
		{"a killed redis-server, refusing connections", (*redistest.Server).Kill, (*redistest.Server).Restart},
		{"a frozen redis-server, answering nothing", (*redistest.Server).Pause, (*redistest.Server).Resume},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			rs := redistest.Start(t)
			reader := sdkmetric.NewManualReader()
			url := outageGateway(t, rs.Addr(), gateway.WithMeterProvider(sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))),
				gateway.WithLogger(slog.New(slog.NewTextHandler(t.Output(), nil))))
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 8}}
			t.Cleanup(client.CloseIdleConnections)
			var n atomic.Int64
			// Warm up until Redis answers: on a loaded machine the first
			// connections may take longer than the store timeout.
			waitFor(t, 10*time.Second, func() bool {
				return drive(t, client, url, &n, 50*time.Millisecond).statuses[http.MethodPost][http.StatusOK] > 0
			})
			before, _ := storeCalls(t, reader)

			c.stop(rs)
			// At least 1.5s and 200 requests: a loaded machine may send few.
			down := drive(t, client, url, &n, 1500*time.Millisecond)
			for down.requests < 200 && !t.Failed() {
				down.add(drive(t, client, url, &n, 500*time.Millisecond))
			}
			// Before the breaker, every request waited for go-redis to dial
			// and retry each command (seconds): most requests were slow.
			// With one bounded attempt per store call and the breaker, a
			// request waits for one 100ms store timeout at most; a loaded
			// machine stalls a few requests, not one in twenty.
			if down.slow*20 > down.requests {
				t.Errorf("%d of %d requests during the outage took longer than %s (ten store timeouts), want at most 5%%",
					down.slow, down.requests, slowAfter)
			}
			if limit := 30 * time.Second; down.slowest > limit {
				t.Errorf("slowest request during the outage took %s, want far less than %s", down.slowest, limit)
			}
			if got, want := down.statuses[http.MethodGet][http.StatusOK], down.requests/2; got < want-1 {
				t.Errorf("GETs answered 200 during the outage: %d of %d (statuses %v); the rate limit fails open and the cache misses",
					got, want, down.statuses)
			}
			if got, want := slices.Sorted(maps.Keys(down.statuses[http.MethodPost])), []int{http.StatusServiceUnavailable}; !slices.Equal(got, want) {
				t.Errorf("POST statuses during the outage: %v, want only 503 (idempotency fails closed)", down.statuses[http.MethodPost])
			}
			during, _ := storeCalls(t, reader)
			touched := during["ok"] + during["failed"] - before["ok"] - before["failed"]
			skipped := during["skipped"] - before["skipped"]
			if down.requests < 100 {
				t.Fatalf("only %d requests during the outage; the load is too small to judge", down.requests)
			}
			if touched*10 > touched+skipped {
				t.Errorf("%d store calls went to Redis during the outage and %d skipped it; want at least 90%% skipped", touched, skipped)
			}

			c.start(rs)
			waitRecovered(t, reader, func() { drive(t, client, url, &n, 50*time.Millisecond) })
			assertWritesReachRedis(t, client, url, rs.Addr())
		})
	}
}

// waitRecovered runs load until the store's breaker is closed and a call
// succeeded, for up to 30 seconds.
func waitRecovered(t *testing.T, reader *sdkmetric.ManualReader, load func()) {
	t.Helper()
	start, _ := storeCalls(t, reader)
	deadline := time.Now().Add(30 * time.Second)
	for {
		load()
		calls, state := storeCalls(t, reader)
		if state == 0 && calls["ok"] > start["ok"] {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no recovery within 30s of Redis returning: breaker state %d, calls %v", state, calls)
		}
	}
}

// assertWritesReachRedis sends new cacheable GETs and idempotent POSTs and
// checks that Redis gets an entry for each (their keys hold "recovered").
func assertWritesReachRedis(t *testing.T, client *http.Client, url, addr string) {
	t.Helper()
	rc := redis.NewClient(&redis.Options{Addr: addr})
	defer rc.Close()
	ctx := context.Background()
	for i := range 5 {
		get, _ := http.NewRequestWithContext(ctx, http.MethodGet, url+"/cached?recovered="+strconv.Itoa(i), nil)
		post, _ := http.NewRequestWithContext(ctx, http.MethodPost, url+"/orders", http.NoBody)
		post.Header.Set("Idempotency-Key", "recovered-"+strconv.Itoa(i))
		for _, req := range []*http.Request{get, post} {
			// On a loaded machine a store call may still pass the 100ms
			// store timeout (a 503 for the fail-closed idempotency stage,
			// and the breaker open for 200ms); the client retries it, as a
			// client of a 503 would, for up to 30 seconds.
			got := 0
			for deadline := time.Now().Add(30 * time.Second); got != http.StatusOK && time.Now().Before(deadline); {
				resp, err := client.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if got = resp.StatusCode; got != http.StatusServiceUnavailable {
					break
				}
				time.Sleep(50 * time.Millisecond)
			}
			if want := http.StatusOK; got != want {
				t.Errorf("%s %s after recovery: %d, want %d", req.Method, req.URL, got, want)
			}
		}
	}
	// A cache write that passes the 100ms store timeout on a loaded
	// machine is dropped, as a cache may drop it: resend the GETs until
	// every entry is in Redis.
	waitFor(t, 30*time.Second, func() bool {
		keys, err := rc.Keys(ctx, "*recovered*").Result()
		if err == nil && len(keys) == 10 { // a cache entry and an idempotency record each
			return true
		}
		for i := range 5 {
			get, _ := http.NewRequestWithContext(ctx, http.MethodGet, url+"/cached?recovered="+strconv.Itoa(i), nil)
			resp, err := client.Do(get)
			if err != nil {
				t.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		return false
	})
}

func TestTheRedisStoreRefusesNegativeFailureSettings(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ name, redis, want string }{
		{"a negative timeout", "timeout: -1s", "store.redis.timeout: must not be negative"},
		{"a negative number of failures", "failures: -1", "store.redis.failures: must not be negative"},
		{"a negative open period", "open_for: -1s", "store.redis.open_for: must not be negative"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			yaml := "store: {redis: {address: '127.0.0.1:1', " + c.redis + "}}\nroutes: [{path: /, upstream: app}]\n" +
				"upstreams: [{name: app, instances: [{url: 'http://127.0.0.1:1'}]}]\n"
			cfg, err := config.Parse("gw.yaml", []byte(yaml), nil)
			if err == nil {
				var g *gateway.Gateway
				if g, err = cfg.Build(gateway.WithLogger(quiet)); err == nil {
					_ = g.Close()
				}
			}
			if err == nil {
				t.Fatalf("err = nil, want it to contain %q", c.want)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v\nwant it to contain %q", err, c.want)
			}
			if !strings.Contains(err.Error(), "gw.yaml:1") {
				t.Errorf("err = %v, want the file and line", err)
			}
		})
	}
}
