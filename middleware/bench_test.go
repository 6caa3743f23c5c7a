package middleware_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"

	"github.com/portico-dev/portico/middleware"
)

// benchWriter is a ResponseWriter that keeps nothing, so that benchmarks
// measure the middleware and not a recorder.
type benchWriter struct {
	h      http.Header
	status int
}

func (w *benchWriter) Header() http.Header         { return w.h }
func (w *benchWriter) WriteHeader(code int)        { w.status = code }
func (w *benchWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *benchWriter) Flush()                      {}

var okBody = []byte(`{"ok":true}`)

func okHandler(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(okBody)
}

func runBench(b *testing.B, h http.Handler) {
	req := httptest.NewRequest(http.MethodGet, "/orders/42", nil)
	req.Header.Set("User-Agent", "bench/1.0")
	w := &benchWriter{h: make(http.Header, 8)}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		clear(w.h)
		h.ServeHTTP(w, req)
	}
}

// BenchmarkChain compares a bare handler with the same handler behind every
// middleware of the package, with a disabled logger and no-op OpenTelemetry
// providers: the difference is what the chain costs per request.
func BenchmarkChain(b *testing.B) {
	b.Run("bare", func(b *testing.B) {
		runBench(b, http.HandlerFunc(okHandler))
	})
	b.Run("full-noop", func(b *testing.B) {
		tel := middleware.TelemetryConfig{TracerProvider: tracenoop.NewTracerProvider(), MeterProvider: metricnoop.NewMeterProvider()}
		runBench(b, everything(slog.New(discard{}), tel)(http.HandlerFunc(okHandler)))
	})
	b.Run("full-sdk", func(b *testing.B) {
		runBench(b, everything(slog.New(discard{}), sdkTelemetry(b))(http.HandlerFunc(okHandler)))
	})
}

// sdkTelemetry returns the real OpenTelemetry SDK: every span sampled and
// ended, metrics aggregated for a manual reader.
func sdkTelemetry(b *testing.B) middleware.TelemetryConfig {
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.AlwaysSample()))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	b.Cleanup(func() {
		_ = tp.Shutdown(context.Background())
		_ = mp.Shutdown(context.Background())
	})
	return middleware.TelemetryConfig{
		TracerProvider: tp,
		MeterProvider:  mp,
		Propagator:     propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}),
	}
}

// BenchmarkTelemetrySDK compares Telemetry with otelhttp, alone, on the same
// real SDK.
func BenchmarkTelemetrySDK(b *testing.B) {
	b.Run("portico", func(b *testing.B) {
		runBench(b, middleware.Telemetry(sdkTelemetry(b))(http.HandlerFunc(okHandler)))
	})
	b.Run("otelhttp", func(b *testing.B) {
		cfg := sdkTelemetry(b)
		runBench(b, otelhttp.NewHandler(http.HandlerFunc(okHandler), "server",
			otelhttp.WithTracerProvider(cfg.TracerProvider),
			otelhttp.WithMeterProvider(cfg.MeterProvider),
			otelhttp.WithPropagators(cfg.Propagator)))
	})
}
