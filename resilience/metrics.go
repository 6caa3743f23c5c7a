package resilience

import (
	"context"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// metrics holds a transport's OpenTelemetry instruments:
//
//   - portico.resilience.retries: retries sent;
//   - portico.resilience.hedges: hedged attempts sent;
//   - portico.resilience.hedge_wins: requests answered by a hedged
//     attempt rather than the first;
//   - portico.resilience.rejections: requests refused, by policy
//     (circuit_breaker, bulkhead, budget);
//   - portico.resilience.breaker.state: an observable gauge per breaker
//     key (0 closed, 1 half-open, 2 open).
type metrics struct {
	retries    metric.Int64Counter
	hedges     metric.Int64Counter
	hedgeWins  metric.Int64Counter
	rejections metric.Int64Counter
	reg        metric.Registration
}

func newMetrics(mp metric.MeterProvider, t *Transport) *metrics {
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	m := mp.Meter("github.com/portico-dev/portico/resilience")
	out := &metrics{}
	out.retries, _ = m.Int64Counter("portico.resilience.retries",
		metric.WithDescription("Retries sent."), metric.WithUnit("{retry}"))
	out.hedges, _ = m.Int64Counter("portico.resilience.hedges",
		metric.WithDescription("Hedged attempts sent."), metric.WithUnit("{attempt}"))
	out.hedgeWins, _ = m.Int64Counter("portico.resilience.hedge_wins",
		metric.WithDescription("Requests answered by a hedged attempt."), metric.WithUnit("{request}"))
	out.rejections, _ = m.Int64Counter("portico.resilience.rejections",
		metric.WithDescription("Requests refused by a policy."), metric.WithUnit("{request}"))
	if t.breakers != nil {
		gauge, err := m.Int64ObservableGauge("portico.resilience.breaker.state",
			metric.WithDescription("Circuit breaker state: 0 closed, 1 half-open, 2 open."))
		if err == nil {
			bs := t.breakers
			out.reg, _ = m.RegisterCallback(func(_ context.Context, o metric.Observer) error {
				for _, s := range bs.states() {
					v := int64(0)
					switch s.State {
					case StateHalfOpen:
						v = 1
					case StateOpen:
						v = 2
					}
					o.ObserveInt64(gauge, v, metric.WithAttributes(attribute.String("portico.key", s.Key)))
				}
				return nil
			}, gauge)
		}
	}
	return out
}

func hostAttr(host string) metric.MeasurementOption {
	return metric.WithAttributes(attribute.String("server.address", host))
}

func (m *metrics) retry(ctx context.Context, host string) {
	if m.retries != nil {
		m.retries.Add(ctx, 1, hostAttr(host))
	}
}

func (m *metrics) hedge(ctx context.Context, host string) {
	if m.hedges != nil {
		m.hedges.Add(ctx, 1, hostAttr(host))
	}
}

func (m *metrics) hedgeWon(ctx context.Context, host string) {
	if m.hedgeWins != nil {
		m.hedgeWins.Add(ctx, 1, hostAttr(host))
	}
}

func (m *metrics) reject(ctx context.Context, policy, key string) {
	if m.rejections != nil {
		m.rejections.Add(ctx, 1, metric.WithAttributes(
			attribute.String("portico.policy", policy), attribute.String("portico.key", key)))
	}
}

func (m *metrics) close() error {
	if m.reg == nil {
		return nil
	}
	return m.reg.Unregister()
}
