package resilience

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"testing/iotest"
)

// FuzzReadAll checks readAll against io.ReadAll over a LimitReader,
// whatever length the request announced, read whole or a byte at a time.
func FuzzReadAll(f *testing.F) {
	f.Add([]byte("hello"), int64(5), int64(10), false)
	f.Add([]byte("hello"), int64(3), int64(10), true)
	f.Add([]byte("hello"), int64(9), int64(10), false)
	f.Add([]byte("hello world"), int64(11), int64(4), true)
	f.Add([]byte(""), int64(0), int64(1), false)
	f.Fuzz(func(t *testing.T, body []byte, length, limit int64, oneByte bool) {
		if limit < 1 || limit > 1<<16 || length > 1<<16 {
			return
		}
		reader := func() io.Reader {
			if oneByte {
				return iotest.OneByteReader(bytes.NewReader(body))
			}
			return bytes.NewReader(body)
		}
		want, wantErr := io.ReadAll(io.LimitReader(reader(), limit))
		got, err := readAll(reader(), length, limit)
		if !bytes.Equal(got, want) {
			t.Errorf("readAll(%q, %d, %d) = %q, want %q", body, length, limit, got, want)
		}
		if !errors.Is(err, wantErr) {
			t.Errorf("readAll(%q, %d, %d) error = %v, want %v", body, length, limit, err, wantErr)
		}
	})
}
