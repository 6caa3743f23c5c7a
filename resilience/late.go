package resilience

import (
	"errors"
	"io"
	"net/http"
	"sync/atomic"
)

// LateOutcome is implemented by a response body whose exchange's outcome
// is known only once the body has been read to its end, such as a gRPC
// response whose status comes in trailers after the messages. A
// RoundTripper below a [Transport] that wraps response bodies (a load
// balancer's pool) forwards it from the body it wraps.
//
// When an attempt answers with such a body and its response counts as a
// success, the attempt's circuit breaker records its outcome only when
// the body ends: at io.EOF, a failure if Failed reports one, else a
// success. A body closed before its end (the client went away) gives
// back the breaker's permit unrecorded. Retries are not affected: the
// response has already been returned.
type LateOutcome interface {
	io.ReadCloser
	// Failed reports, once a Read has returned io.EOF, whether the
	// exchange failed on the upstream's side after all.
	Failed() bool
}

// lateSettle records the outcome of a [LateOutcome] body in breaker b
// with permit p when the body ends.
type lateSettle struct {
	LateOutcome
	b    *breaker
	p    permit
	done atomic.Bool
}

func (l *lateSettle) Read(buf []byte) (int, error) {
	n, err := l.LateOutcome.Read(buf)
	if err != nil && l.done.CompareAndSwap(false, true) {
		if errors.Is(err, io.EOF) {
			l.b.record(l.p, l.Failed())
		} else {
			l.b.release(l.p)
		}
	}
	return n, err
}

func (l *lateSettle) Close() error {
	err := l.LateOutcome.Close()
	if l.done.CompareAndSwap(false, true) {
		l.b.release(l.p)
	}
	return err
}

// settleLate puts off recording the successful outcome of resp in b until
// its body ends, if the body is a [LateOutcome]. It reports whether it did.
func settleLate(resp *http.Response, b *breaker, p permit) bool {
	if resp == nil {
		return false
	}
	lo, ok := resp.Body.(LateOutcome)
	if !ok {
		return false
	}
	resp.Body = &lateSettle{LateOutcome: lo, b: b, p: p}
	return true
}
