package middleware

import (
	"context"
	"errors"
	"log/slog"
)

// ErrStoreUnavailable is wrapped by the error of a store whose backend is
// known to be down and which has reported the outage itself, such as a
// Redis store whose circuit breaker is open: a call it skipped, or a probe
// that failed. The middleware then falls back (or fails closed) as for any
// store error, but does not log it: the store reports the outage once,
// not once per request.
var ErrStoreUnavailable = errors.New("portico/middleware: store unavailable")

// logStoreError logs a store failure on l, unless l is nil or the store
// skipped its backend ([ErrStoreUnavailable]).
func logStoreError(ctx context.Context, l *slog.Logger, level slog.Level, msg string, err error, attrs ...slog.Attr) {
	if l == nil || errors.Is(err, ErrStoreUnavailable) {
		return
	}
	l.LogAttrs(ctx, level, msg, append(attrs, slog.String("error", err.Error()))...)
}
