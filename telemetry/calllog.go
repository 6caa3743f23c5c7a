package telemetry

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/log"

	"github.com/portico-dev/portico/gateway/calllog"
)

// CallLog returns a calllog.Sink that emits one OpenTelemetry log record
// per call record through lp, such as [Providers].LoggerProvider, which
// exports them over OTLP. Wrap it in calllog.Async so that a slow
// collector never delays the other sinks. The body is "call"; the record's fields are
// attributes (tenant, consumer, api, http.route, http.request.method,
// http.response.status_code, …), its trace ID and request ID included, and
// the severity is Info (Warn for failed calls).
func CallLog(lp log.LoggerProvider) calllog.Sink {
	return callLogSink{l: lp.Logger("github.com/portico-dev/portico/gateway/calllog")}
}

type callLogSink struct{ l log.Logger }

func (s callLogSink) Write(ctx context.Context, batch []calllog.Record) error {
	for i := range batch {
		r := &batch[i]
		var rec log.Record
		rec.SetTimestamp(r.Time)
		rec.SetBody(attribute.StringValue("call"))
		rec.SetSeverity(log.SeverityInfo)
		if r.Failed() {
			rec.SetSeverity(log.SeverityWarn)
		}
		rec.AddAttributes(
			attribute.String("tenant", r.Tenant),
			attribute.String("consumer", r.Consumer),
			attribute.String("api", r.API),
			attribute.String("http.route", r.Route),
			attribute.String("http.request.method", r.Method),
			attribute.Int("http.response.status_code", r.Status),
			attribute.Float64("duration_s", r.Latency.Seconds()),
			attribute.Int64("bytes_in", r.BytesIn),
			attribute.Int64("bytes_out", r.BytesOut),
			attribute.String("request_id", r.RequestID),
			attribute.String("trace_id", r.TraceID),
		)
		if r.Upstream != "" {
			rec.AddAttributes(attribute.String("upstream", r.Upstream), attribute.Int("retries", r.Retries), attribute.Int("hedges", r.Hedges))
		}
		if r.Error != "" {
			rec.AddAttributes(attribute.String("error.type", r.Error))
		}
		if r.Model != "" {
			rec.AddAttributes(attribute.String("gen_ai.request.model", r.Model),
				attribute.Int64("gen_ai.usage.input_tokens", r.InputTokens),
				attribute.Int64("gen_ai.usage.output_tokens", r.OutputTokens),
				attribute.Float64("cost", r.Cost))
		}
		s.l.Emit(ctx, rec)
	}
	return nil
}
