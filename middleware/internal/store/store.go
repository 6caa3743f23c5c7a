// Package store holds what the stores of middleware and its subpackages
// share: the sentinel of a store whose backend is down, and the one way a
// failed store call is logged.
package store

import (
	"context"
	"errors"
	"log/slog"
)

// ErrUnavailable is middleware.ErrStoreUnavailable.
var ErrUnavailable = errors.New("portico/middleware: store unavailable")

// LogError logs a store failure on l, unless l is nil or the store
// skipped its backend ([ErrUnavailable]).
func LogError(ctx context.Context, l *slog.Logger, level slog.Level, msg string, err error, attrs ...slog.Attr) {
	if l == nil || errors.Is(err, ErrUnavailable) {
		return
	}
	l.LogAttrs(ctx, level, msg, append(attrs, slog.String("error", err.Error()))...)
}
