package middleware_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
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
	cpu0, ok := cpuTime()
	for b.Loop() {
		clear(w.h)
		h.ServeHTTP(w, req)
	}
	// CPU time per request: the wall-clock ns/op of a machine that other
	// processes load says little.
	if cpu1, _ := cpuTime(); ok && b.N > 0 {
		b.ReportMetric(float64(cpu1-cpu0)/float64(b.N), "cpu-ns/op")
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

// BenchmarkEach measures each middleware alone over the bare handler, to
// show where the chain's cost goes.
func BenchmarkEach(b *testing.B) {
	noop := middleware.TelemetryConfig{TracerProvider: tracenoop.NewTracerProvider(), MeterProvider: metricnoop.NewMeterProvider()}
	logger := slog.New(discard{})
	for _, bc := range []struct {
		name string
		mw   func(http.Handler) http.Handler
	}{
		{"RequestID", middleware.RequestID(middleware.RequestIDConfig{})},
		{"Recover", middleware.Recover(middleware.RecoverConfig{Logger: logger})},
		{"ClientIP", middleware.ClientIP(middleware.ClientIPConfig{})},
		{"Telemetry-noop", middleware.Telemetry(noop)},
		{"AccessLog-disabled", middleware.AccessLog(middleware.AccessLogConfig{Logger: logger})},
		{"BodyLimit", middleware.BodyLimit(1 << 20)},
		{"Timeout", middleware.Timeout(middleware.TimeoutConfig{})},
		{"CORS", middleware.CORS(middleware.CORSConfig{})},
	} {
		b.Run(bc.name, func(b *testing.B) {
			runBench(b, bc.mw(http.HandlerFunc(okHandler)))
		})
	}
}

// BenchmarkBodyTimeout measures what guarding a request body costs: a
// POST whose 1 KiB body the handler reads, bare and behind BodyTimeout.
func BenchmarkBodyTimeout(b *testing.B) {
	body := strings.Repeat("b", 1024)
	read := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		okHandler(w, r)
	})
	for _, c := range []struct {
		name string
		h    http.Handler
	}{
		{"bare", read},
		{"guarded", middleware.BodyTimeout(middleware.BodyTimeoutConfig{})(read)},
	} {
		b.Run(c.name, func(b *testing.B) {
			w := &benchWriter{h: make(http.Header, 8)}
			b.ReportAllocs()
			for b.Loop() {
				clear(w.h)
				req := httptest.NewRequest(http.MethodPost, "/orders", strings.NewReader(body))
				c.h.ServeHTTP(w, req)
			}
		})
	}
}
