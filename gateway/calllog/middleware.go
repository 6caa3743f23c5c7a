package calllog

import (
	"context"
	"net/http"
	"sync"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/portico-dev/portico/middleware"
)

// MiddlewareConfig configures [Middleware].
type MiddlewareConfig struct {
	// Recorder receives the records. Required.
	Recorder *Recorder
	// API names the API a request belongs to. If nil, the API is left
	// empty unless an inner handler sets it (see [FromContext]), as
	// platform.Guard does.
	API func(*http.Request) string
	// Now is the clock. If nil, time.Now is used.
	Now func() time.Time
}

type recordKey struct{}

// FromContext returns the record being built for the request, so that
// inner handlers add what only they know: the upstream instance, retries,
// the error kind, the consumer when authentication runs inside, AI model
// and tokens. It returns nil when no [Middleware] runs outside. The record
// belongs to the request's handler until it returns, and is reused after:
// do not keep it.
func FromContext(ctx context.Context) *Record {
	r, _ := ctx.Value(recordKey{}).(*Record)
	return r
}

// Middleware returns a middleware that records one [Record] per request
// into cfg.Recorder, after the response is written. The consumer and tenant
// come from middleware.ConsumerFrom when authentication runs outside this
// middleware, or from what inner handlers set through [FromContext]; the
// request ID from middleware.RequestIDFrom; the trace ID from the request's
// span; the route from middleware.RoutePattern (mount it inside
// middleware.Telemetry or middleware.AccessLog, or set Record.Route from
// the router). A panic below is recorded as a 500 of kind "panic" and
// passed on to the recovery middleware outside. Recording never blocks the
// request (see [Recorder.Record]). It panics if cfg.Recorder is nil.
func Middleware(cfg MiddlewareConfig) func(http.Handler) http.Handler {
	if cfg.Recorder == nil {
		panic("portico/calllog: Middleware needs a Recorder")
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	// Records are reused: the Recorder copies each one into its queue.
	pool := sync.Pool{New: func() any { return new(Record) }}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := now()
			rec := pool.Get().(*Record)
			*rec = Record{Time: start, Method: r.Method}
			if r.ContentLength > 0 {
				rec.BytesIn = r.ContentLength
			}
			ctx := r.Context()
			if c := middleware.ConsumerFrom(ctx); c != nil {
				rec.Tenant, rec.Consumer = c.Tenant, c.ID
			}
			if cfg.API != nil {
				rec.API = cfg.API(r)
			}
			ww := middleware.WrapWriter(w)
			r = r.WithContext(context.WithValue(ctx, recordKey{}, rec))
			defer func() {
				rec.Latency = now().Sub(start)
				rec.Status = ww.Status()
				v := recover()
				if v != nil {
					// Recover, outside, answers 500; record that, then let
					// the panic go on.
					rec.Status, rec.Error = http.StatusInternalServerError, "panic"
				}
				if rec.Status == 0 {
					rec.Status = http.StatusOK
				}
				if rec.GRPCStatus == "" {
					rec.GRPCStatus = grpcStatusOf(ww.Header())
				}
				rec.BytesOut = ww.BytesWritten()
				if rec.Route == "" {
					rec.Route = middleware.RoutePattern(r)
				}
				rec.RequestID = middleware.RequestIDFrom(r.Context())
				if sc := trace.SpanContextFromContext(r.Context()); sc.HasTraceID() {
					rec.TraceID = sc.TraceID().String()
				}
				if err := r.Context().Err(); err != nil && rec.Error == "" && rec.Status >= 500 {
					rec.Error = "canceled"
				}
				cfg.Recorder.Record(rec)
				*rec = Record{}
				pool.Put(rec)
				if v != nil {
					panic(v)
				}
			}()
			next.ServeHTTP(ww, r)
		})
	}
}
