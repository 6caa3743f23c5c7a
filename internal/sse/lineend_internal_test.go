package sse

import (
	"bytes"
	"testing"
)

// FuzzLineEnd checks lineEnd against bytes.IndexAny.
func FuzzLineEnd(f *testing.F) {
	for _, s := range []string{"", "data: x", "data: x\n", "a\rb\n", "a\nb\r", "\r\n", "\n\r", "abc\r"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, want := lineEnd(b), bytes.IndexAny(b, "\r\n"); got != want {
			t.Errorf("lineEnd(%q) = %d, want %d", b, got, want)
		}
	})
}
