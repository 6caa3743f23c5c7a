package config_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/portico-dev/portico/gateway"
	"github.com/portico-dev/portico/gateway/config"
	"github.com/portico-dev/portico/gateway/internal/gwtest"
	"github.com/portico-dev/portico/internal/redistest"
)

const redisTracingYAML = `
middleware: [request_id, telemetry]
store: {redis: {address: %q, prefix: %q, timeout: 5s}}
upstreams:
  - name: orders
    instances: [{url: %q}]
routes:
  - name: orders
    path: /orders
    upstream: orders
    policy:
      rate_limit: {requests: 1000, per: 1h, burst: 1000}
      cache: {ttl: 1m}
`

// attrOf returns the value of key among span's attributes, or "".
func attrOf(s sdktrace.ReadOnlySpan, key string) string {
	for _, kv := range s.Attributes() {
		if string(kv.Key) == key {
			return kv.Value.String()
		}
	}
	return ""
}

func TestARedisBackedRouteTracesItsStoreCallsUnderTheRequestSpan(t *testing.T) {
	t.Parallel()
	rs := redistest.Start(t)
	up := gwtest.EchoServer(t, "orders")
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })

	path := filepath.Join(t.TempDir(), "gateway.yaml")
	c, err := config.Parse(path, fmt.Appendf(nil, redisTracingYAML, rs.Addr(), "test:"+t.Name()+":", up.URL), nil)
	if err != nil {
		t.Fatal(err)
	}
	g, err := c.Build(gateway.WithLogger(gwtest.Quiet), gateway.WithTracerProvider(tp))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = g.Close() })
	srv := httptest.NewServer(g)
	t.Cleanup(srv.Close)

	resp, err := http.Get(srv.URL + "/orders")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got, want := resp.StatusCode, http.StatusOK; got != want {
		t.Fatalf("status = %d, want %d", got, want)
	}

	spans := rec.Ended()
	var server sdktrace.ReadOnlySpan
	for _, s := range spans {
		if s.SpanKind() == trace.SpanKindServer {
			server = s
		}
	}
	if server == nil {
		t.Fatalf("no server span among %d spans", len(spans))
	}
	byID := map[trace.SpanID]sdktrace.ReadOnlySpan{}
	for _, s := range spans {
		byID[s.SpanContext().SpanID()] = s
	}
	// under reports whether s descends from the request's server span.
	under := func(s sdktrace.ReadOnlySpan) bool {
		for p := s.Parent(); p.IsValid(); {
			if p.SpanID() == server.SpanContext().SpanID() {
				return true
			}
			ps, ok := byID[p.SpanID()]
			if !ok {
				return false
			}
			p = ps.Parent()
		}
		return false
	}
	var redisSpans int
	ops := map[string]bool{}
	for _, s := range spans {
		if attrOf(s, "db.system.name") != "redis" {
			continue
		}
		redisSpans++
		ops[attrOf(s, "db.operation.name")] = true
		if got, want := attrOf(s, "db.system"), "redis"; got != want {
			t.Errorf("span %s: db.system = %q, want %q", s.Name(), got, want)
		}
		if got, want := s.SpanKind(), trace.SpanKindClient; got != want {
			t.Errorf("span %s: kind = %v, want %v", s.Name(), got, want)
		}
		if got, want := s.Name(), attrOf(s, "db.operation.name"); got != want {
			t.Errorf("span name = %q, want the command %q", got, want)
		}
		if got, want := s.SpanContext().TraceID(), server.SpanContext().TraceID(); got != want {
			t.Errorf("span %s: trace %s, want the request's %s", s.Name(), got, want)
		}
		if !under(s) {
			t.Errorf("span %s is not under the request's span", s.Name())
		}
		if got, want := attrOf(s, "server.address"), "127.0.0.1"; got != want {
			t.Errorf("span %s: server.address = %q, want %q", s.Name(), got, want)
		}
	}
	// One rate-limit decision and one cache lookup, at least.
	if redisSpans < 2 {
		t.Errorf("%d Redis spans, want at least 2 (a rate-limit decision and a cache read); operations %v", redisSpans, ops)
	}
	if !ops["EVALSHA"] && !ops["EVAL"] {
		t.Errorf("no rate-limit script (EVALSHA or EVAL) among the traced operations %v", ops)
	}
	if !ops["GET"] {
		t.Errorf("no cache read (GET) among the traced operations %v", ops)
	}
}
