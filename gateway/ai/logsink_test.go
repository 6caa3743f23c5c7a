package ai_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/aiclient"
	"github.com/portico-dev/portico/gateway/ai"
	"github.com/portico-dev/portico/internal/cputime"
)

// withoutTime drops the time of a log line, for lines to compare.
func withoutTime(groups []string, a slog.Attr) slog.Attr {
	if a.Key == slog.TimeKey && len(groups) == 0 {
		return slog.Attr{}
	}
	return a
}

// TestTheCallRecordLineIsTheSameAsEver checks the bytes of the "ai call"
// line a LogSink writes, which log pipelines parse.
func TestTheCallRecordLineIsTheSameAsEver(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	sink := ai.LogSink(slog.New(slog.NewJSONHandler(&out, &slog.HandlerOptions{ReplaceAttr: withoutTime})))
	sink.Record(context.Background(), &ai.Record{
		Time: time.Unix(1767225600, 0), RequestID: "req_1", Endpoint: "chat", Consumer: "c1", Tenant: "t1",
		Alias: "fast", Provider: "openai", Model: "gpt-4o", Fallbacks: 1, Stream: true,
		Usage: aiclient.Usage{InputTokens: 12, CacheReadTokens: 2, OutputTokens: 80, ReasoningTokens: 3},
		Cost:  0.00125, Latency: 1500 * time.Millisecond, TimeToFirstToken: 250 * time.Millisecond, Status: 200,
		Error: "canceled", Input: []aiclient.Message{aiclient.User(aiclient.Text("hi"))},
	})
	want := `{"level":"INFO","msg":"ai call","endpoint":"chat","consumer":"c1","tenant":"t1","alias":"fast","provider":"openai","model":"gpt-4o","fallbacks":1,"stream":true,"input_tokens":12,"cached_tokens":2,"output_tokens":80,"reasoning_tokens":3,"cost":0.00125,"latency":1500000000,"ttft":250000000,"status":200,"request_id":"req_1","error":"canceled","input":"[{\"role\":\"user\",\"parts\":[{\"type\":\"text\",\"text\":\"hi\"}]}]"}` + "\n"
	if got := out.String(); got != want {
		t.Errorf("the line is\n%s\nwant\n%s", got, want)
	}
}

// TestTheCallRecordLineNamesItsSource checks that a handler that adds
// the source of its records names the sink's file.
func TestTheCallRecordLineNamesItsSource(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	sink := ai.LogSink(slog.New(slog.NewJSONHandler(&out, &slog.HandlerOptions{AddSource: true})))
	for range 2 {
		sink.Record(context.Background(), &ai.Record{Endpoint: "chat", Status: 200})
	}
	for line := range strings.Lines(out.String()) {
		if !strings.Contains(line, `record.go","line":`) {
			t.Errorf("the line %s does not name record.go as its source", line)
		}
	}
}

// BenchmarkLogSink writes a streamed call's record as a JSON line, as
// the gateway does after every AI call.
func BenchmarkLogSink(b *testing.B) {
	sink := ai.LogSink(slog.New(slog.NewJSONHandler(io.Discard, nil)))
	r := &ai.Record{Time: time.Unix(1767225600, 0), RequestID: "req_1", Endpoint: "chat", Consumer: "loadtest",
		Alias: "bench", Provider: "mock", Model: "mock-1", Stream: true,
		Usage:   aiclient.Usage{InputTokens: 12, OutputTokens: 80},
		Latency: 1500 * time.Microsecond, TimeToFirstToken: 250 * time.Microsecond, Status: 200}
	ctx := context.Background()
	b.ReportAllocs()
	defer cputime.PerOp(b)()
	for b.Loop() {
		sink.Record(ctx, r)
	}
}
