package telemetry_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/portico-dev/portico/gateway"
	"github.com/portico-dev/portico/gateway/upstream"
	"github.com/portico-dev/portico/internal/cputime"
	"github.com/portico-dev/portico/telemetry"
)

// BenchmarkTracing measures what tracing adds to a proxied request through
// the production chain (request ID, recovery, client IP, telemetry, access
// log; a route with a timeout and retries) over loopback: without a tracer
// provider, with one that samples nothing, and with every trace sampled
// and exported over OTLP/gRPC to a collector in the process. It reports
// the CPU time of the whole process per request (client, gateway, upstream
// and, when sampled, the exporter and the collector) as cpu-ns/op, steadier
// than wall time on a busy machine; compare the three by the difference.
//
//	go test -run '^$' -bench Tracing -benchmem -count 6 ./telemetry
func BenchmarkTracing(b *testing.B) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, `{"id":7}`)
	}))
	defer up.Close()
	r := &receiver{}
	collector := startGRPC(b, r)
	zero, one, off := 0.0, 1.0, false
	for _, c := range []struct {
		name  string
		ratio *float64
	}{{"off", nil}, {"unsampled", &zero}, {"sampled", &one}} {
		b.Run(c.name, func(b *testing.B) {
			opts := []gateway.Option{}
			if c.ratio != nil {
				p, err := telemetry.Setup(context.Background(), telemetry.Config{
					Endpoint:      collector,
					Insecure:      true,
					SamplingRatio: c.ratio,
					Metrics:       &off,
					Logs:          &off,
				})
				if err != nil {
					b.Fatal(err)
				}
				defer p.Shutdown(context.Background())
				opts = append(opts, gateway.WithTracerProvider(p.TracerProvider), gateway.WithPropagator(p.Propagator))
			}
			pool, err := upstream.New(upstream.Config{Name: "svc", Instances: []upstream.Instance{{URL: up.URL}}})
			if err != nil {
				b.Fatal(err)
			}
			g, err := gateway.New(append(opts,
				gateway.WithLogger(slog.New(slog.DiscardHandler)),
				gateway.WithChain("request_id", "recover", "client_ip", "telemetry", "access_log"),
				gateway.WithUpstream(pool),
				gateway.WithRoute(gateway.Route{Path: "/users/{id}", Upstream: "svc",
					Policy: gateway.Policy{Timeout: 5 * time.Second, Retry: &gateway.Retry{Attempts: 2}}}))...)
			if err != nil {
				b.Fatal(err)
			}
			defer g.Close()
			srv := httptest.NewServer(g)
			defer srv.Close()
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
			defer client.CloseIdleConnections()
			b.ReportAllocs()
			report := cputime.PerOp(b)
			for b.Loop() {
				resp, err := client.Get(srv.URL + "/users/7")
				if err != nil {
					b.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				_ = resp.Body.Close()
			}
			report()
		})
	}
}
