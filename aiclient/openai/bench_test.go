package openai_test

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/portico-dev/portico/aiclient"
	"github.com/portico-dev/portico/aiclient/internal/testkit"
	"github.com/portico-dev/portico/aiclient/openai"
	"github.com/portico-dev/portico/internal/cputime"
)

// stream200 is a recorded-style stream of 200 events: 198 content chunks,
// the finish chunk and the usage chunk, then [DONE].
func stream200() []byte {
	var b bytes.Buffer
	for i := range 198 {
		fmt.Fprintf(&b, `data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1694268190,"model":"gpt-4o-mini-2024-07-18","system_fingerprint":"fp_44709d6fcb","choices":[{"index":0,"delta":{"content":"token %d "},"logprobs":null,"finish_reason":null}]}`+"\n\n", i)
	}
	b.WriteString(`data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1694268190,"model":"gpt-4o-mini-2024-07-18","choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}]}` + "\n\n")
	b.WriteString(`data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1694268190,"model":"gpt-4o-mini-2024-07-18","choices":[],"usage":{"prompt_tokens":20,"completion_tokens":198,"total_tokens":218}}` + "\n\n")
	b.WriteString("data: [DONE]\n\n")
	return b.Bytes()
}

// BenchmarkDecodeStream200 decodes a 200-event stream; MB/s comes from
// SetBytes, and allocs/event is reported alongside.
func BenchmarkDecodeStream200(b *testing.B) {
	body := stream200()
	p := openai.New()
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	var events int
	for b.Loop() {
		s := p.DecodeStream("m", io.NopCloser(bytes.NewReader(body)))
		events = 0
		for s.Next() {
			events++
		}
		if s.Err() != nil {
			b.Fatal(s.Err())
		}
	}
	b.StopTimer()
	if events < 200 {
		b.Fatalf("decoded %d events", events)
	}
	allocs := testing.AllocsPerRun(10, func() {
		s := p.DecodeStream("m", io.NopCloser(bytes.NewReader(body)))
		for s.Next() {
		}
	})
	b.ReportMetric(allocs/200, "allocs/event")
}

// BenchmarkEncodeDecodeCall encodes the sample request and decodes a
// whole response, the CPU cost of a non-streamed call.
func BenchmarkEncodeDecodeCall(b *testing.B) {
	req := testkit.SampleRequest()
	resp := testkit.Read(b, "response_tools.json")
	p := openai.New()
	b.ReportAllocs()
	defer cputime.PerOp(b)()
	for b.Loop() {
		if _, err := p.EncodeRequest(req, false); err != nil {
			b.Fatal(err)
		}
		if _, err := p.DecodeResponse("m", resp); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeResponse decodes a whole completion of about 670 bytes
// (the load harness's mock answer), system_fingerprint kept as a
// provider member.
func BenchmarkDecodeResponse(b *testing.B) {
	body := []byte(`{"id":"chatcmpl-bench","created":1767225600,"model":"mock-1","system_fingerprint":"fp_bench","object":"chat.completion","choices":[{"index":0,"finish_reason":"stop","logprobs":null,"message":{"role":"assistant","content":"` +
		strings.Repeat("Portico forwards this. ", 12)[:260] + `","refusal":null}}],"usage":{"prompt_tokens":12,"completion_tokens":80,"total_tokens":92,"prompt_tokens_details":{"cached_tokens":0},"completion_tokens_details":{"reasoning_tokens":0}}}`)
	p := openai.New()
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	defer cputime.PerOp(b)()
	for b.Loop() {
		r, err := p.DecodeResponse("m", body)
		if err != nil {
			b.Fatal(err)
		}
		if r.Native == nil {
			b.Fatal("system_fingerprint was not kept")
		}
	}
}

// BenchmarkEncodeRequest encodes the request of the load harness's chat
// call (two text messages), as every call does before it is sent.
func BenchmarkEncodeRequest(b *testing.B) {
	req := &aiclient.Request{Model: "mock-1", MaxOutputTokens: 100, Messages: []aiclient.Message{
		aiclient.System("You are terse."), aiclient.User(aiclient.Text("Say something about gateways."))}}
	p := openai.New()
	b.ReportAllocs()
	defer cputime.PerOp(b)()
	for b.Loop() {
		if _, err := p.EncodeRequest(req, true); err != nil {
			b.Fatal(err)
		}
	}
}
