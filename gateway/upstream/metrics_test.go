package upstream_test

import (
	"context"
	"net/http"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/portico-dev/portico/gateway/upstream"
)

func collect(t *testing.T, r *sdkmetric.ManualReader) map[string]metricdata.Aggregation {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := r.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	out := map[string]metricdata.Aggregation{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			out[m.Name] = m.Data
		}
	}
	return out
}

// TestMetrics checks the ejection counter and the per-instance gauges,
// and that Close unregisters the gauges.
func TestMetrics(t *testing.T) {
	t.Parallel()
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	bad, good := newBackend(t, "bad"), newBackend(t, "good")
	bad.status.Store(http.StatusInternalServerError)
	p, err := upstream.New(upstream.Config{
		Name:          "orders",
		Instances:     []upstream.Instance{{URL: bad.url()}, {URL: good.url()}},
		Outlier:       &upstream.OutlierDetection{Consecutive5xx: 1},
		MeterProvider: mp,
		Now:           newFakeClock().Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		get(p, "/")
	}
	got := collect(t, reader)
	ej, ok := got["portico.upstream.ejections"].(metricdata.Sum[int64])
	if !ok {
		t.Fatalf("ejections %+v, want a Sum[int64]", got["portico.upstream.ejections"])
	}
	if got, want := len(ej.DataPoints), 1; got != want {
		t.Fatalf("ejections have %d data points, want %d", got, want)
	}
	if got, want := ej.DataPoints[0].Value, int64(1); got != want {
		t.Fatalf("ejections = %d, want %d", got, want)
	}
	dp := ej.DataPoints[0]
	if v, _ := dp.Attributes.Value("reason"); v.AsString() != "5xx" {
		t.Errorf("reason %q", v.AsString())
	}
	if v, _ := dp.Attributes.Value(attribute.Key("portico.upstream.instance")); v.AsString() != bad.url() {
		t.Errorf("instance %q", v.AsString())
	}
	ejected, ok := got["portico.upstream.instance.ejected"].(metricdata.Gauge[int64])
	if !ok {
		t.Fatalf("ejected gauge %+v, want a Gauge[int64]", got["portico.upstream.instance.ejected"])
	}
	if got, want := len(ejected.DataPoints), 2; got != want {
		t.Fatalf("ejected gauge has %d data points, want %d", got, want)
	}
	for _, dp := range ejected.DataPoints {
		inst, _ := dp.Attributes.Value("portico.upstream.instance")
		pool, _ := dp.Attributes.Value("portico.upstream.pool")
		want := int64(0)
		if inst.AsString() == bad.url() {
			want = 1
		}
		if got := dp.Value; got != want {
			t.Errorf("ejected{%s} = %d, want %d", inst.AsString(), got, want)
		}
		if got, want := pool.AsString(), "orders"; got != want {
			t.Errorf("ejected{%s} pool = %q, want %q", inst.AsString(), got, want)
		}
	}
	if _, ok := got["portico.upstream.instance.healthy"]; !ok {
		t.Error("no healthy gauge")
	}
	p.Close()
	if g, ok := collect(t, reader)["portico.upstream.instance.ejected"].(metricdata.Gauge[int64]); ok && len(g.DataPoints) > 0 {
		t.Errorf("gauges still reported after Close: %+v", g)
	}
}
