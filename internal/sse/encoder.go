package sse

import (
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// Encoder writes events to a stream.
type Encoder struct {
	// Hold, when set, is asked after each event is written: if it
	// returns true (more output follows at once, such as an event already
	// received from upstream), the flush is left to a later event, so
	// that events arriving together leave in one write. The first event
	// written by an Encoder is always flushed, and so is every event
	// after which Hold returns false. If nil, every event is flushed.
	Hold func() bool

	w       io.Writer
	buf     []byte
	flushed bool
}

// NewEncoder returns an Encoder writing to w. After each event it flushes
// w if w has a Flush() or Flush() error method, or is an
// [net/http.ResponseWriter] whose [net/http.ResponseController] can flush.
func NewEncoder(w io.Writer) *Encoder {
	return &Encoder{w: w}
}

// Encode writes one event. Data containing line breaks ("\r\n", "\r" or
// "\n") is written as several data lines, so a [Decoder] reads back the
// same data with "\n" between lines. ID and Type must not contain line
// breaks; Retry is written when it is positive.
func (e *Encoder) Encode(ev Event) error {
	b := e.buf[:0]
	if ev.ID != "" {
		b = appendField(b, "id", ev.ID)
	}
	if ev.Type != "" {
		b = appendField(b, "event", ev.Type)
	}
	if ev.Retry > 0 {
		b = append(b, "retry: "...)
		b = strconv.AppendInt(b, int64(ev.Retry), 10)
		b = append(b, '\n')
	}
	data := ev.Data
	for {
		i := indexBreak(data)
		if i < 0 {
			b = append(b, "data: "...)
			b = append(b, data...)
			b = append(b, '\n')
			break
		}
		b = append(b, "data: "...)
		b = append(b, data[:i]...)
		b = append(b, '\n')
		if data[i] == '\r' && i+1 < len(data) && data[i+1] == '\n' {
			i++
		}
		data = data[i+1:]
	}
	b = append(b, '\n')
	e.buf = b
	return e.write(b)
}

// Comment writes a comment line (": text"), which clients ignore; it keeps
// idle connections alive through proxies.
func (e *Encoder) Comment(text string) error {
	b := append(e.buf[:0], ": "...)
	b = append(b, strings.NewReplacer("\r", " ", "\n", " ").Replace(text)...)
	b = append(b, '\n', '\n')
	e.buf = b
	return e.write(b)
}

func (e *Encoder) write(b []byte) error {
	if _, err := e.w.Write(b); err != nil {
		return err
	}
	if e.flushed && e.Hold != nil && e.Hold() {
		return nil
	}
	e.flushed = true
	return e.Flush()
}

// Flush flushes the underlying writer, when it can: see [NewEncoder].
func (e *Encoder) Flush() error {
	switch f := e.w.(type) {
	case interface{ Flush() error }:
		return f.Flush()
	case http.ResponseWriter:
		err := http.NewResponseController(f).Flush()
		if err != nil && !errors.Is(err, http.ErrNotSupported) {
			return err
		}
	case interface{ Flush() }:
		f.Flush()
	}
	return nil
}

func appendField(b []byte, name, value string) []byte {
	b = append(b, name...)
	b = append(b, ": "...)
	b = append(b, value...)
	return append(b, '\n')
}

func indexBreak(b []byte) int {
	for i, c := range b {
		if c == '\r' || c == '\n' {
			return i
		}
	}
	return -1
}
