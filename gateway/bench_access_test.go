package gateway_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/portico-dev/portico/gateway"
	"github.com/portico-dev/portico/gateway/config"
	"github.com/portico-dev/portico/middleware"
)

// okUpstream answers every request 200 in memory, so the benchmarks
// measure the gateway's stages, not a network.
type okUpstream struct{ name string }

func (u okUpstream) Name() string { return u.name }

func (okUpstream) RoundTrip(r *http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: http.StatusOK, Header: http.Header{"Content-Type": {"application/json"}},
		Body: http.NoBody, ContentLength: 0, Request: r, ProtoMajor: 1, ProtoMinor: 1}, nil
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
