package jsonscan_test

import (
	"encoding/json"
	"testing"

	"github.com/portico-dev/portico/internal/jsonscan"
)

// TestAStringIsWrittenAsEncodingJSONWritesIt checks AppendString against
// json.Marshal, on plain strings and on strings it leaves to it.
func TestAStringIsWrittenAsEncodingJSONWritesIt(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"", "plain text.", `a "quote"`, `a \ b`, "<b> & </b>", "line\nbreak\t", "é 日本 \u2028", "bad \xff byte", "\x00\x1f\x7f"} {
		want, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := jsonscan.AppendString([]byte("x"), s); string(got) != "x"+string(want) {
			t.Errorf("AppendString(%q) = %s, want x%s", s, got, want)
		}
	}
}

// TestAScannerRefusesWhatItDoesNotHandle checks that the values
// encoding/json reads otherwise than the scanner would are refused.
func TestAScannerRefusesWhatItDoesNotHandle(t *testing.T) {
	t.Parallel()
	known := []string{"n", "s"}
	for _, doc := range []string{
		`{"n":1.5}`, `{"n":1e3}`, `{"n":01}`, `{"n":99999999999999999999}`, `{"N":1}`, `{"n":1,"n":2}`,
		`{"s":"\xff"}`, `{"s":"a` + "\n" + `"}`, `{"s":1}`, `{"\u006e":1}`, `{"n":1`, `{"x":[}`,
	} {
		s := jsonscan.New([]byte(doc))
		var n int64
		var str string
		ok := s.Object(known, func(k int) bool {
			if k == 0 {
				return s.Int(&n)
			}
			return s.Str(&str)
		}, nil) && s.End()
		if ok {
			t.Errorf("the scanner took %s", doc)
		}
	}
}
