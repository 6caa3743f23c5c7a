package anthropic_test

import (
	"bytes"
	"fmt"
	"io"
	"testing"

	"github.com/portico-dev/portico/aiclient/anthropic"
	"github.com/portico-dev/portico/aiclient/internal/testkit"
)

// stream200 is a Messages stream of 200 events: message_start, a text
// block of 195 deltas, message_delta and message_stop.
func stream200() []byte {
	var b bytes.Buffer
	b.WriteString("event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_bench\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-sonnet-4-5\",\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":20,\"output_tokens\":1}}}\n\n")
	b.WriteString("event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n")
	for i := range 195 {
		fmt.Fprintf(&b, "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"token %d \"}}\n\n", i)
	}
	b.WriteString("event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n")
	b.WriteString("event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":195}}\n\n")
	b.WriteString("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n")
	return b.Bytes()
}

// BenchmarkDecodeStream200 decodes a 200-event stream; MB/s comes from
// SetBytes, and allocs/event is reported alongside.
func BenchmarkDecodeStream200(b *testing.B) {
	body := stream200()
	p := anthropic.New()
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		s := p.DecodeStream("m", io.NopCloser(bytes.NewReader(body)))
		for s.Next() {
		}
		if s.Err() != nil {
			b.Fatal(s.Err())
		}
	}
	b.StopTimer()
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
	p := anthropic.New()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.EncodeRequest(req, false); err != nil {
			b.Fatal(err)
		}
		if _, err := p.DecodeResponse("m", resp); err != nil {
			b.Fatal(err)
		}
	}
}
