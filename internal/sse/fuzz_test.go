package sse_test

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/portico-dev/portico/internal/sse"
)

// FuzzDecoder checks that decoding never panics and never depends on how
// the input is chunked.
func FuzzDecoder(f *testing.F) {
	for _, s := range []string{
		"data: hello\n\n",
		"event: x\r\ndata: 1\r\n\r\n",
		"data: 1\rdata: 2\r\r",
		": c\nid: 1\nretry: 10\ndata: a\ndata: b\n\n",
		"data: héllo 世界\r\n\r\n",
		"data: cut",
	} {
		f.Add(s, uint8(3))
	}
	f.Fuzz(func(t *testing.T, in string, split uint8) {
		whole, err1 := decodeAll(t, strings.NewReader(in))
		bytewise, err2 := decodeAll(t, iotest.OneByteReader(strings.NewReader(in)))
		at := int(split) % (len(in) + 1)
		halves, err3 := decodeAll(t, io.MultiReader(strings.NewReader(in[:at]), strings.NewReader(in[at:])))
		if err1 != nil {
			t.Fatalf("whole read: %v", err1)
		}
		if err2 != nil {
			t.Fatalf("bytewise read: %v", err2)
		}
		if err3 != nil {
			t.Fatalf("split@%d read: %v", at, err3)
		}
		if !equal(bytewise, whole) {
			t.Fatalf("bytewise read = %+v, want %+v as read whole", bytewise, whole)
		}
		if !equal(halves, whole) {
			t.Fatalf("split@%d read = %+v, want %+v as read whole", at, halves, whole)
		}
	})
}

// FuzzRoundTrip checks that any data written by the Encoder is read back
// by the Decoder, with line breaks normalised to "\n".
func FuzzRoundTrip(f *testing.F) {
	f.Add("plain", "delta")
	f.Add("a\r\nb\rc\nd", "")
	f.Add("", "x")
	f.Fuzz(func(t *testing.T, data, typ string) {
		if strings.ContainsAny(typ, "\r\n") {
			t.Skip("event types cannot hold line breaks")
		}
		var buf bytes.Buffer
		if err := sse.NewEncoder(&buf).Encode(sse.Event{Type: typ, Data: []byte(data)}); err != nil {
			t.Fatal(err)
		}
		got, err := decodeAll(t, &buf)
		if err != nil {
			t.Fatalf("decode: %v", err)
		}
		if len(got) != 1 {
			t.Fatalf("decoded %d events (%+v), want 1", len(got), got)
		}
		want := strings.NewReplacer("\r\n", "\n", "\r", "\n").Replace(data)
		if got[0].Data != want {
			t.Errorf("data = %q, want %q", got[0].Data, want)
		}
		if got[0].Type != typ {
			t.Errorf("type = %q, want %q", got[0].Type, typ)
		}
	})
}
