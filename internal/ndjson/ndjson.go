package ndjson

import (
	"bufio"
	"bytes"
	"errors"
	"io"
)

// DefaultMaxLine is the longest line a [Decoder] accepts by default: 8 MiB.
const DefaultMaxLine = 8 << 20

// ErrLineTooLong is returned by [Decoder.Next] for a line longer than
// [Decoder.MaxLine].
var ErrLineTooLong = errors.New("ndjson: line too long")

// Decoder reads lines of JSON from a stream.
type Decoder struct {
	// MaxLine is the longest line accepted; zero means [DefaultMaxLine].
	MaxLine int

	r    *bufio.Reader
	line []byte
}

// NewDecoder returns a Decoder reading from r.
func NewDecoder(r io.Reader) *Decoder {
	return &Decoder{r: bufio.NewReaderSize(r, 4096)}
}

// Next returns the next non-blank line, valid until the next call. It
// returns io.EOF at the end of the stream.
func (d *Decoder) Next() ([]byte, error) {
	maxLine := d.MaxLine
	if maxLine <= 0 {
		maxLine = DefaultMaxLine
	}
	for {
		d.line = d.line[:0]
		var err error
		for {
			var chunk []byte
			chunk, err = d.r.ReadSlice('\n')
			if len(d.line)+len(chunk) > maxLine+2 {
				return nil, ErrLineTooLong
			}
			d.line = append(d.line, chunk...)
			if !errors.Is(err, bufio.ErrBufferFull) {
				break
			}
		}
		line := bytes.TrimRight(d.line, "\r\n")
		if len(line) > maxLine {
			return nil, ErrLineTooLong
		}
		if len(bytes.TrimSpace(line)) > 0 {
			if err != nil && !errors.Is(err, io.EOF) {
				return nil, err // a line cut off by a broken connection
			}
			return line, nil
		}
		if err != nil {
			return nil, err
		}
	}
}
