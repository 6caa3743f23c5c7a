package aiclient_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/portico-dev/portico/aiclient"
	"github.com/portico-dev/portico/aiclient/aitest"
)

type recorders struct {
	spans   *tracetest.SpanRecorder
	metrics *sdkmetric.ManualReader
	opts    []aiclient.Option
}

func newRecorders() recorders {
	spans := tracetest.NewSpanRecorder()
	reader := sdkmetric.NewManualReader()
	return recorders{spans: spans, metrics: reader, opts: []aiclient.Option{
		aiclient.WithTracerProvider(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))),
		aiclient.WithMeterProvider(sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))),
	}}
}

func attrs(kvs []attribute.KeyValue) map[string]attribute.Value {
	m := map[string]attribute.Value{}
	for _, kv := range kvs {
		m[string(kv.Key)] = kv.Value
	}
	return m
}

func (r recorders) histogram(t *testing.T, name string) metricdata.Metrics {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := r.metrics.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name == name {
				return m
			}
		}
	}
	t.Fatalf("no metric %s", name)
	return metricdata.Metrics{}
}

func TestTelemetryFollowsTheGenAIConventions(t *testing.T) {
	t.Parallel()
	for _, stream := range []bool{false, true} {
		name := "for a whole call"
		if stream {
			name = "for a streamed call"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			r := newRecorders()
			_, p := fakeOpenAI(t, aitest.Reply{
				Model: "gpt-4o-2024-08-06",
				ID:    "chatcmpl-9",
				Text:  "secret answer",
				Usage: aiclient.Usage{InputTokens: 100, CacheReadTokens: 64, OutputTokens: 20},
			})
			c := aiclient.New(append(r.opts, aiclient.WithDefault(p))...)
			req := chatReq("gpt-4o")
			req.Messages = append([]aiclient.Message{aiclient.System("secret prompt")}, req.Messages...)
			req.Temperature, req.MaxOutputTokens = aiclient.Float(0.5), 100
			if stream {
				s, err := c.Stream(deadline(t), req)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := aiclient.Collect(s); err != nil {
					t.Fatal(err)
				}
			} else if _, err := c.Chat(deadline(t), req); err != nil {
				t.Fatal(err)
			}
			spans := r.spans.Ended()
			if len(spans) != 1 {
				t.Fatalf("%d spans", len(spans))
			}
			sp := spans[0]
			a := attrs(sp.Attributes())
			want := map[string]string{
				"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o",
				"gen_ai.response.model": "", "gen_ai.response.id": "chatcmpl-9",
			}
			for k, v := range want {
				if v != "" && a[k].AsString() != v {
					t.Errorf("%s = %q, want %q", k, a[k].AsString(), v)
				}
			}
			if got, want := sp.Name(), "chat gpt-4o"; got != want {
				t.Errorf("span name = %q, want %q", got, want)
			}
			for key, want := range map[string]int64{
				"gen_ai.usage.input_tokens":            100,
				"gen_ai.usage.output_tokens":           20,
				"gen_ai.usage.cache_read.input_tokens": 64,
				"gen_ai.request.max_tokens":            100,
			} {
				if got := a[key].AsInt64(); got != want {
					t.Errorf("%s = %d, want %d", key, got, want)
				}
			}
			if got, want := a["gen_ai.request.temperature"].AsFloat64(), 0.5; got != want {
				t.Errorf("gen_ai.request.temperature = %v, want %v", got, want)
			}
			if got, want := strings.Join(a["gen_ai.response.finish_reasons"].AsStringSlice(), ","), "stop"; got != want {
				t.Errorf("gen_ai.response.finish_reasons = %q, want %q", got, want)
			}
			for k, v := range a {
				if strings.Contains(v.String(), "secret") {
					t.Errorf("content captured by default in %s", k)
				}
			}
			tokens := r.histogram(t, "gen_ai.client.token.usage").Data.(metricdata.Histogram[int64])
			sums := map[string]int64{}
			for _, dp := range tokens.DataPoints {
				typ, _ := dp.Attributes.Value("gen_ai.token.type")
				sums[typ.AsString()] += dp.Sum
				if model, _ := dp.Attributes.Value("gen_ai.response.model"); model.AsString() != "gpt-4o-2024-08-06" {
					t.Errorf("token metric response model %q", model.AsString())
				}
			}
			if got, want := sums["input"], int64(100); got != want {
				t.Errorf("input token usage = %d, want %d", got, want)
			}
			if got, want := sums["output"], int64(20); got != want {
				t.Errorf("output token usage = %d, want %d", got, want)
			}
			dur := r.histogram(t, "gen_ai.client.operation.duration")
			if got, want := dur.Unit, "s"; got != want {
				t.Errorf("duration unit = %q, want %q", got, want)
			}
			if got, want := len(dur.Data.(metricdata.Histogram[float64]).DataPoints), 1; got != want {
				t.Errorf("duration data points = %d, want %d", got, want)
			}
		})
	}
}

func TestContentCaptureIsOptIn(t *testing.T) {
	t.Parallel()
	r := newRecorders()
	_, p := fakeOpenAI(t, aitest.Text("the answer", 1, 1))
	c := aiclient.New(append(r.opts, aiclient.WithDefault(p), aiclient.WithContentCapture(true))...)
	req := chatReq("m")
	req.Messages = append([]aiclient.Message{aiclient.System("be nice")}, req.Messages...)
	if _, err := c.Chat(deadline(t), req); err != nil {
		t.Fatal(err)
	}
	a := attrs(r.spans.Ended()[0].Attributes())
	if got := a["gen_ai.system_instructions"].AsString(); got != `[{"content":"be nice","type":"text"}]` {
		t.Errorf("system instructions %s", got)
	}
	if got := a["gen_ai.input.messages"].AsString(); got != `[{"parts":[{"content":"hi","type":"text"}],"role":"user"}]` {
		t.Errorf("input messages %s", got)
	}
	if got := a["gen_ai.output.messages"].AsString(); got != `[{"finish_reason":"stop","parts":[{"content":"the answer","type":"text"}],"role":"assistant"}]` {
		t.Errorf("output messages %s", got)
	}
}

func TestFailedAttemptsAreRecordedWithTheirErrorType(t *testing.T) {
	t.Parallel()
	r := newRecorders()
	_, p1 := fakeOpenAI(t, aitest.Status(429, time.Second))
	_, p2 := fakeOpenAI(t, aitest.Text("ok", 1, 1))
	c := aiclient.New(append(r.opts, aiclient.WithRoute("m", aiclient.Candidate{Provider: p1, Model: "a"}, aiclient.Candidate{Provider: p2, Model: "b", Priority: 1}))...)
	if _, err := c.Chat(deadline(t), chatReq("m")); err != nil {
		t.Fatal(err)
	}
	spans := r.spans.Ended()
	if len(spans) != 2 {
		t.Fatalf("%d spans, want one per attempt", len(spans))
	}
	if got := attrs(spans[0].Attributes())["error.type"].AsString(); got != "rate_limited" {
		t.Fatalf("first attempt error.type %q", got)
	}
	if _, ok := attrs(spans[1].Attributes())["error.type"]; ok {
		t.Fatal("the successful attempt has an error.type")
	}
}

func TestAStreamClosedEarlyEndsItsSpan(t *testing.T) {
	t.Parallel()
	r := newRecorders()
	_, p := fakeOpenAI(t, aitest.Text("a long answer in many pieces", 1, 1))
	c := aiclient.New(append(r.opts, aiclient.WithDefault(p))...)
	s, err := c.Stream(deadline(t), chatReq("m"))
	if err != nil {
		t.Fatal(err)
	}
	if !s.Next() {
		t.Fatal(s.Err())
	}
	if len(r.spans.Ended()) != 0 {
		t.Fatal("the span ended while the stream was open")
	}
	s.Close()
	spans := r.spans.Ended()
	if got, want := len(spans), 1; got != want {
		t.Fatalf("spans after Close: %d, want %d", got, want)
	}
	if got, want := attrs(spans[0].Attributes())["error.type"].AsString(), "canceled"; got != want {
		t.Fatalf("error.type = %q, want %q", got, want)
	}
}
