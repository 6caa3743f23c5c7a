package platform_test

import (
	"context"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/portico-dev/portico/gateway/platform"
	"github.com/portico-dev/portico/internal/redistest"
	"github.com/portico-dev/portico/middleware"
	"github.com/portico-dev/portico/middleware/redisstore"
)

type discard struct{ h http.Header }

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(p []byte) (int, error) { return len(p), nil }
func (d *discard) WriteHeader(int)             {}

// BenchmarkGuard measures the subscription check of an allowed request:
// with the file store, a version check (an atomic load) and a map lookup;
// with Redis, one GET of the version per request, or none within the
// WithRefresh interval.
func BenchmarkGuard(b *testing.B) {
	b.Run("file store", func(b *testing.B) {
		store, err := platform.OpenFile(filepath.Join(b.TempDir(), "bench.db"))
		if err != nil {
			b.Fatal(err)
		}
		defer store.Close()
		benchGuard(b, platform.New(store))
	})
	redisStore := func(b *testing.B) platform.Store {
		srv := redistest.Start(b)
		c := redis.NewClient(&redis.Options{Addr: srv.Addr()})
		b.Cleanup(func() { _ = c.Close() })
		return redisstore.New(c, steady).Documents()
	}
	b.Run("redis store, version read per request", func(b *testing.B) {
		benchGuard(b, platform.New(redisStore(b)))
	})
	b.Run("redis store, refreshed every second", func(b *testing.B) {
		benchGuard(b, platform.New(redisStore(b), platform.WithRefresh(time.Second)))
	})
}

func benchGuard(b *testing.B, p *platform.Platform) {
	ctx := context.Background()
	_, _ = p.CreateTenant(ctx, "bench", platform.Tenant{ID: "acme"})
	_, _ = p.CreateConsumer(ctx, "bench", platform.ConsumerRecord{Consumer: middleware.Consumer{ID: "shop", Tenant: "acme"}})
	_, _ = p.PutAPI(ctx, "bench", platform.API{
		ID:       "orders",
		Tenant:   "acme",
		State:    platform.Published,
		Approval: platform.Auto,
	})
	if _, err := p.Subscribe(ctx, "bench", "acme", "shop", "orders"); err != nil {
		b.Fatal(err)
	}
	served := 0
	h := p.Guard("orders")(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { served++ }))
	req, _ := http.NewRequestWithContext(middleware.WithConsumer(ctx, &middleware.Consumer{ID: "shop", Tenant: "acme"}),
		http.MethodGet, "/orders/1", nil)
	w := &discard{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(w, req)
	}
	if served == 0 {
		b.Fatal("the guard refused the subscribed consumer")
	}
}
