package ndjson_test

import (
	"errors"
	"io"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"

	"go.uber.org/goleak"

	"github.com/portico-dev/portico/internal/ndjson"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func readAll(r io.Reader) ([]string, error) {
	d := ndjson.NewDecoder(r)
	var out []string
	for {
		line, err := d.Next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, string(line))
	}
}

func TestDecoder(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"each line is one value", "{\"a\":1}\n{\"b\":2}\n", []string{`{"a":1}`, `{"b":2}`}},
		{"CRLF terminators are removed", "{\"a\":1}\r\n{\"b\":2}\r\n", []string{`{"a":1}`, `{"b":2}`}},
		{"blank lines are skipped", "\n{\"a\":1}\n\r\n  \n{\"b\":2}\n", []string{`{"a":1}`, `{"b":2}`}},
		{"a last line without newline is returned", "{\"a\":1}\n{\"b\":2}", []string{`{"a":1}`, `{"b":2}`}},
		{"UTF-8 survives any split", "{\"t\":\"héllo 世界\"}\n", []string{`{"t":"héllo 世界"}`}},
		{"a long line crosses the buffer size", strings.Repeat("x", 10000) + "\n", []string{strings.Repeat("x", 10000)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rs := map[string]io.Reader{
				"whole":    strings.NewReader(tt.in),
				"bytewise": iotest.OneByteReader(strings.NewReader(tt.in)),
			}
			for i := 1; i < len(tt.in) && i < 64; i++ {
				rs["split@"+strconv.Itoa(i)] = io.MultiReader(strings.NewReader(tt.in[:i]), strings.NewReader(tt.in[i:]))
			}
			for name, r := range rs {
				got, err := readAll(r)
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				if !slices.Equal(got, tt.want) {
					t.Fatalf("%s: got %q, want %q", name, got, tt.want)
				}
			}
		})
	}
}

func TestDecoderRejectsLongLines(t *testing.T) {
	t.Parallel()
	d := ndjson.NewDecoder(strings.NewReader(strings.Repeat("x", 9000) + "\n"))
	d.MaxLine = 100
	if _, err := d.Next(); !errors.Is(err, ndjson.ErrLineTooLong) {
		t.Fatalf("got %v, want ErrLineTooLong", err)
	}
}

func TestDecoderReportsACutLine(t *testing.T) {
	t.Parallel()
	boom := errors.New("connection reset")
	d := ndjson.NewDecoder(io.MultiReader(strings.NewReader("{\"a\":1}\n{\"b\""), iotest.ErrReader(boom)))
	line, err := d.Next()
	if err != nil {
		t.Fatalf("first line: %v", err)
	}
	if got, want := string(line), `{"a":1}`; got != want {
		t.Fatalf("first line = %q, want %q", got, want)
	}
	if _, err := d.Next(); !errors.Is(err, boom) {
		t.Fatalf("got %v, want the reader's error", err)
	}
}

func FuzzDecoder(f *testing.F) {
	f.Add("{\"a\":1}\n{\"b\":2}\r\n", uint8(5))
	f.Add("\n\n x \n", uint8(1))
	f.Fuzz(func(t *testing.T, in string, split uint8) {
		whole, err1 := readAll(strings.NewReader(in))
		bytewise, err2 := readAll(iotest.OneByteReader(strings.NewReader(in)))
		at := int(split) % (len(in) + 1)
		halves, err3 := readAll(io.MultiReader(strings.NewReader(in[:at]), strings.NewReader(in[at:])))
		if err1 != nil {
			t.Fatalf("whole read: %v", err1)
		}
		if err2 != nil {
			t.Fatalf("bytewise read: %v", err2)
		}
		if err3 != nil {
			t.Fatalf("split@%d read: %v", at, err3)
		}
		if !slices.Equal(bytewise, whole) {
			t.Fatalf("bytewise read = %q, want %q as read whole", bytewise, whole)
		}
		if !slices.Equal(halves, whole) {
			t.Fatalf("split@%d read = %q, want %q as read whole", at, halves, whole)
		}
		for _, l := range whole {
			if strings.ContainsRune(l, '\n') {
				t.Fatalf("line %q holds a newline", l)
			}
			if strings.TrimSpace(l) == "" {
				t.Fatalf("line %q is blank", l)
			}
		}
	})
}
