package ai_test

import (
	"context"
	"net/http/httptest"
	"testing"

	"github.com/portico-dev/portico/gateway/ai"
	"github.com/portico-dev/portico/gateway/calllog"
)

func TestTheGatewaysCallLogGetsTheAIDetails(t *testing.T) {
	t.Parallel()
	ring := calllog.NewRing(10)
	logRec := calllog.NewRecorder(calllog.RecorderConfig{Sinks: []calllog.Sink{ring}})
	defer func() { _ = logRec.Close(context.Background()) }()
	rec := &recorder{}
	h, err := ai.New(demoClient(), ai.WithAuthenticator(keys()), ai.WithSink(rec))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(calllog.Middleware(calllog.MiddlewareConfig{Recorder: logRec})(h))
	defer srv.Close()
	if status, _, body := call(t, "POST", srv.URL+"/v1/chat/completions", demoKey, chatBody("demo", "log me", 10)); status != 200 {
		t.Fatalf("status %d: %s", status, body)
	}
	if err := logRec.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := ring.Query(calllog.Filter{Tenant: "acme"})
	want := rec.all()
	if n := len(got); n != 1 {
		t.Fatalf("call log has %d records, want 1", n)
	}
	if n := len(want); n != 1 {
		t.Fatalf("%d AI records, want 1", n)
	}
	g, w := got[0], want[0]
	if got, want := g.Consumer, "alice"; got != want {
		t.Errorf("call log consumer = %q, want %q", got, want)
	}
	type usage struct {
		Model                     string
		InputTokens, OutputTokens int64
		Cost                      float64
	}
	if got, want := (usage{
		Model:        g.Model,
		InputTokens:  g.InputTokens,
		OutputTokens: g.OutputTokens,
		Cost:         g.Cost,
	}), (usage{
		Model:        w.Model,
		InputTokens:  w.Usage.InputTokens,
		OutputTokens: w.Usage.OutputTokens,
		Cost:         w.Cost,
	}); got != want {
		t.Errorf("call log %+v, want the AI record's %+v", got, want)
	}
	if g.Cost == 0 {
		t.Error("call log cost = 0, want the call's cost")
	}
}
