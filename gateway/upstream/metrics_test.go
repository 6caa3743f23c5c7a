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
	if !ok || len(ej.DataPoints) != 1 || ej.DataPoints[0].Value != 1 {
		t.Fatalf("ejections %+v", got["portico.upstream.ejections"])
	}
	dp := ej.DataPoints[0]
	if v, _ := dp.Attributes.Value("reason"); v.AsString() != "5xx" {
		t.Errorf("reason %q", v.AsString())
	}
	if v, _ := dp.Attributes.Value(attribute.Key("portico.upstream.instance")); v.AsString() != bad.url() {
		t.Errorf("instance %q", v.AsString())
	}
	ejected, ok := got["portico.upstream.instance.ejected"].(metricdata.Gauge[int64])
	if !ok || len(ejected.DataPoints) != 2 {
		t.Fatalf("ejected gauge %+v", got["portico.upstream.instance.ejected"])
	}
	for _, dp := range ejected.DataPoints {
		inst, _ := dp.Attributes.Value("portico.upstream.instance")
		pool, _ := dp.Attributes.Value("portico.upstream.pool")
		want := int64(0)
		if inst.AsString() == bad.url() {
			want = 1
		}
		if dp.Value != want || pool.AsString() != "orders" {
			t.Errorf("ejected{%s,%s} = %d, want %d", pool.AsString(), inst.AsString(), dp.Value, want)
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
