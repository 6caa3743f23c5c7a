package sse_test

import (
	"bufio"
	"bytes"
	"io"
	"strings"
	"testing"

	"github.com/portico-dev/portico/internal/sse"
)

// chunkReader returns its chunks one per Read.
type chunkReader struct{ chunks []string }

func (r *chunkReader) Read(p []byte) (int, error) {
	if len(r.chunks) == 0 {
		return 0, io.EOF
	}
	n := copy(p, r.chunks[0])
	r.chunks[0] = r.chunks[0][n:]
	if r.chunks[0] == "" {
		r.chunks = r.chunks[1:]
	}
	return n, nil
}

func TestDecoderBufferedTellsAWholeEventFromAPart(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		read string // what the first Read returns; the first event is read
		want bool
	}{
		{"nothing after the event", "data: a\n\n", false},
		{"a whole second event", "data: a\n\ndata: b\n\n", true},
		{"a second event without its blank line", "data: a\n\ndata: b\n", false},
		{"half a line", "data: a\n\ndata: b", false},
		{"a comment only", "data: a\n\n: ping\n\n", false},
		{"fields without data", "data: a\n\nevent: x\nid: 1\n\n", false},
		{"a comment before an event", "data: a\n\n: ping\ndata: b\n\n", true},
		{"CRLF lines", "data: a\r\n\r\ndata: b\r\n\r\n", true},
		{"CR lines", "data: a\r\rdata: b\r\r", true},
		{"a CR that a LF may follow", "data: a\n\ndata: b\r", false},
		{"a data field without a colon", "data: a\n\ndata\n\n", true},
		{"a field named like data", "data: a\n\ndatum: b\n\n", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d := sse.NewDecoder(&chunkReader{chunks: []string{tt.read}})
			if _, err := d.Next(); err != nil {
				t.Fatalf("Next: %v", err)
			}
			if got := d.Buffered(); got != tt.want {
				t.Errorf("Buffered() = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestDecoderBufferedEventIsReadWithoutReading(t *testing.T) {
	t.Parallel()
	r := &chunkReader{chunks: []string{"data: a\n\ndata: b\n\ndata: c\n", "\n"}}
	d := sse.NewDecoder(r)
	for _, want := range []struct {
		data     string
		buffered bool
	}{{"a", true}, {"b", false}, {"c", false}} {
		ev, err := d.Next()
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		if got := string(ev.Data); got != want.data {
			t.Errorf("data = %q, want %q", got, want.data)
		}
		if got := d.Buffered(); got != want.buffered {
			t.Errorf("after %q: Buffered() = %v, want %v", want.data, got, want.buffered)
		}
	}
}

func TestEncoderHoldDefersTheFlush(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	bw := bufio.NewWriterSize(&out, 4096)
	enc := sse.NewEncoder(bw)
	hold := true
	enc.Hold = func() bool { return hold }
	encode := func(data string) {
		t.Helper()
		if err := enc.Encode(sse.Event{Data: []byte(data)}); err != nil {
			t.Fatal(err)
		}
	}
	encode("first")
	if got, want := out.String(), "data: first\n\n"; got != want {
		t.Errorf("after the first event: %q, want %q (the first event is always flushed)", got, want)
	}
	encode("second")
	if got, want := out.String(), "data: first\n\n"; got != want {
		t.Errorf("after a held event: %q, want %q", got, want)
	}
	hold = false
	encode("third")
	if got, want := out.String(), "data: first\n\ndata: second\n\ndata: third\n\n"; got != want {
		t.Errorf("after an event not held: %q, want %q", got, want)
	}
	if got, want := strings.Count(out.String(), "data:"), 3; got != want {
		t.Errorf("events = %d, want %d", got, want)
	}
}
