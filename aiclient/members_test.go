package aiclient_test

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/portico-dev/portico/aiclient"
)

// unknownByDecoding is what Unknown returns, computed the plain way.
func unknownByDecoding(body []byte, known ...string) map[string]json.RawMessage {
	var all map[string]json.RawMessage
	if json.Unmarshal(body, &all) != nil {
		return nil
	}
	for _, k := range known {
		delete(all, k)
	}
	for k, v := range all {
		if string(v) == "null" {
			delete(all, k)
		}
	}
	if len(all) == 0 {
		return nil
	}
	return all
}

var unknownSeeds = []string{
	`{"model":"m","messages":[{"role":"user","content":"hi, {\"x\": [1]}"}],"seed":7,"store":true}`,
	`{"id":"c","choices":[],"system_fingerprint":"fp","service_tier":null,"usage":{"a":1}}`,
	` { "a" : [ 1 , { "b" : "]" } ] , "model" : "m" , "n" : -1.5e3 } `,
	`{"a":1,"a":null}`,
	`{"a":null,"a":{"x":"y"}}`,
	`{"esc\u0061ped":1}`,
	`{"é":1}`,
	`{}`,
	`[]`,
	`{"a":[1,,2]}`,
	`{"a":1`,
	`{"a":"unterminated}`,
	`{"a":1} trailing`,
	`{"a":tru}`,
	`null`,
	``,
}

func TestUnknownMatchesDecodingTheBody(t *testing.T) {
	t.Parallel()
	for _, body := range unknownSeeds {
		got := aiclient.Unknown([]byte(body), "model", "messages", "id", "choices", "usage")
		want := unknownByDecoding([]byte(body), "model", "messages", "id", "choices", "usage")
		if !reflect.DeepEqual(got, want) {
			t.Errorf("Unknown(%s) = %s, want %s", body, show(got), show(want))
		}
	}
}

func FuzzUnknown(f *testing.F) {
	for _, s := range unknownSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		got := aiclient.Unknown([]byte(body), "model", "id")
		want := unknownByDecoding([]byte(body), "model", "id")
		if !reflect.DeepEqual(got, want) {
			t.Errorf("Unknown(%q) = %s, want %s", body, show(got), show(want))
		}
	})
}

func show(m map[string]json.RawMessage) string {
	b, _ := json.Marshal(m)
	return string(b)
}
