package ratelimit_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/portico-dev/portico/middleware"
	"github.com/portico-dev/portico/middleware/auth"
	"github.com/portico-dev/portico/middleware/ratelimit"
)

// limitBenchWriter is a ResponseWriter whose header map is cleared, not
// reallocated, between iterations, so only the middleware's allocations count.
type limitBenchWriter struct {
	h    http.Header
	code int
}

func (w *limitBenchWriter) Header() http.Header         { return w.h }
func (w *limitBenchWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *limitBenchWriter) WriteHeader(code int)        { w.code = code }

func serveLimitBench(b *testing.B, h http.Handler, r *http.Request) {
	w := &limitBenchWriter{h: http.Header{}}
	b.ReportAllocs()
	cpu := processCPU()
	defer func() { b.ReportMetric(float64(processCPU()-cpu)/float64(b.N), "cpu-ns/op") }()
	for b.Loop() {
		clear(w.h)
		w.code = 0
		h.ServeHTTP(w, r)
		if w.code != 0 && w.code != http.StatusOK {
			b.Fatalf("status %d", w.code)
		}
	}
}

var limitBenchNop = http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})

// BenchmarkAPIKeyAuthRateLimit measures what API-key authentication plus
// an in-memory rate limit add to a request; the Baseline sub-benchmark is
// the bare handler.
func BenchmarkAPIKeyAuthRateLimit(b *testing.B) {
	keys := auth.NewMemoryAPIKeys(auth.APIKey{ID: "k1", Consumer: "acme", Hash: auth.HashAPIKey("acme-secret-key-0123456789")})
	authn := auth.NewAPIKeyAuth(auth.APIKeyConfig{Keys: keys, Consumers: testConsumers()})
	r := httptest.NewRequest(http.MethodGet, "/orders", nil)
	r.Header.Set("Authorization", "Bearer acme-secret-key-0123456789")
	b.Run("Baseline", func(b *testing.B) { serveLimitBench(b, limitBenchNop, r) })
	b.Run("APIKey", func(b *testing.B) {
		serveLimitBench(b, auth.New(auth.Config{Authenticators: []auth.Authenticator{authn}})(limitBenchNop), r)
	})
	b.Run("APIKeyAndRateLimit", func(b *testing.B) {
		h := middleware.Chain(
			auth.New(auth.Config{Authenticators: []auth.Authenticator{authn}}),
			ratelimit.New(ratelimit.Config{Limit: ratelimit.PerSecond(1 << 30), Key: ratelimit.ByConsumer}),
		)(limitBenchNop)
		serveLimitBench(b, h, r)
	})
	b.Run("APIKeyAndRateLimitNoHeaders", func(b *testing.B) {
		h := middleware.Chain(
			auth.New(auth.Config{Authenticators: []auth.Authenticator{authn}}),
			ratelimit.New(ratelimit.Config{Limit: ratelimit.PerSecond(1 << 30), Key: ratelimit.ByConsumer, HideHeaders: true}),
		)(limitBenchNop)
		serveLimitBench(b, h, r)
	})
}

func BenchmarkLocalRatesTake(b *testing.B) {
	s := ratelimit.NewMemoryRates(ratelimit.MemoryRatesConfig{})
	lim := ratelimit.PerSecond(1 << 30)
	keys := make([]string, 1024)
	for i := range keys {
		keys[i] = "client-" + strconv.Itoa(i)
	}
	ctx := context.Background()
	b.ReportAllocs()
	cpu := processCPU()
	defer func() { b.ReportMetric(float64(processCPU()-cpu)/float64(b.N), "cpu-ns/op") }()
	i := 0
	for b.Loop() {
		_, _ = s.Take(ctx, keys[i&1023], lim, 1)
		i++
	}
}
