package middleware_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/portico-dev/portico/middleware"
)

// otelKit is an in-memory tracer and meter pair.
type otelKit struct {
	spans  *tracetest.SpanRecorder
	reader *sdkmetric.ManualReader
	cfg    middleware.TelemetryConfig
}

func newOtelKit(t *testing.T) *otelKit {
	t.Helper()
	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans), sdktrace.WithSampler(sdktrace.AlwaysSample()))
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	t.Cleanup(func() {
		_ = tp.Shutdown(context.Background())
		_ = mp.Shutdown(context.Background())
	})
	return &otelKit{spans: spans, reader: reader, cfg: middleware.TelemetryConfig{TracerProvider: tp, MeterProvider: mp}}
}

// metric returns the named metric from one collection.
func (k *otelKit) metric(t *testing.T, name string) metricdata.Aggregation {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := k.reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name == name {
				return m.Data
			}
		}
	}
	t.Fatalf("metric %s not recorded", name)
	return nil
}

func orders(w http.ResponseWriter, r *http.Request) {
	if strings.HasSuffix(r.URL.Path, "/fail") {
		w.WriteHeader(http.StatusBadGateway)
		return
	}
	_, _ = w.Write([]byte(`{"id":"42"}`))
}

func TestTelemetry(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		mount     func(tel func(http.Handler) http.Handler) http.Handler
		path      string
		wantName  string
		wantRoute string
		wantCode  int
	}{
		{
			name:      "outside a chi router the route is read after routing",
			path:      "/orders/42",
			wantName:  "GET /orders/{id}",
			wantRoute: "/orders/{id}",
			wantCode:  200,
			mount: func(tel func(http.Handler) http.Handler) http.Handler {
				r := chi.NewRouter()
				r.Get("/orders/{id}", orders)
				return tel(r)
			},
		},
		{
			name:      "inside a chi router the route is known",
			path:      "/orders/42",
			wantName:  "GET /orders/{id}",
			wantRoute: "/orders/{id}",
			wantCode:  200,
			mount: func(tel func(http.Handler) http.Handler) http.Handler {
				r := chi.NewRouter()
				r.Use(tel)
				r.Get("/orders/{id}", orders)
				return r
			},
		},
		{
			name:      "a mounted chi subrouter gives the full route",
			path:      "/api/orders/42",
			wantName:  "GET /api/orders/{id}",
			wantRoute: "/api/orders/{id}",
			wantCode:  200,
			mount: func(tel func(http.Handler) http.Handler) http.Handler {
				sub := chi.NewRouter()
				sub.Get("/orders/{id}", orders)
				r := chi.NewRouter()
				r.Mount("/api", sub)
				return tel(r)
			},
		},
		{
			name:      "outside an http.ServeMux the pattern's path is the route",
			path:      "/orders/42",
			wantName:  "GET /orders/{id}",
			wantRoute: "/orders/{id}",
			wantCode:  200,
			mount: func(tel func(http.Handler) http.Handler) http.Handler {
				mux := http.NewServeMux()
				mux.HandleFunc("GET /orders/{id}", orders)
				return tel(mux)
			},
		},
		{
			name:      "a router of its own records the route with SetRoutePattern",
			path:      "/orders/42",
			wantName:  "GET /orders/:id",
			wantRoute: "/orders/:id",
			wantCode:  200,
			mount: func(tel func(http.Handler) http.Handler) http.Handler {
				return tel(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					middleware.SetRoutePattern(r, "/orders/:id")
					orders(w, r)
				}))
			},
		},
		{
			name:     "an unmatched path gives a span named after the method alone",
			path:     "/nowhere",
			wantName: "GET",
			wantCode: 404,
			mount: func(tel func(http.Handler) http.Handler) http.Handler {
				r := chi.NewRouter()
				r.Get("/orders/{id}", orders)
				return tel(r)
			},
		},
		{
			name:      "a 5xx answer marks the span as an error",
			path:      "/orders/fail",
			wantName:  "GET /orders/{id}",
			wantRoute: "/orders/{id}",
			wantCode:  502,
			mount: func(tel func(http.Handler) http.Handler) http.Handler {
				r := chi.NewRouter()
				r.Get("/orders/{id}", orders)
				return tel(r)
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			kit := newOtelKit(t)
			srv := serve(t, tt.mount(middleware.Telemetry(kit.cfg)))
			res, _ := do(t, srv, newRequest(t, http.MethodGet, srv.URL+tt.path, nil, "User-Agent", "telemetry-test"))
			if res.StatusCode != tt.wantCode {
				t.Fatalf("status = %d, want %d", res.StatusCode, tt.wantCode)
			}
			ended := kit.spans.Ended()
			if len(ended) != 1 {
				t.Fatalf("%d spans ended, want 1", len(ended))
			}
			span := ended[0]
			if span.Name() != tt.wantName {
				t.Fatalf("span name = %q, want %q", span.Name(), tt.wantName)
			}
			attrs := attribute.NewSet(span.Attributes()...)
			want := map[attribute.Key]attribute.Value{
				"http.request.method":       attribute.StringValue("GET"),
				"http.response.status_code": attribute.IntValue(tt.wantCode),
				"url.path":                  attribute.StringValue(tt.path),
				"url.scheme":                attribute.StringValue("http"),
				"user_agent.original":       attribute.StringValue("telemetry-test"),
				"network.protocol.version":  attribute.StringValue("1.1"),
				"server.address":            attribute.StringValue("127.0.0.1"),
			}
			if tt.wantRoute != "" {
				want["http.route"] = attribute.StringValue(tt.wantRoute)
			}
			for k, v := range want {
				if got, ok := attrs.Value(k); !ok {
					t.Errorf("span has no %s, want %v", k, v.String())
				} else if got != v {
					t.Errorf("span %s = %v, want %v", k, got.String(), v.String())
				}
			}
			if _, ok := attrs.Value("http.route"); ok && tt.wantRoute == "" {
				t.Error("span has http.route for an unmatched path")
			}
			if wantErr := tt.wantCode >= 500; (span.Status().Code == codes.Error) != wantErr {
				t.Errorf("span status = %v, want error %v", span.Status(), wantErr)
			}

			hist, ok := kit.metric(t, "http.server.request.duration").(metricdata.Histogram[float64])
			if !ok {
				t.Fatalf("duration metric is not a float64 histogram: %#v", hist)
			}
			if len(hist.DataPoints) != 1 {
				t.Fatalf("duration histogram = %#v, want one data point", hist)
			}
			dp := hist.DataPoints[0]
			if got, want := dp.Count, uint64(1); got != want {
				t.Errorf("duration count = %d, want %d", got, want)
			}
			if got, want := len(dp.Bounds), 14; got != want {
				t.Fatalf("duration bounds = %v, want %d: the semconv buckets", dp.Bounds, want)
			}
			if got, want := [2]float64{dp.Bounds[0], dp.Bounds[13]}, [2]float64{0.005, 10}; got != want {
				t.Errorf("duration bounds from %v to %v, want from %v to %v: the semconv buckets", got[0], got[1], want[0], want[1])
			}
			if got, _ := dp.Attributes.Value("http.route"); got.AsString() != tt.wantRoute {
				t.Fatalf("duration http.route = %q, want %q", got.AsString(), tt.wantRoute)
			}
			if got, _ := dp.Attributes.Value("http.response.status_code"); got.AsInt64() != int64(tt.wantCode) {
				t.Fatalf("duration status = %d, want %d", got.AsInt64(), tt.wantCode)
			}
		})
	}
}

func TestTelemetryContinuesTheCallersTrace(t *testing.T) {
	t.Parallel()
	kit := newOtelKit(t)
	kit.cfg.Propagator = propagation.TraceContext{}
	srv := serve(t, middleware.Telemetry(kit.cfg)(http.HandlerFunc(orders)))
	const parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	do(t, srv, newRequest(t, http.MethodGet, srv.URL, nil, "traceparent", parent))
	span := kit.spans.Ended()[0]
	if got := span.SpanContext().TraceID().String(); got != "4bf92f3577b34da6a3ce929d0e0e4736" {
		t.Fatalf("trace ID = %s, want the caller's", got)
	}
	if got, want := span.Parent().SpanID().String(), "00f067aa0ba902b7"; got != want {
		t.Errorf("parent = %s, want the caller's span %s", got, want)
	}
	if !span.Parent().IsRemote() {
		t.Error("parent is not remote, want the caller's span")
	}
}

func TestTelemetryRecordsSizesAndActiveRequests(t *testing.T) {
	t.Parallel()
	kit := newOtelKit(t)
	srv := serve(t, middleware.Telemetry(kit.cfg)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		buf := make([]byte, 64)
		n := 0
		for {
			m, err := r.Body.Read(buf)
			n += m
			if err != nil {
				break
			}
		}
		_, _ = w.Write([]byte(strings.Repeat("x", n*2)))
	})))
	do(t, srv, newRequest(t, http.MethodPost, srv.URL, chunked{strings.NewReader("hello world")}))
	in := kit.metric(t, "http.server.request.body.size").(metricdata.Histogram[int64])
	out := kit.metric(t, "http.server.response.body.size").(metricdata.Histogram[int64])
	if got, want := in.DataPoints[0].Sum, int64(11); got != want {
		t.Errorf("request body size = %d, want %d", got, want)
	}
	if got, want := out.DataPoints[0].Sum, int64(22); got != want {
		t.Errorf("response body size = %d, want %d", got, want)
	}
	active := kit.metric(t, "http.server.active_requests").(metricdata.Sum[int64])
	if len(active.DataPoints) != 1 {
		t.Fatalf("active requests = %+v, want one series", active.DataPoints)
	}
	if got := active.DataPoints[0].Value; got != 0 {
		t.Errorf("active requests = %d, want back at 0", got)
	}
}

func TestTelemetryRecordsAPanicAsA500(t *testing.T) {
	t.Parallel()
	kit := newOtelKit(t)
	h := middleware.Chain(
		middleware.Recover(middleware.RecoverConfig{Logger: newDiscardLogger()}),
		middleware.Telemetry(kit.cfg),
	)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { panic("boom") }))
	srv := serve(t, h)
	if res, _ := do(t, srv, newRequest(t, http.MethodGet, srv.URL, nil)); res.StatusCode != http.StatusInternalServerError {
		t.Fatalf("status = %d, want 500", res.StatusCode)
	}
	span := kit.spans.Ended()[0]
	attrs := attribute.NewSet(span.Attributes()...)
	if got, _ := attrs.Value("http.response.status_code"); got.AsInt64() != http.StatusInternalServerError {
		t.Errorf("span http.response.status_code = %d, want %d", got.AsInt64(), http.StatusInternalServerError)
	}
	if got, want := span.Status().Code, codes.Error; got != want {
		t.Errorf("span status = %v, want %v", span.Status(), want)
	}
}

func TestTelemetrySkip(t *testing.T) {
	t.Parallel()
	kit := newOtelKit(t)
	kit.cfg.Skip = func(r *http.Request) bool { return r.URL.Path == "/healthz" }
	srv := serve(t, middleware.Telemetry(kit.cfg)(http.HandlerFunc(orders)))
	do(t, srv, newRequest(t, http.MethodGet, srv.URL+"/healthz", nil))
	if n := len(kit.spans.Ended()); n != 0 {
		t.Fatalf("%d spans for a skipped request, want 0", n)
	}
}
