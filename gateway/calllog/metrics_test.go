package calllog_test

import (
	"context"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/portico-dev/portico/gateway/calllog"
)

func TestMetricsCountCallsTokensAndCostPerTenant(t *testing.T) {
	t.Parallel()
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer func() { _ = mp.Shutdown(context.Background()) }()
	sink := calllog.Metrics(mp)
	_ = sink.Write(context.Background(), []calllog.Record{
		{
			Tenant:       "acme",
			API:          "chat",
			Status:       200,
			Latency:      time.Second,
			InputTokens:  10,
			OutputTokens: 5,
			Cost:         0.25,
		},
		{
			Tenant:  "acme",
			API:     "chat",
			Status:  200,
			Latency: time.Second,
		},
		{
			Tenant:  "globex",
			API:     "chat",
			Status:  502,
			Error:   "upstream",
			Latency: 2 * time.Second,
		},
	})
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	sums := map[string]float64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				for _, p := range d.DataPoints {
					tenant, _ := p.Attributes.Value(attribute.Key("portico.tenant"))
					kind, _ := p.Attributes.Value(attribute.Key("portico.token.type"))
					sums[m.Name+"/"+tenant.AsString()+"/"+kind.AsString()] += float64(p.Value)
				}
			case metricdata.Sum[float64]:
				for _, p := range d.DataPoints {
					tenant, _ := p.Attributes.Value(attribute.Key("portico.tenant"))
					sums[m.Name+"/"+tenant.AsString()+"/"] += p.Value
				}
			case metricdata.Histogram[float64]:
				for _, p := range d.DataPoints {
					tenant, _ := p.Attributes.Value(attribute.Key("portico.tenant"))
					sums[m.Name+"/"+tenant.AsString()+"/"] += p.Sum
				}
			}
		}
	}
	want := map[string]float64{
		"portico.calllog.calls/acme/":        2,
		"portico.calllog.calls/globex/":      1,
		"portico.calllog.tokens/acme/input":  10,
		"portico.calllog.tokens/acme/output": 5,
		"portico.calllog.cost/acme/":         0.25,
		"portico.calllog.duration/acme/":     2,
		"portico.calllog.duration/globex/":   2,
	}
	for k, v := range want {
		if sums[k] != v {
			t.Errorf("%s = %v, want %v (all: %v)", k, sums[k], v, sums)
		}
	}
}
