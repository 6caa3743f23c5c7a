package middleware

import (
	"errors"
	"log/slog"
	"net/http"
	"runtime/debug"

	"github.com/portico-dev/portico/internal/problem"
)

// RecoverConfig configures [Recover]. The zero value is ready to use.
type RecoverConfig struct {
	// Logger receives one error record per panic, with the panic value and
	// the stack. If nil, slog.Default() is used.
	Logger *slog.Logger
}

// Recover turns a panic in the handler into a 500 problem document and an
// error log record carrying the stack, which never reaches the client.
// Cookies, redirects and content metadata the handler had set for the
// response it did not send are dropped from the problem response.
//
// A panic with [http.ErrAbortHandler] is re-raised untouched: it is how a
// handler asks the server to abort the response. If the response had
// already started, Recover cannot send a status line again; it logs the
// panic and then aborts the connection with [http.ErrAbortHandler], so the
// client sees a broken response rather than a truncated one that looks
// complete.
func Recover(cfg RecoverConfig) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			rw := wrap(w, stateFrom(r.Context()))
			defer func() {
				v := recover()
				if v == nil {
					return
				}
				if err, ok := v.(error); ok && errors.Is(err, http.ErrAbortHandler) {
					panic(v)
				}
				logger := cfg.Logger
				if logger == nil {
					logger = slog.Default()
				}
				started := rw.Written()
				logger.LogAttrs(r.Context(), slog.LevelError, "panic serving request",
					slog.Any("panic", v),
					slog.String("method", r.Method),
					slog.String("route", RoutePattern(r)),
					slog.String("request_id", RequestIDFrom(r.Context())),
					slog.Bool("response_started", started),
					slog.String("stack", string(debug.Stack())),
				)
				if started {
					panic(http.ErrAbortHandler)
				}
				dropBodyHeaders(rw.Header())
				problem.Error(rw, r, http.StatusInternalServerError, "The server could not complete the request.")
			}()
			next.ServeHTTP(rw, r)
		})
	}
}
