package sse_test

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"

	"go.uber.org/goleak"

	"github.com/portico-dev/portico/internal/sse"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type ev struct {
	ID, Type, Data string
	Retry          int
}

func decodeAll(t testing.TB, r io.Reader) ([]ev, error) {
	t.Helper()
	d := sse.NewDecoder(r)
	var out []ev
	for {
		e, err := d.Next()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return out, nil
			}
			return out, err
		}
		out = append(out, ev{
			ID:    e.ID,
			Type:  e.Type,
			Data:  string(e.Data),
			Retry: e.Retry,
		})
	}
}

func equal(a, b []ev) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestDecoder(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want []ev
	}{
		{"a single data line becomes one event", "data: hello\n\n", []ev{{Data: "hello", Retry: -1}}},
		{"multi-line data is joined with newlines", "data: a\ndata: b\ndata:\n\n", []ev{{Data: "a\nb\n", Retry: -1}}},
		{"CRLF line endings are accepted", "event: x\r\ndata: 1\r\n\r\n", []ev{{Type: "x", Data: "1", Retry: -1}}},
		{"bare CR line endings are accepted", "data: 1\rdata: 2\r\r", []ev{{Data: "1\n2", Retry: -1}}},
		{"mixed line endings are accepted", "data: 1\r\n\rdata: 2\n\n", []ev{{Data: "1", Retry: -1}, {Data: "2", Retry: -1}}},
		{"comments are ignored", ": keep-alive\n\n: ping\ndata: x\n\n", []ev{{Data: "x", Retry: -1}}},
		{"only one leading space is stripped", "data:  two\ndata:none\n\n", []ev{{Data: " two\nnone", Retry: -1}}},
		{"a field without a colon is a name with an empty value", "data\n\n", []ev{{Data: "", Retry: -1}}},
		{"an event without data is not dispatched", "event: ping\n\ndata: y\n\n", []ev{{Data: "y", Retry: -1}}},
		{"the last id carries over to later events", "id: 7\ndata: a\n\ndata: b\n\n", []ev{{ID: "7", Data: "a", Retry: -1}, {ID: "7", Data: "b", Retry: -1}}},
		{"an id with NUL is ignored", "id: a\x00b\ndata: a\n\n", []ev{{Data: "a", Retry: -1}}},
		{"retry is parsed when it is all digits", "retry: 1500\ndata: a\n\nretry: 1x\ndata: b\n\n", []ev{{Data: "a", Retry: 1500}, {Data: "b", Retry: -1}}},
		{"unknown fields are ignored", "foo: bar\ndata: z\n\n", []ev{{Data: "z", Retry: -1}}},
		{"an event cut off by the end of the stream is dropped", "data: whole\n\ndata: cut", []ev{{Data: "whole", Retry: -1}}},
		{"an event missing its blank line at the end is dropped", "data: cut\n", nil},
		{"UTF-8 data survives intact", "data: héllo 世界 🎉\n\n", []ev{{Data: "héllo 世界 🎉", Retry: -1}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			for name, r := range readers(tt.in) {
				got, err := decodeAll(t, r)
				if err != nil {
					t.Fatalf("%s: unexpected error %v", name, err)
				}
				if !equal(got, tt.want) {
					t.Fatalf("%s: got %+v, want %+v", name, got, tt.want)
				}
			}
		})
	}
}

// readers delivers s whole, one byte at a time, and split at every
// position, so each test proves the decoder ignores chunk boundaries.
func readers(s string) map[string]io.Reader {
	m := map[string]io.Reader{
		"whole":    strings.NewReader(s),
		"bytewise": iotest.OneByteReader(strings.NewReader(s)),
		"halves":   iotest.HalfReader(strings.NewReader(s)),
		"data-err": iotest.DataErrReader(strings.NewReader(s)),
	}
	for i := 1; i < len(s); i++ {
		m["split@"+strconv.Itoa(i)] = io.MultiReader(strings.NewReader(s[:i]), strings.NewReader(s[i:]))
	}
	return m
}

func TestDecoderLineLimit(t *testing.T) {
	t.Parallel()
	d := sse.NewDecoder(strings.NewReader("data: " + strings.Repeat("x", 100) + "\n\n"))
	d.MaxLine = 64
	if _, err := d.Next(); !errors.Is(err, sse.ErrLineTooLong) {
		t.Fatalf("got %v, want ErrLineTooLong", err)
	}
}

func TestDecoderLimitsTheDataOfOneEvent(t *testing.T) {
	t.Parallel()
	d := sse.NewDecoder(strings.NewReader(strings.Repeat("data: 0123456789\n", 10) + "\n"))
	d.MaxLine = 64
	if _, err := d.Next(); !errors.Is(err, sse.ErrLineTooLong) {
		t.Fatalf("got %v, want ErrLineTooLong for 10 short lines joining past the limit", err)
	}
}

func TestDecoderPassesReaderErrors(t *testing.T) {
	t.Parallel()
	boom := errors.New("connection reset")
	d := sse.NewDecoder(io.MultiReader(strings.NewReader("data: 1\n\ndata: 2"), iotest.ErrReader(boom)))
	e, err := d.Next()
	if err != nil {
		t.Fatalf("first event: %v", err)
	}
	if got, want := string(e.Data), "1"; got != want {
		t.Fatalf("first event data = %q, want %q", got, want)
	}
	if _, err := d.Next(); !errors.Is(err, boom) {
		t.Fatalf("got %v, want the reader's error", err)
	}
}

func TestEncoderRoundTrip(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   sse.Event
		wire string
		back ev
	}{
		{
			"plain data is one line",
			sse.Event{Data: []byte(`{"a":1}`)},
			"data: {\"a\":1}\n\n",
			ev{Data: `{"a":1}`, Retry: -1},
		},
		{
			"all fields are written in order",
			sse.Event{
				ID:    "9",
				Type:  "delta",
				Retry: 3000,
				Data:  []byte("x"),
			},
			"id: 9\nevent: delta\nretry: 3000\ndata: x\n\n",
			ev{
				ID:    "9",
				Type:  "delta",
				Data:  "x",
				Retry: 3000,
			},
		},
		{
			"every kind of line break splits data lines",
			sse.Event{Data: []byte("a\r\nb\rc\nd")},
			"data: a\ndata: b\ndata: c\ndata: d\n\n",
			ev{Data: "a\nb\nc\nd", Retry: -1},
		},
		{
			"empty data is still an event",
			sse.Event{Data: nil},
			"data: \n\n",
			ev{Data: "", Retry: -1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var buf bytes.Buffer
			if err := sse.NewEncoder(&buf).Encode(tt.in); err != nil {
				t.Fatal(err)
			}
			if buf.String() != tt.wire {
				t.Fatalf("wire %q, want %q", buf.String(), tt.wire)
			}
			got, err := decodeAll(t, &buf)
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			if len(got) != 1 {
				t.Fatalf("decoded %d events (%+v), want 1", len(got), got)
			}
			if got[0] != tt.back {
				t.Errorf("decoded %+v, want %+v", got[0], tt.back)
			}
		})
	}
}

func TestEncoderCommentIsIgnoredByDecoder(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	enc := sse.NewEncoder(&buf)
	if err := enc.Comment("ping\nwith newline"); err != nil {
		t.Fatal(err)
	}
	if err := enc.Encode(sse.Event{Data: []byte("after")}); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(buf.String(), ": ping with newline\n\n") {
		t.Fatalf("comment written as %q", buf.String())
	}
	got, _ := decodeAll(t, &buf)
	if len(got) != 1 {
		t.Fatalf("decoded %d events (%+v), want 1", len(got), got)
	}
	if got, want := got[0].Data, "after"; got != want {
		t.Errorf("data = %q, want %q", got, want)
	}
}

func TestEncoderFlushesEachEventToTheClient(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		enc := sse.NewEncoder(w)
		_ = enc.Encode(sse.Event{Data: []byte("first")})
		<-release // the client must see "first" before the handler goes on
		_ = enc.Encode(sse.Event{Data: []byte("second")})
	}))
	defer srv.Close()
	res, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	d := sse.NewDecoder(res.Body)
	e, err := d.Next()
	close(release)
	if err != nil {
		t.Fatalf("first event: %v", err)
	}
	if got, want := string(e.Data), "first"; got != want {
		t.Fatalf("first event data = %q, want %q", got, want)
	}
	e, err = d.Next()
	if err != nil {
		t.Fatalf("second event: %v", err)
	}
	if got, want := string(e.Data), "second"; got != want {
		t.Errorf("second event data = %q, want %q", got, want)
	}
}

func TestEncoderFlushesBufferedWriters(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	bw := bufio.NewWriterSize(&out, 4096)
	if err := sse.NewEncoder(bw).Encode(sse.Event{Data: []byte("x")}); err != nil {
		t.Fatal(err)
	}
	if out.String() != "data: x\n\n" {
		t.Fatalf("buffered writer not flushed: %q", out.String())
	}
}
