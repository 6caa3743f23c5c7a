package middleware

import (
	"context"
	"net/http"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/go-chi/chi/v5"
	"go.opentelemetry.io/otel/trace"

	"github.com/portico-dev/portico/internal/requestid"
	"github.com/portico-dev/portico/internal/traceid"
)

// stateKey finds the per-request state in a context.
type stateKey struct{}

// state is what the middleware of one request share: the route slot, the
// client IP, the request ID header value and a spare ResponseWriter. The
// first middleware that needs it installs it, and it is its own context
// node, so the whole record costs one allocation and one request copy.
//
// It also carries a chi routing context: a chi router mounted inside finds
// it and fills it in place, so the route pattern is still readable after
// the router has returned (chi recycles its own context at that point).
type state struct {
	context.Context

	route    string
	ip       netip.Addr
	ipOK     bool
	idHeader [1]string
	id       requestid.Value // set by the RequestID that installed the state
	rw       ResponseWriter
	rwUsed   bool
	body     countingBody
	bodyUsed bool
	ownChi   bool
	chi      atomic.Pointer[chi.Context] // made when a chi router first asks
	span     trace.SpanContext           // the server span, for middleware outside Telemetry
	trace    traceid.ID                  // the request's trace ID (the server span's or the caller's), for problem documents
	start    time.Time                   // when the first middleware saw the request
	tw       timeoutWriter
	twUsed   bool
}

// Value answers the state and chi routing keys, and asks the parent for
// the others.
func (s *state) Value(key any) any {
	switch key {
	case stateKey{}:
		return s
	case traceid.Key{}:
		if s.trace != (traceid.ID{}) {
			return s.trace
		}
	case requestid.Key{}:
		if s.id.ID != "" {
			return &s.id
		}
	case chi.RouteCtxKey:
		if s.ownChi {
			return s.chiContext()
		}
	}
	return s.Context.Value(key)
}

// chiContext returns the chi routing context this state offers, making it
// on first use; Value may be called from several goroutines.
func (s *state) chiContext() *chi.Context {
	if rc := s.chi.Load(); rc != nil {
		return rc
	}
	rc := chi.NewRouteContext()
	if s.chi.CompareAndSwap(nil, rc) {
		return rc
	}
	return s.chi.Load()
}

// String names the node when a context is printed.
func (s *state) String() string { return "portico/middleware.state" }

// stateFrom returns the request's state, or nil.
func stateFrom(ctx context.Context) *state {
	s, _ := ctx.Value(stateKey{}).(*state)
	return s
}

// withState returns r's state, installing one in a copy of r if needed.
func withState(r *http.Request) (*state, *http.Request) {
	if s := stateFrom(r.Context()); s != nil {
		return s, r
	}
	s := newState(r.Context())
	return s, r.WithContext(s)
}

// newState returns a state whose parent is ctx. It leaves chi's slot out
// when a chi router already routes this request, so that inner routers keep
// seeing their parent's context.
func newState(ctx context.Context) *state {
	_, routed := ctx.Value(chi.RouteCtxKey).(*chi.Context)
	return &state{Context: ctx, ownChi: !routed}
}

// started returns when the request arrived: the state's clock reading, so
// that the middleware of one request read the clock once.
func (s *state) started() time.Time {
	if s.start.IsZero() {
		s.start = time.Now()
	}
	return s.start
}

// wrap returns the writer the middleware should hand down: w itself if it
// is already a ResponseWriter, else the state's spare one, else a new one.
func wrap(w http.ResponseWriter, s *state) *ResponseWriter {
	if rw, ok := w.(*ResponseWriter); ok {
		return rw
	}
	if s != nil && !s.rwUsed {
		s.rwUsed = true
		s.rw = ResponseWriter{w: w}
		return &s.rw
	}
	return &ResponseWriter{w: w}
}
