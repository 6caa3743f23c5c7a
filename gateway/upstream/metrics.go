package upstream

import (
	"context"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

const scope = "github.com/portico-dev/portico/gateway/upstream"

// Attribute keys on every instrument.
const (
	attrPool     = attribute.Key("portico.upstream.pool")
	attrInstance = attribute.Key("portico.upstream.instance")
)

// metrics holds a pool's instruments.
type metrics struct {
	pool       attribute.KeyValue
	poolSet    metric.MeasurementOption
	ejections  metric.Int64Counter
	checks     metric.Int64Counter
	panics     metric.Int64Counter
	dnsErrors  metric.Int64Counter
	registered metric.Registration
}

func newMetrics(p *Pool, mp metric.MeterProvider) (*metrics, error) {
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	meter := mp.Meter(scope)
	m := &metrics{pool: attrPool.String(p.name)}
	m.poolSet = metric.WithAttributeSet(attribute.NewSet(m.pool))
	var err error
	if m.ejections, err = meter.Int64Counter("portico.upstream.ejections",
		metric.WithDescription("Instances ejected by passive outlier detection, by reason (5xx, conn_errors or slow)."),
		metric.WithUnit("{ejection}")); err != nil {
		return nil, err
	}
	if m.checks, err = meter.Int64Counter("portico.upstream.health_checks",
		metric.WithDescription("Active health checks, by result (pass or fail)."),
		metric.WithUnit("{check}")); err != nil {
		return nil, err
	}
	if m.panics, err = meter.Int64Counter("portico.upstream.panic_picks",
		metric.WithDescription("Requests sent while no instance was available (panic mode)."),
		metric.WithUnit("{request}")); err != nil {
		return nil, err
	}
	if m.dnsErrors, err = meter.Int64Counter("portico.upstream.discovery.failures",
		metric.WithDescription("Failed DNS lookups; the pool kept its last instances."),
		metric.WithUnit("{lookup}")); err != nil {
		return nil, err
	}
	healthy, err := meter.Int64ObservableGauge("portico.upstream.instance.healthy",
		metric.WithDescription("1 if active health checks pass for the instance (or none are configured), else 0."))
	if err != nil {
		return nil, err
	}
	ejected, err := meter.Int64ObservableGauge("portico.upstream.instance.ejected",
		metric.WithDescription("1 if passive outlier detection has ejected the instance, else 0."))
	if err != nil {
		return nil, err
	}
	inFlight, err := meter.Int64ObservableUpDownCounter("portico.upstream.instance.in_flight",
		metric.WithDescription("Requests in flight to the instance."),
		metric.WithUnit("{request}"))
	if err != nil {
		return nil, err
	}
	latency, err := meter.Float64ObservableGauge("portico.upstream.instance.latency",
		metric.WithDescription("The instance's peak-EWMA latency estimate, in pools that keep one (balancer peak_ewma or slow-response ejection)."),
		metric.WithUnit("s"))
	if err != nil {
		return nil, err
	}
	m.registered, err = meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		now := p.now().UnixNano()
		for _, in := range p.cur.Load().list {
			attrs := metric.WithAttributes(m.pool, attrInstance.String(in.key))
			o.ObserveInt64(healthy, b2i(in.healthy.Load()), attrs)
			o.ObserveInt64(ejected, b2i(in.ejected(now)), attrs)
			o.ObserveInt64(inFlight, in.inFlight.Load(), attrs)
			if p.track && in.lat.seen.Load() {
				o.ObserveFloat64(latency, in.lat.at(now)/float64(time.Second), attrs)
			}
		}
		return nil
	}, healthy, ejected, inFlight, latency)
	if err != nil {
		return nil, err
	}
	return m, nil
}

func (m *metrics) close() {
	_ = m.registered.Unregister()
}

func (m *metrics) ejection(in *instance, reason string) {
	m.ejections.Add(context.Background(), 1, metric.WithAttributes(m.pool, attrInstance.String(in.key), attribute.String("reason", reason)))
}

func (m *metrics) healthCheck(ctx context.Context, in *instance, pass bool) {
	result := "fail"
	if pass {
		result = "pass"
	}
	m.checks.Add(ctx, 1, metric.WithAttributes(m.pool, attrInstance.String(in.key), attribute.String("result", result)))
}

func (m *metrics) panicPick() {
	m.panics.Add(context.Background(), 1, m.poolSet)
}

func (m *metrics) discoveryFailure(ctx context.Context) {
	m.dnsErrors.Add(ctx, 1, m.poolSet)
}

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}
