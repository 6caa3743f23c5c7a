package middleware

import (
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/portico-dev/portico/middleware/internal/forwarded"
)

// AccessLogConfig configures [AccessLog]. The zero value is ready to use.
type AccessLogConfig struct {
	// Logger receives the records. If nil, slog.Default() is used at each
	// request, so a later slog.SetDefault is honoured.
	Logger *slog.Logger
	// Message is the record's message. If empty, "request" is used.
	Message string
	// Level returns the level of a request's record from its status. If
	// nil, 5xx are logged at Error, 4xx at Warn and the rest at Info.
	Level func(status int) slog.Level
	// SampleSuccess, if greater than 1, logs only one in SampleSuccess of
	// the requests answered 1xx, 2xx or 3xx; 4xx and 5xx are always logged.
	// By default every request is logged.
	SampleSuccess int
	// Skip reports whether a request goes unlogged, such as health checks.
	// By default every request is logged.
	Skip func(*http.Request) bool
}

// AccessLog writes one structured record per request, after the handler
// has returned, with these attributes:
//
//	method       request method
//	route        route template from [RoutePattern] ("" if none matched);
//	             never the raw path, to keep cardinality low
//	status       status code sent (500 if the handler panicked before writing)
//	bytes_in     request body bytes (read, or declared by Content-Length)
//	bytes_out    response body bytes written
//	duration     time from the arrival of the request at the first middleware
//	             of this package to the return of the handler
//	request_id   from [RequestID], if it ran
//	trace_id     and span_id, from the span in the context, if valid
//	client_ip    from [ClientIP] if it ran, else the peer address
//	user_agent   the User-Agent header
//
// Nothing is computed when the logger is not enabled at the level.
func AccessLog(cfg AccessLogConfig) func(http.Handler) http.Handler {
	msg := cfg.Message
	if msg == "" {
		msg = "request"
	}
	level := cfg.Level
	if level == nil {
		level = defaultLevel
	}
	if cfg.SampleSuccess < 0 {
		panic("portico/middleware: AccessLog needs SampleSuccess >= 0")
	}
	every := uint64(max(cfg.SampleSuccess, 1))
	var seen atomic.Uint64
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if cfg.Skip != nil && cfg.Skip(r) {
				next.ServeHTTP(w, r)
				return
			}
			ctx := r.Context()
			s := stateFrom(ctx)
			if s == nil {
				s = newState(ctx)
				ctx = s
			}
			start := s.started()
			counter, r2 := countBody(ctx, s, r)
			rw := wrap(w, s)
			done := false
			defer func() {
				noteRoute(s, r2)
				status := rw.Status()
				if !done && !rw.Written() {
					status = http.StatusInternalServerError
				} else if status == 0 {
					status = http.StatusOK
				}
				if status < 400 && every > 1 && seen.Add(1)%every != 1 {
					return
				}
				logger := cfg.Logger
				if logger == nil {
					logger = slog.Default()
				}
				lvl := level(status)
				if !logger.Enabled(r2.Context(), lvl) {
					return
				}
				logRequest(logger, lvl, msg, r2, status, bytesIn(r2, counter), rw.BytesWritten(), time.Since(start))
			}()
			next.ServeHTTP(rw, r2)
			done = true
		})
	}
}

// defaultLevel logs server errors at Error, client errors at Warn and the
// rest at Info.
func defaultLevel(status int) slog.Level {
	switch {
	case status >= 500:
		return slog.LevelError
	case status >= 400:
		return slog.LevelWarn
	}
	return slog.LevelInfo
}

// logRequest builds and emits the record.
func logRequest(logger *slog.Logger, lvl slog.Level, msg string, r *http.Request, status int, in, out int64, d time.Duration) {
	ctx := r.Context()
	attrs := make([]slog.Attr, 0, 12)
	attrs = append(attrs,
		slog.String("method", r.Method),
		slog.String("route", routeAfter(r)),
		slog.Int("status", status),
		slog.Int64("bytes_in", in),
		slog.Int64("bytes_out", out),
		slog.Duration("duration", d),
	)
	if id := RequestIDFrom(ctx); id != "" {
		attrs = append(attrs, slog.String("request_id", id))
	}
	sc := trace.SpanContextFromContext(ctx)
	if !sc.IsValid() {
		if s := stateFrom(ctx); s != nil {
			sc = s.span
		}
	}
	if sc.IsValid() {
		attrs = append(attrs, slog.String("trace_id", sc.TraceID().String()), slog.String("span_id", sc.SpanID().String()))
	}
	if ip, ok := ClientIPFrom(ctx); ok {
		attrs = append(attrs, slog.String("client_ip", addrString(ip, r.RemoteAddr)))
	} else if a, ok := forwarded.PeerAddr(r.RemoteAddr); ok {
		attrs = append(attrs, slog.String("client_ip", addrString(a, r.RemoteAddr)))
	}
	attrs = append(attrs, slog.String("user_agent", r.UserAgent()))
	logger.LogAttrs(ctx, lvl, msg, attrs...)
}
