package ndjson_test

import (
	"errors"
	"io"
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
				if strings.Join(got, "|") != strings.Join(tt.want, "|") || len(got) != len(tt.want) {
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
	if line, err := d.Next(); err != nil || string(line) != `{"a":1}` {
		t.Fatalf("first line %q %v", line, err)
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
		if err1 != nil || err2 != nil || err3 != nil {
			t.Fatalf("errors: %v %v %v", err1, err2, err3)
		}
		a, b, c := strings.Join(whole, "\x00"), strings.Join(bytewise, "\x00"), strings.Join(halves, "\x00")
		if a != b || a != c || len(whole) != len(bytewise) || len(whole) != len(halves) {
			t.Fatalf("chunking changed the result: %q %q %q", whole, bytewise, halves)
		}
		for _, l := range whole {
			if strings.ContainsRune(l, '\n') || strings.TrimSpace(l) == "" {
				t.Fatalf("bad line %q", l)
			}
		}
	})
}
