package calllog_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/portico-dev/portico/gateway/calllog"
)

// BenchmarkRecord measures what a request pays to record a call: one
// non-blocking send into the recorder's queue ("queued", with a sink that
// keeps up, so records are accepted), or an atomic increment when the
// queue is full ("dropped", with a stuck sink).
func BenchmarkRecord(b *testing.B) {
	r := &calllog.Record{
		Time:      time.Now(),
		Tenant:    "acme",
		Consumer:  "shop",
		API:       "orders",
		Route:     "/orders/{id}",
		Method:    http.MethodGet,
		Status:    200,
		Latency:   3 * time.Millisecond,
		RequestID: "01J0000000000000000000000",
	}
	b.Run("queued", func(b *testing.B) {
		discard := calllog.SinkFunc(func(context.Context, []calllog.Record) error { return nil })
		rec := calllog.NewRecorder(calllog.RecorderConfig{Sinks: []calllog.Sink{discard}, Buffer: 1 << 20})
		defer func() { _ = rec.Close(context.Background()) }()
		b.ReportAllocs()
		for b.Loop() {
			rec.Record(r)
		}
		b.StopTimer()
		b.ReportMetric(float64(rec.Dropped())/float64(b.N), "dropped/op")
	})
	b.Run("dropped", func(b *testing.B) {
		release := make(chan struct{})
		stuck := calllog.SinkFunc(func(context.Context, []calllog.Record) error { <-release; return nil })
		rec := calllog.NewRecorder(calllog.RecorderConfig{Sinks: []calllog.Sink{stuck}, Buffer: 1, Batch: 1})
		defer func() { close(release); _ = rec.Close(context.Background()) }()
		b.ReportAllocs()
		for b.Loop() {
			rec.Record(r)
		}
	})
}

// BenchmarkMiddleware measures the whole middleware around a trivial handler.
func BenchmarkMiddleware(b *testing.B) {
	rec := calllog.NewRecorder(calllog.RecorderConfig{Sinks: []calllog.Sink{calllog.NewRing(4096)}, Buffer: 1 << 16})
	defer func() { _ = rec.Close(context.Background()) }()
	h := calllog.Middleware(calllog.MiddlewareConfig{Recorder: rec})(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	}))
	req := httptest.NewRequest(http.MethodGet, "/orders/1", nil)
	w := httptest.NewRecorder()
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(w, req)
	}
}

// BenchmarkAggregatorWrite measures the background cost per record.
func BenchmarkAggregatorWrite(b *testing.B) {
	agg := calllog.NewAggregator(calllog.AggregatorConfig{})
	now := time.Now()
	batch := make([]calllog.Record, 256)
	for i := range batch {
		batch[i] = calllog.Record{
			Time:     now,
			Tenant:   "acme",
			Consumer: "shop",
			API:      "orders",
			Status:   200,
			Latency:  time.Duration(i+1) * time.Millisecond,
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		_ = agg.Write(context.Background(), batch)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(batch)), "ns/record")
}
