package telemetry_test

import (
	"context"
	"testing"
	"time"

	"github.com/portico-dev/portico/gateway/calllog"
	"github.com/portico-dev/portico/telemetry"
)

func TestCallRecordsReachTheCollectorAsOTLPLogs(t *testing.T) {
	t.Parallel()
	r := &receiver{}
	p, err := telemetry.Setup(context.Background(), telemetry.Config{Endpoint: startHTTP(t, r), Protocol: telemetry.ProtocolHTTP})
	if err != nil {
		t.Fatal(err)
	}
	sink := calllog.Async(telemetry.CallLog(p.LoggerProvider), calllog.AsyncConfig{Name: "otlp", MeterProvider: p.MeterProvider})
	rec := calllog.NewRecorder(calllog.RecorderConfig{Sinks: []calllog.Sink{sink}})
	for range 3 {
		rec.Record(&calllog.Record{
			Time:   time.Now(),
			Tenant: "acme",
			Route:  "/orders/{id}",
			Status: 200,
		})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := rec.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := sink.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := p.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if got, want := len(r.logs), 3; got != want {
		t.Fatalf("log records = %d, want %d", got, want)
	}
	if got, want := r.logs[0], "call"; got != want {
		t.Errorf("body = %q, want %q", got, want)
	}
}
