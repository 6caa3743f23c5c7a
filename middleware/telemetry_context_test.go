package middleware_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"go.opentelemetry.io/otel/metric/noop"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"

	"github.com/portico-dev/portico/middleware"
)

// quietTracing is a tracer provider that is not the no-op one by type but
// makes spans that neither record nor have a span context, as the
// OpenTelemetry global does before an SDK is installed.
type quietTracing struct{ tracenoop.TracerProvider }

// contextsSeen runs a request through RequestID, Telemetry (with tp) and a
// handler, and returns the contexts Telemetry got and handed down.
func contextsSeen(t *testing.T, tp trace.TracerProvider) (in, out context.Context) {
	t.Helper()
	telemetry := middleware.Telemetry(middleware.TelemetryConfig{TracerProvider: tp, MeterProvider: noop.NewMeterProvider()})
	h := middleware.RequestID(middleware.RequestIDConfig{})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in = r.Context()
		telemetry(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { out = r.Context() })).ServeHTTP(w, r)
	}))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil))
	return in, out
}

func TestTelemetryWithoutATracingSDKHandsDownTheRequestContextUnchanged(t *testing.T) {
	t.Parallel()
	in, out := contextsSeen(t, quietTracing{})
	if in != out {
		t.Errorf("the handler got a new context for a span that neither records nor has a span context")
	}
}

func TestTelemetryHandsDownTheContextOfASampledOutSpan(t *testing.T) {
	t.Parallel()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.NeverSample()))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	_, out := contextsSeen(t, tp)
	if !trace.SpanContextFromContext(out).IsValid() {
		t.Errorf("the handler's context has no span context; a sampled-out span's context must still travel")
	}
}
