package ai_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/portico-dev/portico/aiclient"
	"github.com/portico-dev/portico/aiclient/demo"
	"github.com/portico-dev/portico/gateway/ai"
)

var benchBody = []byte(`{"model":"demo","max_tokens":64,"messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"What is the capital of France?"}]}`)

// BenchmarkDemoProvider is the baseline: the demo provider called
// directly, without the gateway.
func BenchmarkDemoProvider(b *testing.B) {
	p := demo.New()
	req := &aiclient.Request{Model: "demo", MaxOutputTokens: 64, Messages: []aiclient.Message{
		aiclient.System("Be brief."), aiclient.UserText("What is the capital of France?")}}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Chat(context.Background(), req); err != nil {
			b.Fatal(err)
		}
	}
}

func benchHandler(b *testing.B) http.Handler {
	h, err := ai.New(demoClient(),
		ai.WithAuthenticator(keys()),
		ai.WithLimit(ai.Limit{Tokens: 1 << 40, Requests: 1 << 40}),
		ai.WithBudget(ai.Budget{USD: 1e9}),
		ai.WithSink(ai.SinkFunc(func(context.Context, *ai.Record) {})))
	if err != nil {
		b.Fatal(err)
	}
	return h
}

// BenchmarkChat is one non-streamed chat call through the whole handler
// (authentication, decoding, a token limit, a request limit, a budget,
// the demo provider, encoding, the call record and metrics).
func BenchmarkChat(b *testing.B) {
	h := benchHandler(b)
	b.ReportAllocs()
	for b.Loop() {
		req, _ := http.NewRequest(http.MethodPost, "/v1/chat/completions", bytes.NewReader(benchBody))
		req.Header.Set("Authorization", "Bearer "+demoKey)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatalf("status %d: %s", w.Code, w.Body)
		}
	}
}

// firstByte records when the first byte of a response is written.
type firstByte struct {
	h     http.Header
	start time.Time
	first time.Duration
}

func (f *firstByte) Header() http.Header { return f.h }
func (f *firstByte) WriteHeader(int)     {}
func (f *firstByte) Flush()              {}
func (f *firstByte) Write(p []byte) (int, error) {
	if f.first == 0 {
		f.first = time.Since(f.start)
	}
	return len(p), nil
}

// BenchmarkStreamFirstByte reports the time from the start of a streamed
// call to the first byte the handler writes (ttfb-ns/op), with the demo
// provider answering at once: that is the time the gateway adds.
func BenchmarkStreamFirstByte(b *testing.B) {
	h := benchHandler(b)
	body := bytes.Replace(benchBody, []byte(`"model"`), []byte(`"stream":true,"model"`), 1)
	var total time.Duration
	b.ReportAllocs()
	for b.Loop() {
		req, _ := http.NewRequest(http.MethodPost, "/v1/chat/completions", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+demoKey)
		w := &firstByte{h: http.Header{}, start: time.Now()}
		h.ServeHTTP(w, req)
		if w.first == 0 {
			b.Fatal("nothing written")
		}
		total += w.first
	}
	b.ReportMetric(float64(total.Nanoseconds())/float64(b.N), "ttfb-ns/op")
}
