package testkit

import (
	"bytes"
	"encoding/json"
	"io"
	"testing"
	"testing/iotest"

	"github.com/portico-dev/portico/aiclient"
)

// FuzzStream fuzzes a stream decoder: on any input it must not panic, and
// must give the same response and error whether the bytes arrive in one
// read, one byte at a time, or split at a fuzzed position.
func FuzzStream(f *testing.F, decode func(io.ReadCloser) *aiclient.Stream, seeds ...[]byte) {
	for _, s := range seeds {
		f.Add(s, uint16(len(s)/2))
	}
	f.Fuzz(func(t *testing.T, in []byte, split uint16) {
		run := func(r io.Reader) string {
			resp, err := aiclient.Collect(decode(io.NopCloser(r)))
			b, jerr := json.Marshal(resp)
			if jerr != nil {
				t.Fatalf("the response does not encode: %v", jerr)
			}
			msg := ""
			if err != nil {
				msg = err.Error()
			}
			return string(b) + "|" + msg
		}
		whole := run(bytes.NewReader(in))
		at := int(split) % (len(in) + 1)
		if got := run(iotest.OneByteReader(bytes.NewReader(in))); got != whole {
			t.Fatalf("bytewise delivery changed the result:\nwhole    %s\nbytewise %s", whole, got)
		}
		if got := run(io.MultiReader(bytes.NewReader(in[:at]), bytes.NewReader(in[at:]))); got != whole {
			t.Fatalf("a split at %d changed the result:\nwhole %s\nsplit %s", at, whole, got)
		}
	})
}
