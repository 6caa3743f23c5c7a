package middleware

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"time"

	"github.com/portico-dev/portico/internal/problem"
)

// ErrBodyTimeout is the error a request body read fails with when the
// client sends the body too slowly for [BodyTimeout]; the request's
// context is canceled with it as the cause, so work done for the request
// (an upstream call) stops too.
var ErrBodyTimeout = errors.New("portico/middleware: the request body arrived too slowly")

// BodyTimeoutConfig configures [BodyTimeout]. The zero value is ready to
// use: a body may stall 30 seconds between bytes, and must average 240
// bytes a second once 5 seconds have passed.
type BodyTimeoutConfig struct {
	// Stall is how long a read of the body may wait for the client's next
	// bytes. If zero, 30 seconds; if negative, a read may wait forever.
	Stall time.Duration
	// MinRate is the slowest average pace, in bytes per second, at which
	// the client may send the body once Grace has passed: a body of n bytes
	// may keep the server waiting Grace + n/MinRate in all, so a large
	// upload that keeps coming is never cut while one that trickles is. If
	// zero, 240 bytes per second; if negative, there is no minimum.
	MinRate int64
	// Grace is how long the server waits for body bytes before MinRate
	// applies. If zero, 5 seconds.
	Grace time.Duration
	// Total bounds the time the server spends waiting for the whole body,
	// however fast it comes. By default (zero), there is no such bound:
	// MinRate bounds the wait by the body's size.
	Total time.Duration
	// Skip reports whether a request's body is exempt from the limits. By
	// default, none is.
	Skip func(*http.Request) bool
}

// bodyLimits are a validated BodyTimeoutConfig; a limit of math.MaxInt64
// (or a rate of 0) is off.
type bodyLimits struct {
	stall, grace, total time.Duration
	rate                float64 // bytes per second; 0 is no minimum
	skip                func(*http.Request) bool
}

func newBodyLimits(cfg BodyTimeoutConfig) bodyLimits {
	if cfg.Grace < 0 {
		panic(fmt.Sprintf("portico/middleware: BodyTimeout needs a grace >= 0, got %v", cfg.Grace))
	}
	if cfg.Total < 0 {
		panic(fmt.Sprintf("portico/middleware: BodyTimeout needs a total >= 0, got %v", cfg.Total))
	}
	l := bodyLimits{stall: cfg.Stall, grace: cfg.Grace, total: cfg.Total, skip: cfg.Skip}
	switch {
	case l.stall == 0:
		l.stall = 30 * time.Second
	case l.stall < 0:
		l.stall = math.MaxInt64
	}
	if l.grace == 0 {
		l.grace = 5 * time.Second
	}
	if l.total == 0 {
		l.total = math.MaxInt64
	}
	switch {
	case cfg.MinRate == 0:
		l.rate = 240
	case cfg.MinRate > 0:
		l.rate = float64(cfg.MinRate)
	}
	return l
}

// off reports whether no limit applies.
func (l bodyLimits) off() bool {
	return l.stall == math.MaxInt64 && l.total == math.MaxInt64 && l.rate == 0
}

// BodyTimeout cuts off clients that send a request body too slowly: one
// that stalls between bytes, or trickles below a minimum average rate, or
// takes longer than a total bound (see [BodyTimeoutConfig]). Only the time
// spent waiting on the client counts: a handler that reads the body late,
// or slowly, is never held against it.
//
// When a limit is crossed, the read in progress fails with an error
// wrapping [ErrBodyTimeout], the request's context is canceled with that
// cause, and the connection's reads are stopped (through
// [http.ResponseController]), so a proxied request is abandoned and its
// upstream connection freed. If the handler then has not written a
// response, BodyTimeout answers 408 with a problem document, and closes an
// HTTP/1 connection.
//
// The limits guard the body while the client owes it before a response:
// once the handler has started its response, the exchange is full duplex
// (a gRPC or WebSocket stream over HTTP/2) and the client may pause as
// its protocol allows. Requests without a body pass untouched, and
// response writing (a long Server-Sent Events stream) is never bounded.
// BodyTimeout panics if Grace or Total is negative.
func BodyTimeout(cfg BodyTimeoutConfig) func(http.Handler) http.Handler {
	lim := newBodyLimits(cfg)
	return func(next http.Handler) http.Handler {
		if lim.off() {
			return next
		}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Body == nil || r.Body == http.NoBody || (lim.skip != nil && lim.skip(r)) {
				next.ServeHTTP(w, r)
				return
			}
			ctx, cancel := context.WithCancelCause(r.Context())
			defer cancel(nil)
			b := &pacedBody{rc: r.Body, lim: &lim, w: w, cancel: cancel, resp: startWriter{w: w}, h1: r.ProtoMajor == 1}
			sw := &b.resp
			r2 := r.WithContext(ctx)
			r2.Body = b
			next.ServeHTTP(sw, r2)
			tripped := b.finish()
			if tripped != nil && !sw.started.Load() {
				if r.ProtoMajor == 1 {
					w.Header().Set("Connection", "close")
				}
				dropBodyHeaders(w.Header())
				problem.Write(w, r, problem.New(http.StatusRequestTimeout,
					"The request body did not arrive in time: "+bodyReason(tripped)+"."))
			}
		})
	}
}

// bodyTimeoutError says which limit a body crossed.
type bodyTimeoutError struct{ reason string }

func (e *bodyTimeoutError) Error() string { return ErrBodyTimeout.Error() + ": " + e.reason }
func (e *bodyTimeoutError) Unwrap() error { return ErrBodyTimeout }

// bodyReason returns what a bodyTimeoutError says about the limit.
func bodyReason(err error) string {
	if bt, ok := errors.AsType[*bodyTimeoutError](err); ok {
		return bt.reason
	}
	return "it stalled"
}
