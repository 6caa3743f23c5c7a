package redisstore_test

import (
	"context"
	"testing"

	"github.com/redis/go-redis/v9"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/portico-dev/portico/internal/redistest"
	"github.com/portico-dev/portico/middleware/redisstore"
)

// BenchmarkTracedCacheGet measures a cache read from a real redis-server
// without spans (a no-op tracer provider) and with sampled spans, to show
// what tracing the store's calls costs.
func BenchmarkTracedCacheGet(b *testing.B) {
	s := redistest.Start(b)
	for _, bc := range []struct {
		name string
		tp   trace.TracerProvider
	}{
		{"untraced", noop.NewTracerProvider()},
		{"traced", sdktrace.NewTracerProvider()},
	} {
		b.Run(bc.name, func(b *testing.B) {
			store := redisstore.Open(&redis.Options{Addr: s.Addr()}, steady, redisstore.WithTracerProvider(bc.tp))
			defer store.Close()
			cache := store.Cache()
			ctx, span := bc.tp.Tracer("bench").Start(context.Background(), "request")
			defer span.End()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := cache.Get(ctx, "missing"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
