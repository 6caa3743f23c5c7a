package redisstore_test

import (
	"context"
	"net"
	"testing"

	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/portico-dev/portico/internal/redistest"
	"github.com/portico-dev/portico/middleware/redisstore"
)

func spanAttr(s sdktrace.ReadOnlySpan, key string) string {
	for _, kv := range s.Attributes() {
		if string(kv.Key) == key {
			return kv.Value.String()
		}
	}
	return ""
}

func TestAStoreCallIsAClientSpanUnderTheCallersSpan(t *testing.T) {
	t.Parallel()
	s := redistest.Start(t)
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	store := redisstore.Open(&redis.Options{Addr: s.Addr(), DB: 0}, steady, redisstore.WithTracerProvider(tp))
	t.Cleanup(func() { _ = store.Close() })

	ctx, parent := tp.Tracer("test").Start(context.Background(), "request")
	e, err := store.Cache().Get(ctx, "missing")
	parent.End()
	if err != nil {
		t.Fatal(err)
	}
	if e != nil {
		t.Fatalf("a missing key gave an entry: %+v", e)
	}
	var get sdktrace.ReadOnlySpan
	for _, sp := range rec.Ended() {
		if sp.Name() == "GET" {
			get = sp
		}
	}
	if get == nil {
		t.Fatalf("no GET span among %d spans", len(rec.Ended()))
	}
	if got, want := get.Parent().SpanID(), parent.SpanContext().SpanID(); got != want {
		t.Errorf("GET's parent = %s, want the caller's span %s", got, want)
	}
	if got, want := get.SpanKind(), trace.SpanKindClient; got != want {
		t.Errorf("kind = %v, want %v", got, want)
	}
	_, port, _ := net.SplitHostPort(s.Addr())
	for key, want := range map[string]string{
		"db.system.name": "redis", "db.system": "redis", "db.operation.name": "GET",
		"db.namespace": "0", "server.address": "127.0.0.1", "server.port": port,
	} {
		if got := spanAttr(get, key); got != want {
			t.Errorf("%s = %q, want %q", key, got, want)
		}
	}
	// A missing key is a reply, not an error.
	if got, want := get.Status().Code, codes.Unset; got != want {
		t.Errorf("status of a GET of a missing key = %v, want %v", got, want)
	}
}

func TestAFailedStoreCallIsAnErrorSpan(t *testing.T) {
	t.Parallel()
	s := redistest.Start(t)
	addr := s.Addr()
	s.Kill()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	store := redisstore.Open(&redis.Options{Addr: addr}, steady, redisstore.WithTracerProvider(tp))
	t.Cleanup(func() { _ = store.Close() })

	if _, err := store.Cache().Get(context.Background(), "k"); err == nil {
		t.Fatal("a Get from a Redis that is gone succeeded")
	}
	var failed int
	for _, sp := range rec.Ended() {
		if sp.Status().Code == codes.Error {
			failed++
		}
	}
	if failed == 0 {
		t.Errorf("no span has an error status among %d spans", len(rec.Ended()))
	}
}
