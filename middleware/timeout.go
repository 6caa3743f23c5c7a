package middleware

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/portico-dev/portico/internal/problem"
)

// TimeoutConfig configures [Timeout]. The zero value is ready to use.
type TimeoutConfig struct {
	// Timeout is the time a handler has to start its response.
	// If zero, 30 seconds is used.
	Timeout time.Duration
	// Skip reports whether a request runs without a deadline, for routes
	// that stream for as long as the client stays. If nil, [IsStreaming]
	// is used: WebSocket upgrades and Server-Sent Events are skipped.
	Skip func(*http.Request) bool
}

// errTimeout is the cause of a context canceled by Timeout.
var errTimeout = errors.New("portico/middleware: request deadline exceeded")

// Timeout gives each request a deadline on its context. A handler that
// overruns it without having written anything gets a 504 problem document.
//
// Unlike [http.TimeoutHandler], Timeout buffers nothing and starts no
// goroutine: the handler runs on the request's goroutine and writes
// straight through, so streamed responses flow as they are produced and a
// handler that has started its response simply finishes it. At the
// deadline the context is canceled, which is how the handler learns to
// stop; when it returns without having written, Timeout answers 504. If it
// ignored the context and tries to write after the deadline, its writes fail
// with [http.ErrHandlerTimeout] and the client still gets the 504, without
// the cookies, redirects and content metadata the handler had set.
// Timeout panics if the timeout is negative.
func Timeout(cfg TimeoutConfig) func(http.Handler) http.Handler {
	d := cfg.Timeout
	if d < 0 {
		panic(fmt.Sprintf("portico/middleware: Timeout needs a timeout >= 0, got %v", d))
	}
	if d == 0 {
		d = 30 * time.Second
	}
	skip := cfg.Skip
	if skip == nil {
		skip = IsStreaming
	}
	detail := "The server did not answer within " + d.String() + "."
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if skip(r) {
				next.ServeHTTP(w, r)
				return
			}
			ctx, cancel := context.WithTimeoutCause(r.Context(), d, errTimeout)
			defer cancel()
			var tw *timeoutWriter
			if s := stateFrom(ctx); s != nil && !s.twUsed {
				s.twUsed = true
				tw = &s.tw
			} else {
				tw = new(timeoutWriter)
			}
			*tw = timeoutWriter{w: w, ctx: ctx}
			r2 := r.WithContext(ctx)
			next.ServeHTTP(tw, r2)
			noteRoute(stateFrom(ctx), r2)
			if !tw.wrote && (tw.late || tw.expired()) {
				dropBodyHeaders(w.Header())
				problem.Error(w, r2, http.StatusGatewayTimeout, detail)
			}
		})
	}
}

// IsStreaming reports whether r asks for a response that lasts as long as
// the client wants: a protocol upgrade such as WebSocket, or Server-Sent
// Events ("Accept: text/event-stream").
func IsStreaming(r *http.Request) bool {
	if r.Header.Get("Upgrade") != "" {
		return true
	}
	for _, v := range r.Header["Accept"] {
		if strings.Contains(v, "text/event-stream") {
			return true
		}
	}
	return false
}

// timeoutWriter passes writes through until the deadline; once it has
// passed with nothing written, it drops them so the 504 can be sent.
type timeoutWriter struct {
	w     http.ResponseWriter
	ctx   context.Context
	wrote bool // the response has started
	late  bool // a write was refused because the deadline had passed
}

// start reports whether the handler may write, marking the response as
// started.
func (tw *timeoutWriter) start() bool {
	if tw.wrote {
		return true
	}
	if tw.late || tw.expired() {
		tw.late = true
		return false
	}
	tw.wrote = true
	return true
}

// expired reports whether Timeout's own deadline has passed (not the
// client's cancellation or an outer deadline).
func (tw *timeoutWriter) expired() bool {
	return errors.Is(context.Cause(tw.ctx), errTimeout)
}

func (tw *timeoutWriter) Header() http.Header { return tw.w.Header() }

func (tw *timeoutWriter) WriteHeader(code int) {
	if code >= 100 && code <= 199 && code != http.StatusSwitchingProtocols {
		if !tw.wrote && !tw.late && !tw.expired() {
			tw.w.WriteHeader(code)
		}
		return
	}
	if tw.start() {
		tw.w.WriteHeader(code)
	}
}

func (tw *timeoutWriter) Write(p []byte) (int, error) {
	if !tw.start() {
		return 0, http.ErrHandlerTimeout
	}
	return tw.w.Write(p)
}

func (tw *timeoutWriter) WriteString(s string) (int, error) {
	if !tw.start() {
		return 0, http.ErrHandlerTimeout
	}
	return io.WriteString(tw.w, s)
}

func (tw *timeoutWriter) ReadFrom(src io.Reader) (int64, error) {
	if !tw.start() {
		return 0, http.ErrHandlerTimeout
	}
	if rf, ok := tw.w.(io.ReaderFrom); ok {
		return rf.ReadFrom(src)
	}
	return io.Copy(writerOnly{tw.w}, src)
}

func (tw *timeoutWriter) Flush() { _ = tw.FlushError() }

func (tw *timeoutWriter) FlushError() error {
	if !tw.start() {
		return http.ErrHandlerTimeout
	}
	return http.NewResponseController(tw.w).Flush()
}

func (tw *timeoutWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if !tw.start() {
		return nil, nil, http.ErrHandlerTimeout
	}
	return http.NewResponseController(tw.w).Hijack()
}

func (tw *timeoutWriter) Unwrap() http.ResponseWriter { return tw.w }
