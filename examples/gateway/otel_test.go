package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	coltrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

// TestOTELEnvironmentSendsTraces runs the example gateway with the
// standard OTEL_* variables naming an OTLP/HTTP collector, and checks that
// the collector receives the route's server span and the upstream's
// client span, under the service name the environment gives. (It sets
// the process environment, so it does not run in parallel.)
func TestOTELEnvironmentSendsTraces(t *testing.T) {
	var mu sync.Mutex
	var spans []*tracepb.Span
	var service string
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var req coltrace.ExportTraceServiceRequest
		switch {
		case r.URL.Path != "/v1/traces":
			http.Error(w, "not an OTLP trace export", http.StatusBadRequest)
			return
		case proto.Unmarshal(body, &req) != nil:
			http.Error(w, "not an OTLP trace export", http.StatusBadRequest)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		for _, rs := range req.GetResourceSpans() {
			for _, a := range rs.GetResource().GetAttributes() {
				if a.GetKey() == "service.name" {
					service = a.GetValue().GetStringValue()
				}
			}
			for _, ss := range rs.GetScopeSpans() {
				spans = append(spans, ss.GetSpans()...)
			}
		}
	}))
	defer collector.Close()
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", collector.URL)
	t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
	t.Setenv("OTEL_SERVICE_NAME", "edge-test")
	t.Setenv("OTEL_BSP_SCHEDULE_DELAY", "100")

	proxy, _, _ := start(t, nil, "-addr", "127.0.0.1:0", "-admin-addr", "127.0.0.1:0", "-log-level", "error")
	c := &http.Client{Timeout: 30 * time.Second}
	defer c.CloseIdleConnections()
	resp, err := c.Get(proxy + "/api/orders/42")
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	// The batch processor exports every 100 ms; wait by count, generously.
	kinds := func() map[tracepb.Span_SpanKind]int {
		mu.Lock()
		defer mu.Unlock()
		k := map[tracepb.Span_SpanKind]int{}
		for _, s := range spans {
			k[s.GetKind()]++
		}
		return k
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for kinds()[tracepb.Span_SPAN_KIND_CLIENT] == 0 && ctx.Err() == nil {
		time.Sleep(50 * time.Millisecond)
	}
	k := kinds()
	if k[tracepb.Span_SPAN_KIND_SERVER] == 0 {
		t.Error("the collector got no server span")
	}
	if k[tracepb.Span_SPAN_KIND_CLIENT] == 0 {
		t.Error("the collector got no client span for the upstream")
	}
	mu.Lock()
	defer mu.Unlock()
	if got, want := service, "edge-test"; got != want {
		t.Errorf("service.name = %q, want %q", got, want)
	}
}
