package ai

import (
	"encoding/json"
	"reflect"
	"slices"
	"testing"
)

// chatRequestSeeds are chat requests of the shapes clients send, and
// some the scanner must leave to encoding/json.
var chatRequestSeeds = []string{
	`{"model":"bench","messages":[{"role":"system","content":"You are terse."},{"role":"user","content":"Say something about gateways."}]}`,
	`{"model":"bench","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}]}`,
	`{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"a"},{"type":"image_url","image_url":{"url":"https://x/y.png"}}]}],"temperature":0.7,"top_p":1,"max_tokens":100,"max_completion_tokens":50,"seed":-3,"user":"u","n":1,"logprobs":true,"top_logprobs":2,"parallel_tool_calls":false}`,
	`{"model":"m","messages":[{"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{\"a\":1}"}}]},{"role":"tool","tool_call_id":"c1","content":"r","name":"f"}],"tools":[{"type":"function","function":{"name":"f","description":"d","parameters":{"type":"object"},"strict":true}}],"tool_choice":"auto","stop":["x","y"]}`,
	`{"model":"m","messages":[],"reasoning_effort":"low","logit_bias":{"1":2},"store":null,"service_tier":"flex","service_tier":"auto"}`,
	`{"model":"m","messages":null,"tool_choice":null,"stop":null,"stream_options":null,"temperature":null,"seed":null,"n":null,"tools":null,"response_format":null,"metadata":null}`,
	`{"model":"m","response_format":{"type":"json_object"},"metadata":{"k":"v"}}`,
	`{"Model":"m"}`, `{"model":"m","model":"n"}`, `{"mod\u0065l":"m"}`, `{"model":1}`, `{"max_tokens":1.5}`, `{"temperature":1e999}`,
	`{"model":"é\u00e9","messages":[{"role":"user","content":"a\"b"}]}`, ` { "model" : "m" , "stream" : false } `, `{}`, `null`, `[]`, `{"model":"m"} x`,
}

// TestTheChatRequestScannerTakesTheCommonShapes checks that the scanner
// reads the requests clients commonly send, rather than leaving them to
// encoding/json.
func TestTheChatRequestScannerTakesTheCommonShapes(t *testing.T) {
	t.Parallel()
	for _, data := range chatRequestSeeds[:6] {
		var cr chatRequest
		if !cr.scan([]byte(data)) {
			t.Errorf("the scanner refused %s", data)
		}
	}
}

// TestTheChatRequestScannerKnowsEveryField checks that the scanner's
// member names are those of chatRequest's fields, in order, so that the
// members it keeps are those aiclient.Unknown would.
func TestTheChatRequestScannerKnowsEveryField(t *testing.T) {
	t.Parallel()
	if got, want := chatRequestNames, jsonKeys(&chatRequest{}); !slices.Equal(got, want) {
		t.Errorf("the scanner's names are %q, want %q", got, want)
	}
}

// TestAScannedChatRequestIsZeroWhenTheScanFails checks that a request the
// scanner refuses half-way is left zero for encoding/json.
func TestAScannedChatRequestIsZeroWhenTheScanFails(t *testing.T) {
	t.Parallel()
	var cr chatRequest
	if cr.scan([]byte(`{"model":"m","stream":true,"x":1,"max_tokens":1.5}`)) {
		t.Fatal("the scanner took a fractional max_tokens")
	}
	if !reflect.DeepEqual(cr, chatRequest{}) {
		t.Errorf("the refused request is %+v, want it zero", cr)
	}
}

// FuzzScanChatRequest checks that whatever the scanner accepts as a chat
// request, encoding/json accepts too and decodes to the same values, and
// that the members it keeps are those aiclient.Unknown finds.
func FuzzScanChatRequest(f *testing.F) {
	for _, s := range chatRequestSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var got chatRequest
		if !got.scan(data) {
			if !reflect.DeepEqual(got, chatRequest{}) {
				t.Fatalf("%q was refused but left %+v", data, got)
			}
			return
		}
		var want chatRequest
		if err := json.Unmarshal(data, &want); err != nil {
			t.Fatalf("the scanner accepted %q, which encoding/json refuses: %v", data, err)
		}
		want.keep(data)
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%q scanned to\n%+v\nwant\n%+v", data, got, want)
		}
	})
}
