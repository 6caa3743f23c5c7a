package sse

import (
	"bytes"
	"errors"
	"io"
	"strconv"
)

// DefaultMaxLine is the longest line a [Decoder] accepts by default: 8 MiB.
const DefaultMaxLine = 8 << 20

// ErrLineTooLong is returned by [Decoder.Next] for a line, or an event's
// joined data, longer than [Decoder.MaxLine].
var ErrLineTooLong = errors.New("sse: line too long")

// Event is one Server-Sent Event.
type Event struct {
	// ID is the event's "id" field, or the last ID seen on the stream.
	ID string
	// Type is the "event" field; empty means the default type "message".
	Type string
	// Data is the event's data lines joined with "\n". When read from a
	// [Decoder], it is only valid until the next call to [Decoder.Next].
	Data []byte
	// Retry is the "retry" field in milliseconds, or -1 when absent.
	Retry int
}

// Decoder reads events from a stream.
type Decoder struct {
	// MaxLine is the longest line, and the most data one event may join
	// from its lines; zero means [DefaultMaxLine].
	MaxLine int

	r      io.Reader
	buf    []byte
	start  int
	end    int
	skipLF bool
	err    error

	data    []byte
	hasData bool
	typ     string
	lastID  string
	retry   int
}

// NewDecoder returns a Decoder reading from r.
func NewDecoder(r io.Reader) *Decoder {
	return &Decoder{r: r, buf: make([]byte, 4096), retry: -1}
}

// Next returns the next event. At the end of the stream it returns io.EOF;
// an event not terminated by an empty line before the end is dropped. Any
// other error comes from the underlying reader or is [ErrLineTooLong].
func (d *Decoder) Next() (Event, error) {
	for {
		line, err := d.line()
		if err != nil {
			return Event{}, err
		}
		if len(line) == 0 {
			if !d.hasData {
				d.typ, d.retry = "", -1
				continue
			}
			ev := Event{ID: d.lastID, Type: d.typ, Data: d.data, Retry: d.retry}
			d.data, d.hasData, d.typ, d.retry = d.data[:0], false, "", -1
			return ev, nil
		}
		if line[0] == ':' {
			continue
		}
		d.field(line)
		if len(d.data) > d.maxLine() {
			return Event{}, ErrLineTooLong
		}
	}
}

func (d *Decoder) field(line []byte) {
	name, value := line, []byte(nil)
	if i := bytes.IndexByte(line, ':'); i >= 0 {
		name, value = line[:i], line[i+1:]
		if len(value) > 0 && value[0] == ' ' {
			value = value[1:]
		}
	}
	switch string(name) {
	case "data":
		if d.hasData {
			d.data = append(d.data, '\n')
		}
		d.data = append(d.data, value...)
		d.hasData = true
	case "event":
		d.typ = string(value)
	case "id":
		if bytes.IndexByte(value, 0) < 0 {
			d.lastID = string(value)
		}
	case "retry":
		if n, err := strconv.Atoi(string(value)); err == nil && n >= 0 && isDigits(value) {
			d.retry = n
		}
	}
}

func isDigits(b []byte) bool {
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return len(b) > 0
}

// line returns the next line without its terminator. The slice is valid
// until the next call.
func (d *Decoder) maxLine() int {
	if d.MaxLine <= 0 {
		return DefaultMaxLine
	}
	return d.MaxLine
}

func (d *Decoder) line() ([]byte, error) {
	maxLine := d.maxLine()
	scanned := 0
	for {
		if d.skipLF && d.start < d.end {
			if d.buf[d.start] == '\n' {
				d.start++
			}
			d.skipLF = false
		}
		window := d.buf[d.start+scanned : d.end]
		if i := lineEnd(window); i >= 0 {
			i += scanned
			line := d.buf[d.start : d.start+i]
			d.skipLF = d.buf[d.start+i] == '\r'
			d.start += i + 1
			if len(line) > maxLine {
				return nil, ErrLineTooLong
			}
			return line, nil
		}
		scanned = d.end - d.start
		if scanned > maxLine {
			return nil, ErrLineTooLong
		}
		if d.err != nil {
			// The stream ended inside a line: per the standard, the
			// incomplete line and its event are dropped.
			d.start = d.end
			return nil, d.err
		}
		d.fill()
	}
}

// lineEnd returns the index of the first CR or LF in b, or -1: two
// vectorized byte searches, where bytes.IndexAny walks byte by byte.
func lineEnd(b []byte) int {
	lf := bytes.IndexByte(b, '\n')
	head := b
	if lf >= 0 {
		head = b[:lf]
	}
	if cr := bytes.IndexByte(head, '\r'); cr >= 0 {
		return cr
	}
	return lf
}

func (d *Decoder) fill() {
	if d.start > 0 {
		n := copy(d.buf, d.buf[d.start:d.end])
		d.start, d.end = 0, n
	}
	if d.end == len(d.buf) {
		grown := make([]byte, 2*len(d.buf))
		copy(grown, d.buf[:d.end])
		d.buf = grown
	}
	for range 100 {
		n, err := d.r.Read(d.buf[d.end:])
		d.end += n
		if err != nil {
			d.err = err
			return
		}
		if n > 0 {
			return
		}
	}
	d.err = io.ErrNoProgress
}

// Buffered reports whether the input already read holds a whole event, so
// that Next returns it without reading from the underlying reader. It is
// a hint for writers that coalesce output: false only means that Next may
// have to wait.
func (d *Decoder) Buffered() bool {
	b := d.buf[d.start:d.end]
	if d.skipLF && len(b) > 0 && b[0] == '\n' {
		b = b[1:]
	}
	hasData := d.hasData
	for {
		i := lineEnd(b)
		if i < 0 {
			return false
		}
		line := b[:i]
		switch {
		case len(line) == 0:
			if hasData {
				return true
			}
		case isDataField(line):
			hasData = true
		}
		if b[i] == '\r' {
			if i+1 == len(b) {
				return false // a "\n" may follow and end the same line
			}
			if b[i+1] == '\n' {
				i++
			}
		}
		b = b[i+1:]
	}
}

func isDataField(line []byte) bool {
	return bytes.HasPrefix(line, []byte("data")) && (len(line) == 4 || line[4] == ':')
}
