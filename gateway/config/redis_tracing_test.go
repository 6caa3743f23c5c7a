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

// tracedGateway builds the config file data into a gateway whose spans
// a recorder keeps, and serves it on loopback.
func tracedGateway(t *testing.T, data []byte) (*httptest.Server, *tracetest.SpanRecorder) {
	t.Helper()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	c, err := config.Parse(filepath.Join(t.TempDir(), "gateway.yaml"), data, func(string) (string, bool) { return "", false })
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
	return srv, rec
}

// attrOf returns the value of key among span's attributes, or "".
func attrOf(s sdktrace.ReadOnlySpan, key string) string {
	for _, kv := range s.Attributes() {
		if string(kv.Key) == key {
			return kv.Value.String()
		}
	}
	return ""
}

// requestSpans returns the spans rec ended, the server span of the one
// request they hold, and whether a span descends from it.
func requestSpans(t *testing.T, rec *tracetest.SpanRecorder) (spans []sdktrace.ReadOnlySpan, server sdktrace.ReadOnlySpan, under func(sdktrace.ReadOnlySpan) bool) {
	t.Helper()
	spans = rec.Ended()
	byID := map[trace.SpanID]sdktrace.ReadOnlySpan{}
	for _, s := range spans {
		byID[s.SpanContext().SpanID()] = s
		if s.SpanKind() == trace.SpanKindServer {
			server = s
		}
	}
	if server == nil {
		t.Fatalf("no server span among %d spans", len(spans))
	}
	under = func(s sdktrace.ReadOnlySpan) bool {
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
	return spans, server, under
}

func TestARedisBackedRouteTracesItsStoreCallsUnderTheRequestSpan(t *testing.T) {
	t.Parallel()
	rs := redistest.Start(t)
	up := gwtest.EchoServer(t, "orders")
	srv, rec := tracedGateway(t, fmt.Appendf(nil, redisTracingYAML, rs.Addr(), "test:"+t.Name()+":", up.URL))

	resp, err := http.Get(srv.URL + "/orders")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got, want := resp.StatusCode, http.StatusOK; got != want {
		t.Fatalf("status = %d, want %d", got, want)
	}

	spans, server, under := requestSpans(t, rec)
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
