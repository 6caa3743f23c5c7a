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
		if err1 != nil || err2 != nil || err3 != nil {
			t.Fatalf("errors: %v %v %v", err1, err2, err3)
		}
		if !equal(whole, bytewise) || !equal(whole, halves) {
			t.Fatalf("chunking changed the result:\nwhole    %+v\nbytewise %+v\nsplit@%d %+v", whole, bytewise, at, halves)
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
		if err != nil || len(got) != 1 {
			t.Fatalf("decoded %+v, %v", got, err)
		}
		want := strings.NewReplacer("\r\n", "\n", "\r", "\n").Replace(data)
		if got[0].Data != want || got[0].Type != typ {
			t.Fatalf("got %+v, want data %q type %q", got[0], want, typ)
		}
	})
}
