package middleware

import (
	"bufio"
	"io"
	"net"
	"net/http"
)

// ResponseWriter wraps an [http.ResponseWriter] to record the status code
// and the number of body bytes written, for the middleware that log and
// measure responses.
//
// It keeps the wrapped writer's capabilities: it implements [http.Flusher],
// [http.Hijacker] and [io.ReaderFrom], and [http.ResponseController] reaches
// everything else (deadlines, full duplex) through Unwrap. Informational
// 1xx responses other than 101 pass through without being recorded.
//
// A ResponseWriter is used by one handler goroutine at a time, like any
// [http.ResponseWriter].
type ResponseWriter struct {
	w        http.ResponseWriter
	status   int
	bytes    int64
	hijacked bool
}

// WrapWriter returns w itself if it is already a [*ResponseWriter], so that
// every middleware in a chain shares one wrapper, or a new one around w.
func WrapWriter(w http.ResponseWriter) *ResponseWriter {
	if rw, ok := w.(*ResponseWriter); ok {
		return rw
	}
	return &ResponseWriter{w: w}
}

// Header returns the wrapped writer's header map.
func (rw *ResponseWriter) Header() http.Header { return rw.w.Header() }

// WriteHeader sends the status line. The first final status (2xx to 5xx,
// or 101) is the one [ResponseWriter.Status] reports.
func (rw *ResponseWriter) WriteHeader(code int) {
	if rw.status == 0 && (code < 100 || code > 199 || code == http.StatusSwitchingProtocols) {
		rw.status = code
	}
	rw.w.WriteHeader(code)
}

// Write writes body bytes, sending a 200 status first if none was sent.
func (rw *ResponseWriter) Write(p []byte) (int, error) {
	if rw.status == 0 {
		rw.status = http.StatusOK
	}
	n, err := rw.w.Write(p)
	rw.bytes += int64(n)
	return n, err
}

// WriteString writes s like Write, without copying it when the wrapped
// writer is an [io.StringWriter].
func (rw *ResponseWriter) WriteString(s string) (int, error) {
	if rw.status == 0 {
		rw.status = http.StatusOK
	}
	n, err := io.WriteString(rw.w, s)
	rw.bytes += int64(n)
	return n, err
}

// ReadFrom copies src to the response, using the wrapped writer's
// [io.ReaderFrom] (sendfile for files) when it has one.
func (rw *ResponseWriter) ReadFrom(src io.Reader) (int64, error) {
	if rw.status == 0 {
		rw.status = http.StatusOK
	}
	var n int64
	var err error
	if rf, ok := rw.w.(io.ReaderFrom); ok {
		n, err = rf.ReadFrom(src)
	} else {
		n, err = io.Copy(writerOnly{rw.w}, src)
	}
	rw.bytes += n
	return n, err
}

// writerOnly hides every method but Write, so io.Copy cannot recurse into
// ReadFrom.
type writerOnly struct{ io.Writer }

// Flush sends buffered data to the client, as [http.Flusher] does.
func (rw *ResponseWriter) Flush() {
	_ = rw.FlushError()
}

// FlushError sends buffered data to the client and reports an error when
// the wrapped writer cannot flush; [http.ResponseController] calls it.
func (rw *ResponseWriter) FlushError() error {
	if rw.status == 0 {
		rw.status = http.StatusOK
	}
	switch f := rw.w.(type) {
	case interface{ FlushError() error }:
		return f.FlushError()
	case http.Flusher:
		f.Flush()
		return nil
	}
	return http.NewResponseController(rw.w).Flush()
}

// Hijack lets the handler take over the connection, as [http.Hijacker]
// does. After a successful Hijack, [ResponseWriter.Status] reports 101
// unless a status was sent before.
func (rw *ResponseWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, brw, err := http.NewResponseController(rw.w).Hijack()
	if err == nil {
		rw.hijacked = true
	}
	return c, brw, err
}

// Unwrap returns the wrapped writer, for [http.ResponseController].
func (rw *ResponseWriter) Unwrap() http.ResponseWriter { return rw.w }

// Status returns the status code sent to the client: 0 if nothing has been
// written yet, 101 after a Hijack.
func (rw *ResponseWriter) Status() int {
	if rw.status == 0 && rw.hijacked {
		return http.StatusSwitchingProtocols
	}
	return rw.status
}

// BytesWritten returns the number of body bytes written so far.
func (rw *ResponseWriter) BytesWritten() int64 { return rw.bytes }

// Written reports whether the response has started: a status was sent,
// body bytes were written, or the connection was hijacked. Once it has, a
// middleware can no longer answer with an error of its own.
func (rw *ResponseWriter) Written() bool { return rw.status != 0 || rw.hijacked }

// Hijacked reports whether the handler took over the connection.
func (rw *ResponseWriter) Hijacked() bool { return rw.hijacked }

// dropBodyHeaders removes the headers a handler may have set for the
// response it did not get to send, before a middleware answers with an
// error of its own instead: cookies, redirects and content metadata must
// not ride on a problem document. Headers set by outer middleware, such as
// the request ID and CORS headers, stay.
func dropBodyHeaders(h http.Header) {
	for _, k := range [...]string{"Set-Cookie", "Location", "Content-Disposition", "Content-Language", "Content-Range", "Trailer", "Refresh"} {
		delete(h, k)
	}
}
