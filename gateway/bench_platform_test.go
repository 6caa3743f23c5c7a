package gateway_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/portico-dev/portico/gateway"
	"github.com/portico-dev/portico/gateway/calllog"
	"github.com/portico-dev/portico/gateway/config"
	"github.com/portico-dev/portico/gateway/platform"
	"github.com/portico-dev/portico/middleware"
)

// benchPlatform serves an in-memory route behind the platform's key and
// subscription checks, and with rec, the call log.
func benchPlatform(b *testing.B, rec *calllog.Recorder) {
	ctx := context.Background()
	p := platform.New(platform.NewMemoryStore())
	_, _ = p.CreateTenant(ctx, "root", platform.Tenant{ID: "acme"})
	_, _ = p.CreateConsumer(ctx, "root", platform.ConsumerRecord{Consumer: middleware.Consumer{Tenant: "acme", ID: "shop"}})
	_, key, err := p.CreateKey(ctx, "root", "acme", "shop", time.Time{})
	if err != nil {
		b.Fatal(err)
	}
	_, _ = p.PutAPI(ctx, "root", platform.API{
		ID:       "orders",
		Tenant:   "acme",
		State:    platform.Published,
		Approval: platform.Auto,
	})
	if _, err := p.Subscribe(ctx, "root", "acme", "shop", "orders"); err != nil {
		b.Fatal(err)
	}
	g, err := gateway.New(gateway.WithLogger(quiet), gateway.WithUpstream(okUpstream{"app"}),
		config.WithPlatform(p, rec),
		gateway.WithRoute(gateway.Route{Path: "/r", Upstream: "app", Policy: gateway.Policy{
			Auth: &gateway.Auth{Methods: []string{config.PlatformAuth}}, Subscription: "orders"}}))
	if err != nil {
		b.Fatal(err)
	}
	defer g.Close()
	req := httptest.NewRequest(http.MethodGet, "/r", nil)
	req.Header.Set("Authorization", "Bearer "+key)
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		g.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatalf("status %d: %s", w.Code, w.Body)
		}
	}
}

// BenchmarkRoutePlatformKeyAndSubscription adds the platform's key
// lookup, the subscription check and the identity headers to
// BenchmarkRoutePlain.
func BenchmarkRoutePlatformKeyAndSubscription(b *testing.B) { benchPlatform(b, nil) }

// BenchmarkRoutePlatformWithCallLog adds recording a call-log entry.
func BenchmarkRoutePlatformWithCallLog(b *testing.B) {
	rec := calllog.NewRecorder(calllog.RecorderConfig{Sinks: []calllog.Sink{calllog.NewRing(1024)}, Logger: quiet})
	defer func() { _ = rec.Close(context.Background()) }()
	benchPlatform(b, rec)
}
