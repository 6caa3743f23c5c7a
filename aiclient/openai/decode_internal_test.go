package openai

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"reflect"
	"testing"

	"github.com/portico-dev/portico/aiclient"
)

// chunkSeeds are the data lines of the recorded streams, and chunks
// written to reach every branch of the scanner.
func chunkSeeds(f *testing.F) [][]byte {
	var seeds [][]byte
	for _, name := range []string{"stream_text.sse", "stream_tools.sse", "stream_error.sse"} {
		b, err := os.ReadFile("testdata/" + name)
		if err != nil {
			f.Fatal(err)
		}
		sc := bufio.NewScanner(bytes.NewReader(b))
		for sc.Scan() {
			if d, ok := bytes.CutPrefix(sc.Bytes(), []byte("data: ")); ok {
				seeds = append(seeds, bytes.Clone(d))
			}
		}
	}
	for _, s := range []string{
		`{"id":"c","object":"chat.completion.chunk","created":1694268190,"model":"m","system_fingerprint":"fp","choices":[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}],"obfuscation":"x1"}`,
		`{"choices":[{"index":0,"delta":{"content":"a \"quoted\" line\nand a tab\t, a slash \/ and \u00e9\ud83d\ude00 \ud800 \uDC00x"}}]}`,
		`{"choices":[{"index":0,"delta":{"content":"héllo wörld 世界"}}]}`,
		`{"choices":[{"index":0,"delta":{"content":"\xff"}}]}`,
		`{"choices":[{"index":0,"delta":{"content":"a\"b\xff"}}]}`,
		`{"choices":[{"index":1,"delta":{"content":"b"}},null,{"index":0,"delta":null,"finish_reason":"stop"}]}`,
		`{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"get","arguments":"{\"a\":1}"}},{"index":null,"function":null},null]}}]}`,
		`{"choices":[],"usage":{"prompt_tokens":20,"completion_tokens":198,"total_tokens":218,"prompt_tokens_details":{"cached_tokens":3,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":5,"accepted_prediction_tokens":0}}}`,
		`{"choices":null,"usage":null,"error":null,"object":null,"message":null,"type":null,"id":null,"model":null,"created":null}`,
		`{"usage":{"prompt_tokens_details":null,"completion_tokens_details":null,"prompt_tokens":-0}}`,
		`{"error":{"message":"boom","type":"server_error"}}`,
		`{"object":"error","message":"bad","type":"invalid_request_error"}`,
		`{"Choices":[]}`, `{"choices":[],"choices":[]}`, `{"CHOICES":[]}`, `{"choic\u0065s":[]}`, `{"ſype":"x"}`,
		`{"created":1.5}`, `{"created":1e3}`, `{"created":99999999999999999999}`, `{"created":-12}`, `{"created":01}`,
		`{"choices":[{"index":"0"}]}`, `{"choices":{}}`, `{"choices":[{"logprobs":{"content":[]}}]}`,
		`{"x":[1,-2.5e+3,true,false,null,{"y":"\u0041"}],"z":{}}`, `{"x":1,"x":null}`, `{"x":null,"x":2}`, `{"x":1,"x":3, "service_tier" : "default" }`, `{"x":[1,}`, `{"x":tru}`, `{"x":"\q"}`, `{"x":"a` + "\x01" + `"}`,
		`  {"choices" : [ { "index" : 0 , "delta" : { "content" : "s" } } ] }  `, `{}`, `[]`, `null`, `"x"`, `{"a":1}{}`, ``,
	} {
		seeds = append(seeds, []byte(s))
	}
	return seeds
}

// view is v as JSON: every exported field, a nil pointer or slice told
// from an empty one (the one omitempty pointer, a tool call's index, is
// omitted only when nil), without the unexported fields the scanner alone
// sets.
func view(t *testing.T, v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// FuzzDecodeChunk checks that whatever the scanner accepts as a stream
// chunk, encoding/json accepts too and decodes to the same values, with
// and without the chunk's head, and that the members it keeps for
// [aiclient.Native] are those [aiclient.Unknown] finds.
func FuzzDecodeChunk(f *testing.F) {
	for _, s := range chunkSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, withHead := range []bool{false, true} {
			var got head
			s := newScanner(data, true)
			if !s.chunk(&got, withHead) || !s.End() {
				continue
			}
			if g, w := s.extra, aiclient.Unknown(data, known...); !reflect.DeepEqual(g, w) {
				t.Fatalf("withHead=%v: %q kept the members %q, want %q", withHead, data, g, w)
			}
			var want head
			var err error
			if withHead {
				err = json.Unmarshal(data, &want)
			} else {
				err = json.Unmarshal(data, &want.chunk)
			}
			if err != nil {
				t.Fatalf("withHead=%v: the scanner accepted %q, which encoding/json refuses: %v", withHead, data, err)
			}
			if g, w := view(t, got), view(t, want); g != w {
				t.Fatalf("withHead=%v: %q decoded to\n%s\nwant\n%s", withHead, data, g, w)
			}
		}
	})
}

// FuzzDecodeCompletion checks the same of whole responses.
func FuzzDecodeCompletion(f *testing.F) {
	for _, name := range []string{"response_text.json", "response_tools.json"} {
		b, err := os.ReadFile("testdata/" + name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{
		`{"id":"c","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"hi \u00e9","refusal":null,"annotations":[]},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3},"service_tier":"default"}`,
		`{"choices":[{"message":{"content":null,"reasoning_content":"think","reasoning":"more","refusal":"no","tool_calls":[{"id":"a","type":"function","function":{"name":"f","arguments":"{}"}}]},"finish_reason":"tool_calls"}]}`,
		`{"choices":[{"message":null},null],"error":null}`, `{"choices":[{"Message":{}}]}`, `{"error":{"message":"x"}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var got completion
		s := newScanner(data, true)
		if !s.completion(&got) || !s.End() {
			return
		}
		if g, w := s.extra, aiclient.Unknown(data, known...); !reflect.DeepEqual(g, w) {
			t.Fatalf("%q kept the members %q, want %q", data, g, w)
		}
		var want completion
		if err := json.Unmarshal(data, &want); err != nil {
			t.Fatalf("the scanner accepted %q, which encoding/json refuses: %v", data, err)
		}
		if g, w := view(t, got), view(t, want); g != w {
			t.Fatalf("%q decoded to\n%s\nwant\n%s", data, g, w)
		}
	})
}

// TestTheScannerTakesTheCommonShapes guards the fast path itself: the
// chunks and completions servers send are read without encoding/json.
func TestTheScannerTakesTheCommonShapes(t *testing.T) {
	t.Parallel()
	for _, data := range []string{
		`{"id":"c","object":"chat.completion.chunk","created":1694268190,"model":"m","system_fingerprint":"fp","choices":[{"index":0,"delta":{"role":"assistant","content":"a\nb é"},"logprobs":null,"finish_reason":null}],"obfuscation":"x1"}`,
		`{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"get","arguments":"{\"a\":1}"}}]}}]}`,
		`{"id":"c","choices":[],"usage":{"prompt_tokens":20,"completion_tokens":198,"total_tokens":218,"prompt_tokens_details":{"cached_tokens":3}}}`,
	} {
		var h head
		s := newScanner([]byte(data), false)
		if got := s.chunk(&h, true) && s.End(); !got {
			t.Errorf("the scanner refused %s", data)
		}
	}
	for _, name := range []string{"response_text.json", "response_tools.json"} {
		b, err := os.ReadFile("testdata/" + name)
		if err != nil {
			t.Fatal(err)
		}
		var c completion
		s := newScanner(b, false)
		if got := s.completion(&c) && s.End(); !got {
			t.Errorf("the scanner refused %s", name)
		}
	}
}
