package gateway_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portico-dev/portico/gateway"
	"github.com/portico-dev/portico/internal/redistest"
)

// outageGateway builds, from a config file, a gateway whose rate limits,
// cache and idempotency keys live in the Redis at addr, and serves it on
// loopback. GET /cached is rate limited and cached; POST /orders is rate
// limited and idempotent.
func outageGateway(tb testing.TB, addr string, timeout time.Duration) string {
	tb.Helper()
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		_, _ = io.WriteString(w, "ok")
	}))
	tb.Cleanup(up.Close)
	yaml := `
upstreams: [{name: app, instances: [{url: ` + up.URL + `}]}]
store: {redis: {address: "` + addr + `", timeout: ` + timeout.String() + `}}
routes:
  - {path: /cached, methods: [GET], upstream: app, policy: {rate_limit: {requests: 1000000, per: 1s}, cache: {ttl: 1m}}}
  - {path: /orders, methods: [POST], upstream: app, policy: {rate_limit: {requests: 1000000, per: 1s}, idempotency: {}}}
`
	cfg, err := gateway.ParseConfig("gw.yaml", []byte(yaml), nil)
	if err != nil {
		tb.Fatal(err)
	}
	g, err := cfg.Build(gateway.WithLogger(quiet))
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
			url := outageGateway(b, rs.Addr(), 100*time.Millisecond)
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
