package ai_test

import (
	"context"
	"fmt"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/portico-dev/portico/gateway/ai"
	"github.com/portico-dev/portico/middleware"
)

// tokensBy sums portico.ai.tokens by the value of key and the token type,
// such as "acme/input"; a point without key counts under "-".
func tokensBy(t *testing.T, reader *sdkmetric.ManualReader, key attribute.Key) map[string]int64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name != "portico.ai.tokens" {
				continue
			}
			for _, p := range m.Data.(metricdata.Sum[int64]).DataPoints {
				v, ok := p.Attributes.Value(key)
				label := "-"
				if ok {
					label = v.AsString()
				}
				typ, _ := p.Attributes.Value("gen_ai.token.type")
				got[label+"/"+typ.AsString()] += p.Value
			}
		}
	}
	return got
}

// tenantKeys makes n consumers "c0"…, consumer ci of tenant "t(i%tenants)",
// each with the key "key-ci".
func tenantKeys(n, tenants int) *ai.Keys {
	m := map[string]middleware.Consumer{}
	for i := range n {
		m[fmt.Sprintf("key-c%d", i)] = middleware.Consumer{ID: fmt.Sprintf("c%d", i), Tenant: fmt.Sprintf("t%d", i%tenants)}
	}
	return ai.NewKeys(m)
}

func TestTheAIMetricsCountTokensByTenantAndNotByConsumer(t *testing.T) {
	t.Parallel()
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	t.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
	rec := &recorder{}
	srv := serve(t, demoClient(), ai.WithAuthenticator(tenantKeys(4, 2)), ai.WithSink(rec), ai.WithMeterProvider(mp))
	for i := range 4 {
		if status, _, body := call(t, "POST", srv.URL+"/v1/chat/completions", fmt.Sprintf("key-c%d", i), chatBody("demo", "hello", 5)); status != 200 {
			t.Fatalf("status %d: %s", status, body)
		}
	}
	want := map[string]int64{}
	for _, r := range rec.all() {
		want[r.Tenant+"/input"] += r.Usage.InputTokens
		want[r.Tenant+"/output"] += r.Usage.OutputTokens
	}
	got := tokensBy(t, reader, "portico.tenant")
	for k, w := range want {
		if got[k] != w {
			t.Errorf("tokens %s = %d, want %d (all: %v)", k, got[k], w, got)
		}
	}
	if got, want := len(got), 4; got != want { // t0 and t1, input and output
		t.Errorf("token series = %d, want %d", got, want)
	}
	if byConsumer := tokensBy(t, reader, "portico.consumer"); byConsumer["-/input"] == 0 {
		t.Errorf("tokens carry a consumer label by default: %v", byConsumer)
	}
}

func TestTheConsumerLabelIsCappedWhenAsked(t *testing.T) {
	t.Parallel()
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	t.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
	rec := &recorder{}
	srv := serve(t, demoClient(), ai.WithAuthenticator(tenantKeys(5, 5)), ai.WithSink(rec), ai.WithMeterProvider(mp),
		ai.WithMetricLabels(ai.MetricLabels{Tenants: 3, Consumers: 2}))
	for i := range 5 {
		if status, _, body := call(t, "POST", srv.URL+"/v1/chat/completions", fmt.Sprintf("key-c%d", i), chatBody("demo", "hello", 5)); status != 200 {
			t.Fatalf("status %d: %s", status, body)
		}
	}
	var in int64
	for _, r := range rec.all() {
		in += r.Usage.InputTokens
	}
	consumers := tokensBy(t, reader, "portico.consumer")
	tenants := tokensBy(t, reader, "portico.tenant")
	for name, c := range map[string]struct {
		got        map[string]int64
		own, other int
	}{
		"consumer": {consumers, 2, 3},
		"tenant":   {tenants, 3, 2},
	} {
		var own int64
		for k := range c.got {
			if k != ai.MetricLabelOverflow+"/input" && k[len(k)-len("/input"):] == "/input" {
				own++
			}
		}
		if got, want := own, int64(c.own); got != want {
			t.Errorf("%s values of their own = %d, want %d (%v)", name, got, want, c.got)
		}
		if got, want := c.got[ai.MetricLabelOverflow+"/input"], in/5*int64(c.other); got != want {
			t.Errorf("%s %s input tokens = %d, want %d (%v)", name, ai.MetricLabelOverflow, got, want, c.got)
		}
	}
}
