package gateway_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/gateway"
	"github.com/portico-dev/portico/gateway/config"
	"github.com/portico-dev/portico/internal/cputime"
	"github.com/portico-dev/portico/middleware"
)

// okUpstream answers every request 200 in memory, so the benchmarks
// measure the gateway's stages, not a network.
type okUpstream struct{ name string }

func (u okUpstream) Name() string { return u.name }

func (okUpstream) RoundTrip(r *http.Request) (*http.Response, error) {
	return &http.Response{
		StatusCode:    http.StatusOK,
		Header:        http.Header{"Content-Type": {"application/json"}},
		Body:          http.NoBody,
		ContentLength: 0,
		Request:       r,
		ProtoMajor:    1,
		ProtoMinor:    1,
	}, nil
}

func benchRoute(b *testing.B, p gateway.Policy, header ...string) {
	g, err := gateway.New(gateway.WithLogger(quiet), gateway.WithUpstream(okUpstream{"app"}),
		config.WithConsumers(config.ConsumerConfig{Consumer: middleware.Consumer{ID: "alice", Plan: "gold", Scopes: []string{"read"}},
			Keys: []config.APIKeyConfig{{ID: "k", Secret: keyed}}}),
		gateway.WithRoute(gateway.Route{Path: "/r", Upstream: "app", Policy: p}))
	if err != nil {
		b.Fatal(err)
	}
	defer g.Close()
	req := httptest.NewRequest(http.MethodGet, "/r", nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		g.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatalf("status %d", w.Code)
		}
	}
}

// BenchmarkRoutePlain is the baseline the others add to.
func BenchmarkRoutePlain(b *testing.B) { benchRoute(b, gateway.Policy{}) }

// BenchmarkRouteAPIKeyAndRateLimit adds API-key authentication, a scope
// check, the identity headers and an in-memory rate limit.
func BenchmarkRouteAPIKeyAndRateLimit(b *testing.B) {
	benchRoute(b, gateway.Policy{Auth: &gateway.Auth{Scopes: []string{"read"}},
		RateLimit: &gateway.RateLimit{Requests: 1 << 30, Per: time.Second}}, "X-API-Key", keyed)
}

// BenchmarkRouteHeaderTransform adds a header transformation.
func BenchmarkRouteHeaderTransform(b *testing.B) {
	benchRoute(b, gateway.Policy{Transform: &gateway.Transform{Request: middleware.HeaderRules{
		Set: map[string]string{"X-Route": "r"}, Remove: []string{"X-Debug"}}}})
}

// BenchmarkRouteProductionChain is the load harness's production chain,
// from a configuration file: request_id, recover, client_ip, telemetry
// (with a meter provider, so the upstream attempts are instrumented too)
// and access_log (to a JSON handler over io.Discard), then API-key
// authentication, a rate limit, a timeout, retries and a breaker, to a
// loopback upstream. It reports the process's CPU time per request
// (gateway and upstream alike) as cpu-ns/op, steadier than wall time.
func BenchmarkRouteProductionChain(b *testing.B) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"ok":true}`))
	}))
	defer up.Close()
	c, err := config.Parse("chain.yaml", []byte(`
middleware: [request_id, recover, client_ip, telemetry, access_log]
consumers:
  - {id: bench, api_keys: [{id: bench-1, secret: "`+keyed+`"}]}
upstreams:
  - {name: backend, instances: [{url: "`+up.URL+`"}]}
routes:
  - name: bench
    prefix: /bench
    upstream: backend
    policy:
      auth: {methods: [api_key]}
      rate_limit: {requests: 1000000000, per: 1s, key: consumer}
      timeout: 10s
      retry: {attempts: 3, per_try: 5s}
      breaker: {failures: 5, delay: 10s}
`), nil)
	if err != nil {
		b.Fatal(err)
	}
	metrics, err := config.NewMetrics()
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = metrics.Shutdown(context.Background()) }()
	logger := slog.New(slog.NewJSONHandler(io.Discard, nil))
	g, err := c.Build(gateway.WithLogger(logger), gateway.WithMeterProvider(metrics.Provider))
	if err != nil {
		b.Fatal(err)
	}
	defer g.Close()
	g.Start(b.Context())
	for _, method := range []string{http.MethodGet, http.MethodPost} {
		b.Run(method, func(b *testing.B) {
			body := strings.Repeat("x", 1024)
			b.ReportAllocs()
			defer cputime.PerOp(b)()
			for b.Loop() {
				var rd io.Reader
				if method == http.MethodPost {
					rd = strings.NewReader(body)
				}
				req := httptest.NewRequest(method, "/bench/items", rd)
				req.RemoteAddr = "192.0.2.7:41000"
				req.Header.Set("X-API-Key", keyed)
				req.Header.Set("User-Agent", "bench")
				w := httptest.NewRecorder()
				g.ServeHTTP(w, req)
				if w.Code != http.StatusOK {
					b.Fatalf("status %d: %s", w.Code, w.Body)
				}
			}
		})
	}
}
