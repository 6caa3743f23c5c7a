package ai_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/portico-dev/portico/aiclient"
	"github.com/portico-dev/portico/aiclient/aitest"
	"github.com/portico-dev/portico/aiclient/demo"
	"github.com/portico-dev/portico/aiclient/openai"
	"github.com/portico-dev/portico/gateway/ai"
)

func TestRecordsNameTheFallbacksContentAndMetrics(t *testing.T) {
	t.Parallel()
	fake := aitest.NewServer(aitest.OpenAI)
	defer fake.Close()
	fake.Push(aitest.Status(http.StatusTooManyRequests, time.Millisecond))
	first := openai.New(openai.WithBaseURL(fake.URL()), openai.WithAPIKey("k"), openai.WithPolicies())
	client := aiclient.New(aiclient.WithRoute("demo",
		aiclient.Candidate{Provider: first, Model: "gpt-4o", Priority: 0},
		aiclient.Candidate{Provider: demo.New(), Priority: 1},
	), aiclient.WithPrices(demoPrices))
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer func() { _ = mp.Shutdown(context.Background()) }()
	rec := &recorder{}
	srv := serve(t, client, ai.WithSink(rec), ai.WithContent(true), ai.WithMeterProvider(mp))

	status, _, body := call(t, "POST", srv.URL+"/v1/chat/completions", "", chatBody("demo", "fall back please", 20))
	if status != 200 {
		t.Fatalf("status %d: %s", status, body)
	}
	rs := rec.all()
	if len(rs) != 1 {
		t.Fatalf("records = %d", len(rs))
	}
	r := rs[0]
	if got, want := r.Provider, "demo"; got != want {
		t.Errorf("provider %q, want %q", got, want)
	}
	if got, want := r.Fallbacks, 1; got != want {
		t.Errorf("fallbacks %d, want %d", got, want)
	}
	if got, want := r.Model, "demo"; got != want {
		t.Errorf("model %q, want %q", got, want)
	}
	if got, want := len(r.Input), 1; got != want {
		t.Fatalf("%d input messages recorded, want %d", got, want)
	}
	if got, want := r.Input[0].Text(), "fall back please"; got != want {
		t.Errorf("recorded input %q, want %q", got, want)
	}
	if r.Output == nil {
		t.Fatal("no output recorded")
	}
	if got, want := r.Output.Text(), "You said: fall back please"; got != want {
		t.Errorf("recorded output %q, want %q", got, want)
	}

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	sums := map[string]float64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				for _, p := range d.DataPoints {
					sums[m.Name] += float64(p.Value)
				}
			case metricdata.Sum[float64]:
				for _, p := range d.DataPoints {
					sums[m.Name] += p.Value
				}
			case metricdata.Histogram[float64]:
				for _, p := range d.DataPoints {
					sums[m.Name] += float64(p.Count)
				}
			}
		}
	}
	for name, want := range map[string]float64{
		"portico.ai.calls":    1,
		"portico.ai.tokens":   float64(r.Usage.TotalTokens()),
		"portico.ai.cost.usd": r.Cost,
		"portico.ai.duration": 1,
	} {
		if got := sums[name]; got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
}

func TestAStreamErrorAfterTheFirstByteIsAnInStreamError(t *testing.T) {
	t.Parallel()
	fake := aitest.NewServer(aitest.Anthropic)
	defer fake.Close()
	p := anthropicProvider(fake.URL())
	client := aiclient.New(aiclient.WithRoute("claude", aiclient.Candidate{Provider: p, Model: "claude-x"}))
	rec := &recorder{}
	srv := serve(t, client, ai.WithSink(rec))
	tests := []struct {
		name, path, body, want string
	}{
		{
			name: "in OpenAI's format",
			path: "/v1/chat/completions",
			body: `{"model":"claude","stream":true,"messages":[{"role":"user","content":"x"}]}`,
			want: `data: {"error":{"message":`,
		},
		{
			name: "in Anthropic's format",
			path: "/v1/messages",
			body: `{"model":"claude","max_tokens":50,"stream":true,"messages":[{"role":"user","content":"x"}]}`,
			want: "event: error\ndata: {\"type\":\"error\"",
		},
	}
	for _, tt := range tests {
		fake.Push(aitest.Reply{
			Text:       "a long answer cut short",
			Fault:      aitest.ErrorEvent,
			FaultAfter: 3,
			ChunkSize:  2,
		})
		status, _, body := call(t, "POST", srv.URL+tt.path, "", tt.body)
		if got, want := status, 200; got != want {
			t.Errorf("%s: status %d, want %d", tt.name, got, want)
		}
		if !strings.Contains(string(body), tt.want) {
			t.Errorf("%s: %s lacks the error %s", tt.name, body, tt.want)
		}
		for _, end := range []string{"[DONE]", "message_stop"} {
			if strings.Contains(string(body), end) {
				t.Errorf("%s: a failed stream ends normally with %s: %s", tt.name, end, body)
			}
		}
	}
	for _, r := range rec.all() {
		if got, want := r.Status, 200; got != want {
			t.Errorf("record status = %d, want %d", got, want)
		}
		if r.Error == "" {
			t.Errorf("record %+v should carry the stream's error", r)
		}
	}
}

// Regression: a stream that failed before its first content was recorded
// as served by that provider, with no fallback, when the next candidate
// answered.
func TestAStreamThatFailsBeforeItsFirstContentIsCountedAsAFallback(t *testing.T) {
	t.Parallel()
	fake := aitest.NewServer(aitest.Anthropic)
	defer fake.Close()
	fake.Push(aitest.Reply{Text: "never seen", Fault: aitest.ErrorEvent, FaultAfter: 1})
	client := aiclient.New(aiclient.WithRoute("claude",
		aiclient.Candidate{Provider: anthropicProvider(fake.URL()), Model: "claude-x", Priority: 0},
		aiclient.Candidate{Provider: demo.New(), Priority: 1},
	))
	rec := &recorder{}
	srv := serve(t, client, ai.WithSink(rec))

	status, _, body := call(t, "POST", srv.URL+"/v1/chat/completions", "",
		`{"model":"claude","stream":true,"messages":[{"role":"user","content":"x"}]}`)
	if status != 200 {
		t.Fatalf("status %d: %s", status, body)
	}
	rs := rec.all()
	if len(rs) != 1 {
		t.Fatalf("records = %d, want 1", len(rs))
	}
	if got, want := rs[0].Provider, "demo"; got != want {
		t.Errorf("provider = %q, want %q", got, want)
	}
	if got, want := rs[0].Fallbacks, 1; got != want {
		t.Errorf("fallbacks = %d, want %d", got, want)
	}
}
