package redisstore

import (
	"context"
	"errors"
	"net"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"
)

// tracerName names the tracer of the store's spans.
const tracerName = "github.com/portico-dev/portico/middleware/redisstore"

// WithTracerProvider sets the tracer provider of the store's spans: one
// client span per Redis command (named after the command, like
// "EVALSHA") or pipeline ("PIPELINE"), under the span of the request
// that made the call, with db.system.name (and the older db.system)
// "redis", db.operation.name, db.namespace (the database number),
// server.address and server.port. A reply of nil (a missing key) is not
// an error. [Open] traces through the global tracer provider by default;
// [New] adds the hook to the caller's client only when this option is
// given.
func WithTracerProvider(tp trace.TracerProvider) Option {
	return optionFunc(func(c *config) { c.tracer = tp })
}

// tracingHook is a go-redis hook that makes a client span per command.
type tracingHook struct {
	tracer trace.Tracer
	attrs  []attribute.KeyValue
}

// newTracingHook returns the hook of a client to addr and database db.
func newTracingHook(tp trace.TracerProvider, addr string, db int) *tracingHook {
	if tp == nil {
		tp = otel.GetTracerProvider()
	}
	attrs := []attribute.KeyValue{
		semconv.DBSystemNameRedis,
		attribute.String("db.system", "redis"),
		semconv.DBNamespace(strconv.Itoa(db)),
	}
	if host, port, err := net.SplitHostPort(addr); err == nil {
		attrs = append(attrs, semconv.ServerAddress(host))
		if p, err := strconv.Atoi(port); err == nil {
			attrs = append(attrs, semconv.ServerPort(p))
		}
	}
	return &tracingHook{tracer: tp.Tracer(tracerName), attrs: attrs}
}

func (h *tracingHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *tracingHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		op := strings.ToUpper(cmd.Name())
		ctx, span := h.start(ctx, op, 1)
		err := next(ctx, cmd)
		h.end(span, err)
		return err
	}
}

func (h *tracingHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		ctx, span := h.start(ctx, "PIPELINE", len(cmds))
		err := next(ctx, cmds)
		h.end(span, err)
		return err
	}
}

func (h *tracingHook) start(ctx context.Context, op string, n int) (context.Context, trace.Span) {
	attrs := append(h.attrs[:len(h.attrs):len(h.attrs)], semconv.DBOperationName(op))
	if n > 1 {
		attrs = append(attrs, semconv.DBOperationBatchSize(n))
	}
	return h.tracer.Start(ctx, op, trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...))
}

func (h *tracingHook) end(span trace.Span, err error) {
	if err != nil && !errors.Is(err, redis.Nil) {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	}
	span.End()
}
