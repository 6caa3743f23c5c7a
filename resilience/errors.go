package resilience

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/failsafe-go/failsafe-go/budget"
	fsbulkhead "github.com/failsafe-go/failsafe-go/bulkhead"
	"github.com/failsafe-go/failsafe-go/circuitbreaker"
	"github.com/failsafe-go/failsafe-go/retrypolicy"
	"github.com/failsafe-go/failsafe-go/timeout"
)

// Sentinel errors, one per policy. Every error the [Transport] or the
// [Middleware] produces matches one of them with [errors.Is].
var (
	// ErrCircuitOpen reports that a circuit breaker rejected the request
	// without sending it.
	ErrCircuitOpen = errors.New("circuit breaker open")
	// ErrBulkheadFull reports that a bulkhead had no free slot within its
	// wait time.
	ErrBulkheadFull = errors.New("bulkhead full")
	// ErrRetriesExceeded reports that every allowed attempt failed; the
	// error unwraps to the last attempt's cause.
	ErrRetriesExceeded = errors.New("retries exceeded")
	// ErrTimeout reports that a per-attempt or overall timeout expired.
	ErrTimeout = errors.New("timeout")
	// ErrBudgetExhausted reports that the retry budget refused a retry or a
	// hedge; the error unwraps to the last attempt's cause.
	ErrBudgetExhausted = errors.New("retry budget exhausted")
	// ErrLimitExceeded reports that a concurrency limit (fixed or adaptive)
	// of the [Middleware] rejected the request.
	ErrLimitExceeded = errors.New("concurrency limit exceeded")
	// ErrShed reports that the [Middleware] shed a non-critical request to
	// keep capacity for critical ones.
	ErrShed = errors.New("request shed")
	// ErrHedgeLost is what [Abandoned] reports for an attempt canceled
	// because another attempt of a [Hedge] answered first. RoundTrip never
	// returns it: the caller gets the winner's answer.
	ErrHedgeLost = errors.New("hedge lost")
)

// Error is the error a policy returns. It matches its policy's sentinel
// (Kind) with [errors.Is], and also failsafe-go's for the same failure
// (circuitbreaker.ErrOpen for [ErrCircuitOpen], bulkhead.ErrFull,
// timeout.ErrExceeded, retrypolicy.ErrExceeded, budget.ErrExceeded); it
// unwraps to the cause, if any.
type Error struct {
	// Kind is the sentinel of the policy that failed, such as
	// [ErrCircuitOpen].
	Kind error
	// Key is the breaker or bulkhead key (by default the upstream host),
	// if the policy is keyed.
	Key string
	// Attempts is the number of attempts made, for [ErrRetriesExceeded]
	// and [ErrBudgetExhausted].
	Attempts int
	// RetryAfter is how long the caller should wait before trying again,
	// or zero if the policy has no opinion; see [RetryAfter].
	RetryAfter time.Duration
	// Err is the cause: the last attempt's error, or nil.
	Err error
}

// Error implements error.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("portico/resilience: ")
	b.WriteString(e.Kind.Error())
	if e.Key != "" {
		b.WriteString(" for ")
		b.WriteString(e.Key)
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Is reports whether target is e's sentinel, or failsafe-go's for it.
func (e *Error) Is(target error) bool {
	return target == e.Kind || target != nil && target == failsafeTwin(e.Kind)
}

// failsafeTwin returns failsafe-go's sentinel for the failure kind
// stands for, or nil.
func failsafeTwin(kind error) error {
	switch {
	case errors.Is(kind, ErrCircuitOpen):
		return circuitbreaker.ErrOpen
	case errors.Is(kind, ErrBulkheadFull):
		return fsbulkhead.ErrFull
	case errors.Is(kind, ErrTimeout):
		return timeout.ErrExceeded
	case errors.Is(kind, ErrRetriesExceeded):
		return retrypolicy.ErrExceeded
	case errors.Is(kind, ErrBudgetExhausted):
		return budget.ErrExceeded
	}
	return nil
}

// policyError maps an error of a failsafe-go policy onto Portico's: the
// one place where failsafe-go's errors become [*Error]s.
func policyError(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := errors.AsType[*Error](err); ok {
		return err
	}
	for _, kind := range []error{ErrCircuitOpen, ErrBulkheadFull, ErrTimeout, ErrRetriesExceeded, ErrBudgetExhausted} {
		if errors.Is(err, failsafeTwin(kind)) {
			return &Error{Kind: kind, Err: err}
		}
	}
	return err
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// StatusClientClosedRequest is the status [HTTPStatus] gives to a request
// its own caller cancelled (the nginx convention), and the one Portico's
// gateway and AI endpoints record for a client that went away before the
// answer. Nothing is usually written back, since nobody is listening; it
// exists for logs, metrics and call records.
const StatusClientClosedRequest = 499

// HTTPStatus maps an error from a [Transport] (or from any
// http.RoundTripper, failsafe-go's included) to the status a gateway
// should answer with:
//
//   - nil: 200;
//   - [ErrCircuitOpen], [ErrBulkheadFull], [ErrLimitExceeded], [ErrShed]:
//     503 Service Unavailable;
//   - [ErrTimeout], [context.DeadlineExceeded] and network timeouts:
//     504 Gateway Timeout;
//   - [context.Canceled]: [StatusClientClosedRequest];
//   - anything else (refused or reset connections, malformed responses,
//     exhausted retries whose cause is one of those): 502 Bad Gateway.
//
// Wrapped errors are classified by their cause, so an [ErrRetriesExceeded]
// whose last attempt timed out maps to 504.
func HTTPStatus(err error) int {
	if err == nil {
		return http.StatusOK
	}
	err = policyError(err)
	switch {
	case errors.Is(err, ErrCircuitOpen), errors.Is(err, ErrBulkheadFull),
		errors.Is(err, ErrLimitExceeded), errors.Is(err, ErrShed):
		return http.StatusServiceUnavailable
	case errors.Is(err, ErrTimeout), errors.Is(err, context.DeadlineExceeded):
		return http.StatusGatewayTimeout
	case errors.Is(err, context.Canceled):
		return StatusClientClosedRequest
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return http.StatusGatewayTimeout
	}
	return http.StatusBadGateway
}

// RetryAfter returns how long a client should wait before retrying, as
// carried by err: the remaining open time of a circuit breaker, or the
// configured hint of a bulkhead. The boolean is false when err carries no
// hint.
func RetryAfter(err error) (time.Duration, bool) {
	for err != nil {
		var e *Error
		if !errors.As(err, &e) {
			return 0, false
		}
		if e.RetryAfter > 0 {
			return e.RetryAfter, true
		}
		err = e.Err
	}
	return 0, false
}

// neverSent reports whether err proves the request never reached the
// upstream: the connection could not be made (refused, unreachable, DNS
// failure, dial timeout), so no byte of the request was written. Such a
// request is safe to retry whatever its method.
func neverSent(err error) bool {
	if err == nil {
		return false
	}
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Op == "dial" {
		return true
	}
	var dnse *net.DNSError
	return errors.As(err, &dnse)
}
