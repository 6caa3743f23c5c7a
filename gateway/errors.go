package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"

	"github.com/portico-dev/portico/internal/problem"
	"github.com/portico-dev/portico/middleware"
	"github.com/portico-dev/portico/resilience"
)

// FieldError is a configuration mistake: Path names the field, as in
// "routes[2].upstream", and Line is its line in the config file (0 when
// the configuration came from Go code).
type FieldError struct {
	// File is the config file's name, if any.
	File string
	// Line is the field's line in File, or 0.
	Line int
	// Path names the field, such as "upstreams[0].instances[1].url".
	Path string
	// Msg says what is wrong and how to fix it.
	Msg string
}

// Error formats the error as "portico/gateway: file:line: path: msg".
func (e *FieldError) Error() string {
	loc := ""
	switch {
	case e.File != "" && e.Line > 0:
		loc = e.File + ":" + strconv.Itoa(e.Line) + ": "
	case e.Line > 0:
		loc = "line " + strconv.Itoa(e.Line) + ": "
	}
	if e.Path == "" {
		return "portico/gateway: " + loc + e.Msg
	}
	return "portico/gateway: " + loc + e.Path + ": " + e.Msg
}

func fieldErr(path, format string, args ...any) *FieldError {
	return &FieldError{Path: path, Msg: fmt.Sprintf(format, args...)}
}

// writeProblem writes a problem document.
func writeProblem(w http.ResponseWriter, r *http.Request, status int, detail string) {
	problem.Error(w, r, status, detail)
}

// proxyError answers a request whose upstream exchange failed. The detail
// never names the upstream's address.
func (g *Gateway) proxyError(w http.ResponseWriter, r *http.Request, err error) {
	status, detail := classify(r, err)
	if ra, ok := retryAfter(err); ok {
		w.Header().Set("Retry-After", ra)
	}
	if status >= 500 {
		g.cfg.logger.LogAttrs(r.Context(), levelFor(status), "upstream request failed",
			slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.Int("status", status), slog.Any("error", err))
	}
	writeProblem(w, r, status, detail)
}

func classify(r *http.Request, err error) (int, string) {
	var mbe *http.MaxBytesError
	var ne net.Error
	switch {
	case errors.As(err, &mbe):
		return http.StatusRequestEntityTooLarge, "the request body is larger than this route accepts"
	case errors.Is(err, middleware.ErrBodyTimeout) || errors.Is(context.Cause(r.Context()), middleware.ErrBodyTimeout):
		// The server cut a client that sent its body too slowly; the
		// upstream request was canceled with it.
		return http.StatusRequestTimeout, "the request body did not arrive in time"
	case r.Context().Err() != nil && errors.Is(err, context.Canceled):
		return resilience.StatusClientClosedRequest, "the client closed the request"
	}
	if errors.As(err, &ne) && ne.Timeout() {
		return http.StatusGatewayTimeout, detailFor(http.StatusGatewayTimeout)
	}
	s := policyStatus(err)
	if s < 500 {
		// Any other failure of the exchange is the upstream's.
		s = http.StatusBadGateway
	}
	return s, detailFor(s)
}

func detailFor(status int) string {
	switch status {
	case http.StatusGatewayTimeout:
		return "the upstream did not answer in time"
	case http.StatusServiceUnavailable:
		return "the upstream is unavailable; try again later"
	case http.StatusTooManyRequests:
		return "too many requests for this route; try again later"
	default:
		return "the upstream could not be reached or sent a broken response"
	}
}
