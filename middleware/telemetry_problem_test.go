package middleware_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"go.opentelemetry.io/otel/propagation"

	"github.com/portico-dev/portico/internal/problem"
	"github.com/portico-dev/portico/middleware"
)

// traceIDOf decodes the trace_id member of a problem document.
func traceIDOf(t *testing.T, body []byte) string {
	t.Helper()
	var doc struct {
		TraceID string `json:"trace_id"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	return doc.TraceID
}

func TestAProblemWrittenUnderTelemetryCarriesTheCallersTraceIDWithTracingOff(t *testing.T) {
	t.Parallel()
	h := middleware.Telemetry(middleware.TelemetryConfig{Propagator: propagation.TraceContext{}})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		problem.Error(w, r, http.StatusBadGateway, "")
	}))
	srv := serve(t, h)
	const parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	_, body := do(t, srv, newRequest(t, http.MethodGet, srv.URL, nil, "traceparent", parent))
	if got, want := traceIDOf(t, body), "4bf92f3577b34da6a3ce929d0e0e4736"; got != want {
		t.Errorf("trace_id = %q, want the caller's %q", got, want)
	}
}

// Recover sits outside Telemetry in the production chain; the 500 it
// writes still names the trace of the request's server span.
func TestTheProblemOfAPanicCarriesTheServerSpansTraceID(t *testing.T) {
	t.Parallel()
	kit := newOtelKit(t)
	h := middleware.Chain(
		middleware.RequestID(middleware.RequestIDConfig{}),
		middleware.Recover(middleware.RecoverConfig{Logger: newDiscardLogger()}),
		middleware.Telemetry(kit.cfg),
	)(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("boom") }))
	srv := serve(t, h)
	res, body := do(t, srv, newRequest(t, http.MethodGet, srv.URL, nil))
	if got, want := res.StatusCode, http.StatusInternalServerError; got != want {
		t.Fatalf("status = %d, want %d", got, want)
	}
	spans := kit.spans.Ended()
	if got, want := len(spans), 1; got != want {
		t.Fatalf("spans = %d, want %d", got, want)
	}
	if got, want := traceIDOf(t, body), spans[0].SpanContext().TraceID().String(); got != want {
		t.Errorf("trace_id = %q, want the server span's %q", got, want)
	}
}
