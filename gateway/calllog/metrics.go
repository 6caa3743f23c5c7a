package calllog

import (
	"context"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/portico-dev/portico/internal/grpccode"
)

// meterName is the instrumentation scope of the package's instruments.
const meterName = "github.com/portico-dev/portico/gateway/calllog"

// Metrics returns a [Sink] that counts calls in OpenTelemetry instruments,
// each carrying the call's tenant and API (never the consumer, whose
// number is unbounded):
//
//	portico.calllog.calls     counter of calls, with http.response.status_code and error.type
//	                          (and rpc.grpc.status_code for gRPC and translated calls)
//	portico.calllog.duration  histogram of latencies, in seconds
//	portico.calllog.tokens    counter of AI tokens, with portico.token.type input or output
//	portico.calllog.cost      counter of AI cost
//
// If mp is nil, otel.GetMeterProvider() is used.
func Metrics(mp metric.MeterProvider) Sink {
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	m := mp.Meter(meterName)
	s := &metricSink{}
	s.calls, _ = m.Int64Counter("portico.calllog.calls", metric.WithDescription("Calls through the gateway."), metric.WithUnit("{call}"))
	s.duration, _ = m.Float64Histogram("portico.calllog.duration", metric.WithDescription("Call latency."), metric.WithUnit("s"))
	s.tokens, _ = m.Int64Counter("portico.calllog.tokens", metric.WithDescription("AI tokens."), metric.WithUnit("{token}"))
	s.cost, _ = m.Float64Counter("portico.calllog.cost", metric.WithDescription("AI cost."))
	return s
}

type metricSink struct {
	calls    metric.Int64Counter
	duration metric.Float64Histogram
	tokens   metric.Int64Counter
	cost     metric.Float64Counter
}

func (s *metricSink) Write(ctx context.Context, batch []Record) error {
	for i := range batch {
		r := &batch[i]
		base := []attribute.KeyValue{attribute.String("portico.tenant", r.Tenant), attribute.String("portico.api", r.API)}
		set := metric.WithAttributes(base...)
		attrs := append(base, attribute.Int("http.response.status_code", r.Status), attribute.String("error.type", r.Error))
		if c, ok := grpccode.Number(r.GRPCStatus); ok {
			attrs = append(attrs, attribute.Int("rpc.grpc.status_code", c))
		}
		s.calls.Add(ctx, 1, metric.WithAttributes(attrs...))
		s.duration.Record(ctx, r.Latency.Seconds(), set)
		if r.InputTokens != 0 {
			s.tokens.Add(ctx, r.InputTokens, metric.WithAttributes(append(base, attribute.String("portico.token.type", "input"))...))
		}
		if r.OutputTokens != 0 {
			s.tokens.Add(ctx, r.OutputTokens, metric.WithAttributes(append(base, attribute.String("portico.token.type", "output"))...))
		}
		if r.Cost != 0 {
			s.cost.Add(ctx, r.Cost, set)
		}
	}
	return nil
}
