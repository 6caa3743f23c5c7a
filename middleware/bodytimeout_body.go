package middleware

import (
	"bufio"
	"context"
	"io"
	"math"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// limit names the bound that sets a read's deadline.
type limit uint8

const (
	limitStall limit = iota
	limitRate
	limitTotal
)

// pacedBody holds the client to the limits while the handler reads the
// body. Reads come from one goroutine at a time, but the timer that cuts a
// stalled read fires on another, so the state is under mu.
type pacedBody struct {
	rc     io.ReadCloser
	lim    *bodyLimits
	w      http.ResponseWriter // the server's, for its connection's read deadline
	cancel context.CancelCauseFunc
	resp   startWriter // the handler's writer, in the same allocation
	h1     bool        // HTTP/1: the server reads the rest of the body itself

	mu       sync.Mutex
	timer    *time.Timer
	reading  bool          // a read is waiting on the client
	deadline time.Time     // when the read in progress is cut
	bound    limit         // the limit that set deadline
	waited   time.Duration // time spent waiting on the client so far
	n        int64         // bytes read so far
	eof      bool
	done     bool  // the handler has returned
	err      error // set once a limit was crossed
}

func (b *pacedBody) Read(p []byte) (int, error) {
	b.mu.Lock()
	if b.err != nil {
		b.mu.Unlock()
		return 0, b.err
	}
	if b.eof || b.done || b.resp.started.Load() {
		b.mu.Unlock()
		return b.rc.Read(p)
	}
	wait, bound := b.budget()
	if wait <= 0 {
		b.tripLocked(bound)
		b.mu.Unlock()
		return 0, b.err
	}
	start := time.Now()
	b.reading, b.deadline, b.bound = true, start.Add(wait), bound
	if wait != math.MaxInt64 {
		if b.timer == nil {
			b.timer = time.AfterFunc(wait, b.fire)
		} else {
			b.timer.Reset(wait)
		}
	}
	b.mu.Unlock()

	n, err := b.rc.Read(p)

	b.mu.Lock()
	defer b.mu.Unlock()
	if b.timer != nil {
		b.timer.Stop()
	}
	b.reading = false
	b.waited += time.Since(start)
	b.n += int64(n)
	if err == io.EOF {
		b.eof = true
	}
	if b.err != nil {
		err = b.err
	}
	return n, err
}

func (b *pacedBody) Close() error { return b.rc.Close() }

// budget returns how long the next read may wait on the client, and the
// limit that says so; math.MaxInt64 is no limit.
func (b *pacedBody) budget() (time.Duration, limit) {
	wait, bound := b.lim.stall, limitStall
	if b.lim.rate > 0 {
		allowed := float64(b.lim.grace) + float64(b.n)/b.lim.rate*float64(time.Second) - float64(b.waited)
		if allowed < float64(wait) {
			wait, bound = time.Duration(allowed), limitRate
		}
	}
	if b.lim.total != math.MaxInt64 {
		if t := b.lim.total - b.waited; t < wait {
			wait, bound = t, limitTotal
		}
	}
	return wait, bound
}

// fire cuts the read in progress if its deadline has passed. A timer
// armed for an earlier read may fire late; the deadline tells.
func (b *pacedBody) fire() {
	b.mu.Lock()
	defer b.mu.Unlock()
	// After the handler returns, an HTTP/2 stream's reads end with it, and
	// its writer must not be touched; an HTTP/1 server still waits for the
	// read in progress before it answers.
	if !b.reading || b.err != nil || (b.done && !b.h1) || b.resp.started.Load() || time.Now().Before(b.deadline) {
		return
	}
	b.tripLocked(b.bound)
}

// tripLocked fails the body, cancels the request and stops the
// connection's reads for it, waking the read in progress.
func (b *pacedBody) tripLocked(bound limit) {
	var reason string
	switch bound {
	case limitRate:
		reason = "slower than " + strconv.FormatFloat(b.lim.rate, 'f', -1, 64) + " bytes per second"
	case limitTotal:
		reason = "longer than " + b.lim.total.String() + " in all"
	default:
		reason = "no bytes for " + b.lim.stall.String()
	}
	b.err = &bodyTimeoutError{reason: reason}
	b.cancel(b.err)
	_ = http.NewResponseController(b.w).SetReadDeadline(time.Unix(1, 0))
}

// finish records that the handler has returned, and returns the error
// the body failed with, if a limit was crossed.
func (b *pacedBody) finish() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.done = true
	if !b.h1 && b.timer != nil {
		b.timer.Stop()
	}
	if b.h1 && b.err == nil && !b.eof && !b.reading && !b.resp.hijacked.Load() && b.lim.stall != math.MaxInt64 {
		// The server reads what is left of an HTTP/1 body (up to 256 KB)
		// before it answers: the client gets the stall limit for that too.
		_ = http.NewResponseController(b.w).SetReadDeadline(time.Now().Add(b.lim.stall))
	}
	return b.err
}

// startWriter tells the body's reader, on another goroutine, when the
// response has started. It keeps the wrapped writer's capabilities, like
// [ResponseWriter].
type startWriter struct {
	w        http.ResponseWriter
	started  atomic.Bool
	hijacked atomic.Bool // the connection is the handler's now
}

func (s *startWriter) Header() http.Header { return s.w.Header() }

func (s *startWriter) WriteHeader(code int) {
	if code >= 200 || code == http.StatusSwitchingProtocols {
		s.started.Store(true)
	}
	s.w.WriteHeader(code)
}

func (s *startWriter) Write(p []byte) (int, error) {
	s.started.Store(true)
	return s.w.Write(p)
}

// ReadFrom keeps the wrapped writer's io.ReaderFrom (sendfile).
func (s *startWriter) ReadFrom(src io.Reader) (int64, error) {
	s.started.Store(true)
	if rf, ok := s.w.(io.ReaderFrom); ok {
		return rf.ReadFrom(src)
	}
	return io.Copy(writerOnly{s.w}, src)
}

func (s *startWriter) Flush() { _ = s.FlushError() }

func (s *startWriter) FlushError() error {
	s.started.Store(true)
	return http.NewResponseController(s.w).Flush()
}

func (s *startWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	s.started.Store(true)
	c, brw, err := http.NewResponseController(s.w).Hijack()
	if err == nil {
		s.hijacked.Store(true)
	}
	return c, brw, err
}

// Unwrap returns the wrapped writer, for [http.ResponseController].
func (s *startWriter) Unwrap() http.ResponseWriter { return s.w }
