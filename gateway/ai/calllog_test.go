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
	if len(got) != 1 || len(want) != 1 {
		t.Fatalf("call log %d records, AI records %d", len(got), len(want))
	}
	if g, w := got[0], want[0]; g.Consumer != "alice" || g.Model != w.Model || g.InputTokens != w.Usage.InputTokens ||
		g.OutputTokens != w.Usage.OutputTokens || g.Cost != w.Cost || g.Cost == 0 {
		t.Errorf("call log %+v, AI record %+v", g, w)
	}
}
