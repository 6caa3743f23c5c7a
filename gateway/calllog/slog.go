package calllog

import (
	"context"
	"log/slog"
)

// Slog returns a [Sink] that writes one structured log line per record at
// level Info (Warn for failed calls), with the message "call". If l is nil,
// slog.Default() is used.
func Slog(l *slog.Logger) Sink { return slogSink{l: l} }

type slogSink struct{ l *slog.Logger }

func (s slogSink) Write(ctx context.Context, batch []Record) error {
	l := s.l
	if l == nil {
		l = slog.Default()
	}
	for i := range batch {
		r := &batch[i]
		level := slog.LevelInfo
		if r.Failed() {
			level = slog.LevelWarn
		}
		if !l.Enabled(ctx, level) {
			continue
		}
		attrs := []slog.Attr{
			slog.Time("time", r.Time),
			slog.String("tenant", r.Tenant),
			slog.String("consumer", r.Consumer),
			slog.String("api", r.API),
			slog.String("route", r.Route),
			slog.String("method", r.Method),
			slog.Int("status", r.Status),
			slog.Duration("latency", r.Latency),
			slog.Int64("bytes_in", r.BytesIn),
			slog.Int64("bytes_out", r.BytesOut),
			slog.String("request_id", r.RequestID),
		}
		if r.TraceID != "" {
			attrs = append(attrs, slog.String("trace_id", r.TraceID))
		}
		if r.GRPCStatus != "" {
			attrs = append(attrs, slog.String("grpc_status", r.GRPCStatus))
		}
		if r.Upstream != "" {
			attrs = append(attrs, slog.String("upstream", r.Upstream))
		}
		if r.Retries != 0 {
			attrs = append(attrs, slog.Int("retries", r.Retries))
		}
		if r.Hedges != 0 {
			attrs = append(attrs, slog.Int("hedges", r.Hedges), slog.Bool("hedge_won", r.HedgeWon))
		}
		if r.Error != "" {
			attrs = append(attrs, slog.String("error", r.Error))
		}
		if r.Model != "" || r.InputTokens != 0 || r.OutputTokens != 0 {
			attrs = append(attrs, slog.String("model", r.Model),
				slog.Int64("input_tokens", r.InputTokens),
				slog.Int64("output_tokens", r.OutputTokens),
				slog.Float64("cost", r.Cost))
		}
		l.LogAttrs(ctx, level, "call", attrs...)
	}
	return nil
}
