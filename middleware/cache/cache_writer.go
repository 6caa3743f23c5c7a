package cache

import (
	"bufio"
	"bytes"
	"net"
	"net/http"
)

// teeWriter sits between a handler and the client. At WriteHeader it asks
// decide what to do with the response: pass it on to the client, keep a
// copy of its body (up to max bytes), or both. Flushing means the handler
// streams: the copy is dropped and everything passes through unbuffered.
//
// It is used by [New] and [Idempotency]; Unwrap keeps
// http.ResponseController working.
type teeWriter struct {
	rw       http.ResponseWriter
	header   http.Header
	decide   func(t *teeWriter)
	abandon  func() // called when the copy of the body is dropped, if set
	max      int64
	status   int
	wrote    bool
	pass     bool // write the response to the client
	capture  bool // keep a copy of the body
	over     bool // the body outgrew max or was flushed
	flushed  bool
	hijacked bool
	body     bytes.Buffer
}

func newTeeWriter(rw http.ResponseWriter, max int64, decide func(t *teeWriter)) *teeWriter {
	return &teeWriter{rw: rw, header: make(http.Header), max: max, decide: decide}
}

// Header returns the handler's header map until the header is written;
// afterwards, in pass mode, the client's (so trailers still work).
func (t *teeWriter) Header() http.Header {
	if t.wrote && t.pass {
		return t.rw.Header()
	}
	return t.header
}

// WriteHeader records the status and lets decide choose the mode.
// Informational (1xx) responses go straight to the client.
func (t *teeWriter) WriteHeader(code int) {
	if t.wrote {
		return
	}
	if code >= 100 && code < 200 && code != http.StatusSwitchingProtocols {
		dst := t.rw.Header()
		for k, v := range t.header {
			dst[k] = v
		}
		t.rw.WriteHeader(code)
		return
	}
	t.wrote = true
	t.status = code
	t.pass, t.capture = true, false
	if t.decide != nil {
		t.decide(t)
	}
	if t.pass {
		copyHeader(t.rw.Header(), t.header)
		t.rw.WriteHeader(code)
	}
}

func (t *teeWriter) Write(p []byte) (int, error) {
	if !t.wrote {
		t.WriteHeader(http.StatusOK)
	}
	if t.capture && !t.over {
		if int64(t.body.Len()+len(p)) > t.max {
			t.drop()
		} else {
			t.body.Write(p)
		}
	}
	if !t.pass {
		return len(p), nil
	}
	return t.rw.Write(p)
}

// FlushError marks the response as streamed and flushes it to the client.
func (t *teeWriter) FlushError() error {
	if !t.wrote {
		t.WriteHeader(http.StatusOK)
	}
	t.flushed = true
	t.drop()
	if !t.pass {
		return nil
	}
	return http.NewResponseController(t.rw).Flush()
}

// Flush implements http.Flusher.
func (t *teeWriter) Flush() { _ = t.FlushError() }

// drop gives up the copy of the body.
func (t *teeWriter) drop() {
	if !t.over && t.abandon != nil {
		t.abandon()
	}
	t.over = true
	t.body = bytes.Buffer{}
}

// Unwrap returns the client's writer for http.ResponseController.
func (t *teeWriter) Unwrap() http.ResponseWriter { return t.rw }

// complete reports whether the whole body was captured.
func (t *teeWriter) complete() bool { return t.wrote && t.capture && !t.over }

// Hijack implements http.Hijacker for protocol upgrades; nothing is
// captured from a hijacked connection.
func (t *teeWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	t.hijacked = true
	t.drop()
	return http.NewResponseController(t.rw).Hijack()
}

// finish writes an implicit 200 when the handler returned without writing.
func (t *teeWriter) finish() {
	if !t.wrote && !t.hijacked {
		t.WriteHeader(http.StatusOK)
	}
}
