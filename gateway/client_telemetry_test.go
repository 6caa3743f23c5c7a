package gateway_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/portico-dev/portico/gateway"
	"github.com/portico-dev/portico/gateway/upstream"
)

// traceUpstream records the traceparent of every request it receives.
type traceUpstream struct {
	mu   sync.Mutex
	seen []string
}

func (u *traceUpstream) start(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.mu.Lock()
		u.seen = append(u.seen, r.Header.Get("Traceparent"))
		u.mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func (u *traceUpstream) last() string {
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(u.seen) == 0 {
		return ""
	}
	return u.seen[len(u.seen)-1]
}

// attemptSets returns the attribute sets of the http.client metric name
// points, each written as sorted key=value pairs, with their counts.
func attemptSets(t *testing.T, r *sdkmetric.ManualReader, name string) map[string]uint64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := r.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	sets := map[string]uint64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name != name {
				continue
			}
			add := func(s attribute.Set, n uint64) {
				var kv []string
				for _, a := range s.ToSlice() {
					kv = append(kv, string(a.Key)+"="+a.Value.String())
				}
				sort.Strings(kv)
				sets[strings.Join(kv, ",")] += n
			}
			switch d := m.Data.(type) {
			case metricdata.Histogram[float64]:
				for _, p := range d.DataPoints {
					add(p.Attributes, p.Count)
				}
			case metricdata.Histogram[int64]:
				for _, p := range d.DataPoints {
					add(p.Attributes, p.Count)
				}
			}
		}
	}
	return sets
}

// telemetryGateway builds a gateway with the telemetry middleware and one
// route to up, metered by a manual reader, traced by tp if not nil.
func telemetryGateway(t *testing.T, up string, tp *sdktrace.TracerProvider) (*gateway.Gateway, *sdkmetric.ManualReader) {
	t.Helper()
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	t.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
	opts := []gateway.Option{gateway.WithLogger(quiet), gateway.WithMeterProvider(mp), gateway.WithChain("telemetry"),
		gateway.WithUpstream(mustPool(t, "svc", up)), gateway.WithRoute(gateway.Route{Prefix: "/svc", Upstream: "svc"})}
	if tp != nil {
		opts = append(opts, gateway.WithTracerProvider(tp))
	}
	g, err := gateway.New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = g.Close() })
	return g, reader
}

// The upstream attempts' metrics are the same series whether the
// attempt is traced (through otelhttp) or not (recorded by the gateway).
func TestUpstreamMetricsAreTheSameTracedOrNot(t *testing.T) {
	var u traceUpstream
	up := u.start(t)
	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	plain, plainReader := telemetryGateway(t, up.URL, nil)
	traced, tracedReader := telemetryGateway(t, up.URL, tp)
	for _, g := range []*gateway.Gateway{plain, traced} {
		for _, method := range []string{http.MethodGet, http.MethodPost} {
			w := httptest.NewRecorder()
			g.ServeHTTP(w, httptest.NewRequest(method, "/svc/x", strings.NewReader("body")))
			if got, want := w.Code, http.StatusAccepted; got != want {
				t.Fatalf("%s: status %d, want %d", method, got, want)
			}
		}
	}
	if got := len(spans.Ended()); got == 0 {
		t.Error("the traced gateway recorded no spans")
	}
	for _, name := range []string{"http.client.request.duration", "http.client.request.body.size"} {
		got, want := attemptSets(t, plainReader, name), attemptSets(t, tracedReader, name)
		if len(want) != 2 {
			t.Fatalf("%s through otelhttp: %d attribute sets, want 2 (GET and POST): %v", name, len(want), want)
		}
		for set, n := range want {
			if got[set] != n {
				t.Errorf("%s {%s}: %d untraced attempts, want %d as traced (untraced sets: %v)", name, set, got[set], n, got)
			}
		}
	}
}

// An unsampled trace reaches the upstream unsampled, with its trace ID,
// though no span is recorded.
func TestAnUnsampledTraceIsCarriedToTheUpstream(t *testing.T) {
	var u traceUpstream
	up := u.start(t)
	g, _ := telemetryGateway(t, up.URL, nil)
	const trace = "4bf92f3577b34da6a3ce929d0e0e4736"
	r := httptest.NewRequest(http.MethodGet, "/svc/x", nil)
	r.Header.Set("Traceparent", "00-"+trace+"-00f067aa0ba902b7-00")
	w := httptest.NewRecorder()
	g.ServeHTTP(w, r)
	if got, want := w.Code, http.StatusAccepted; got != want {
		t.Fatalf("status %d, want %d", got, want)
	}
	got := u.last()
	if !strings.HasPrefix(got, "00-"+trace+"-") {
		t.Errorf("upstream traceparent %q, want trace %s", got, trace)
	}
	if !strings.HasSuffix(got, "-00") {
		t.Errorf("upstream traceparent %q, want it unsampled", got)
	}
}

// Without a trace, nothing is added to the upstream request.
func TestWithoutATraceNoTraceparentIsSent(t *testing.T) {
	var u traceUpstream
	up := u.start(t)
	g, _ := telemetryGateway(t, up.URL, nil)
	w := httptest.NewRecorder()
	g.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/svc/x", nil))
	if got, want := w.Code, http.StatusAccepted; got != want {
		t.Fatalf("status %d, want %d", got, want)
	}
	if got := u.last(); got != "" {
		t.Errorf("upstream traceparent %q, want none", got)
	}
}

func mustPool(t *testing.T, name, url string) *upstream.Pool {
	t.Helper()
	p, err := upstream.New(upstream.Config{Name: name, Instances: []upstream.Instance{{URL: url}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}
