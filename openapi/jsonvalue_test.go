package openapi_test

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/portico-dev/portico/openapi"
)

// stdDecode is the reference: encoding/json with numbers kept as text.
func stdDecode(data []byte) (any, bool) {
	if !json.Valid(data) {
		return nil, false
	}
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, false
	}
	return v, true
}

func TestParseJSONAgreesWithEncodingJSON(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
	}{
		{name: "an object with every kind of value decodes", in: `{"a":1,"b":-2.5e+3,"c":"x","d":true,"e":false,"f":null,"g":[1,[2]],"h":{}}`},
		{name: "escapes and surrogate pairs decode", in: `"a\"b\\c\/d\b\f\n\r\t\u00e9\ud83d\ude00"`},
		{name: "a lone surrogate becomes the replacement character", in: `"\ud83dx"`},
		{name: "two high surrogates in a row become two replacement characters", in: `"\ud83d\ud83d"`},
		{name: "invalid UTF-8 becomes the replacement character", in: "\"a\xffb\""},
		{name: "duplicate keys keep the last value", in: `{"a":1,"a":2}`},
		{name: "surrounding whitespace is allowed", in: " \t\n[ 1 , 2 ]\r\n"},
		{name: "a trailing comma is refused", in: `[1,]`},
		{name: "a leading zero is refused", in: `01`},
		{name: "a bare minus is refused", in: `-`},
		{name: "a fraction without digits is refused", in: `1.`},
		{name: "an exponent without digits is refused", in: `1e+`},
		{name: "a control character in a string is refused", in: "\"a\x01\""},
		{name: "an unknown escape is refused", in: `"\x"`},
		{name: "a short unicode escape is refused", in: `"\u12"`},
		{name: "trailing data is refused", in: `{} {}`},
		{name: "an unterminated string is refused", in: `"abc`},
		{name: "a missing colon is refused", in: `{"a" 1}`},
		{name: "single quotes are refused", in: `{'a':1}`},
		{name: "an empty document is refused", in: ``},
		{name: "a misspelt literal is refused", in: `nul`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			compare(t, []byte(tc.in))
		})
	}
}

func TestParseJSONLimitsDepth(t *testing.T) {
	t.Parallel()
	deep := strings.Repeat("[", 5000) + strings.Repeat("]", 5000)
	if _, err := openapi.ParseJSON([]byte(deep)); err == nil {
		t.Fatal("5000 nested arrays decoded; want a depth error")
	}
	ok := strings.Repeat("[", 500) + strings.Repeat("]", 500)
	if _, err := openapi.ParseJSON([]byte(ok)); err != nil {
		t.Fatalf("500 nested arrays: %v", err)
	}
}

func compare(t *testing.T, data []byte) {
	t.Helper()
	want, wantOK := stdDecode(data)
	got, err := openapi.ParseJSON(data)
	if wantOK != (err == nil) {
		if wantOK && bytes.Count(data, []byte("["))+bytes.Count(data, []byte("{")) > 1000 {
			return // deeper than our limit: refusing is intended
		}
		t.Fatalf("%q: parse error %v, encoding/json valid %v", data, err, wantOK)
	}
	if wantOK && !reflect.DeepEqual(got, want) {
		t.Fatalf("%q:\n got %#v\nwant %#v", data, got, want)
	}
}

// FuzzParseJSON checks the body parser against encoding/json on arbitrary
// input: same verdict, same value.
func FuzzParseJSON(f *testing.F) {
	for _, s := range []string{`{"a":[1,2.5e3,"x\u00e9",true,null]}`, `"\ud83d\ude00"`, "[1,]", `{"a":"\ud800"}`, "\"\xff\"", `-0.0e-0`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) { compare(t, data) })
}
