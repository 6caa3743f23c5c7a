package aiclient

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/portico-dev/portico/internal/attrset"
)

const scope = "github.com/portico-dev/portico/aiclient"

// telemetry records one span and the gen_ai.client.* metrics per provider
// call, following the OpenTelemetry GenAI semantic conventions.
type telemetry struct {
	tracer   trace.Tracer
	tokens   metric.Int64Histogram
	duration metric.Float64Histogram
	capture  bool
	sets     attrset.Cache[metricKey]
}

// metricKey is what the attributes of a GenAI measurement are made of;
// empty members are left out of the set.
type metricKey struct {
	op, provider, model, responseModel, tokenType, errorType string
}

func metricSet(k metricKey) attribute.Set {
	kvs := []attribute.KeyValue{
		attribute.String("gen_ai.operation.name", k.op),
		attribute.String("gen_ai.provider.name", k.provider),
		attribute.String("gen_ai.request.model", k.model),
	}
	if k.responseModel != "" {
		kvs = append(kvs, attribute.String("gen_ai.response.model", k.responseModel))
	}
	if k.tokenType != "" {
		kvs = append(kvs, attribute.String("gen_ai.token.type", k.tokenType))
	}
	if k.errorType != "" {
		kvs = append(kvs, attribute.String("error.type", k.errorType))
	}
	return attribute.NewSet(kvs...)
}

func newTelemetry(cfg config) *telemetry {
	m := cfg.meters.Meter(scope)
	tokens, _ := m.Int64Histogram("gen_ai.client.token.usage",
		metric.WithUnit("{token}"),
		metric.WithDescription("Number of input and output tokens used."),
		metric.WithExplicitBucketBoundaries(1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864))
	duration, _ := m.Float64Histogram("gen_ai.client.operation.duration",
		metric.WithUnit("s"),
		metric.WithDescription("GenAI operation duration."),
		metric.WithExplicitBucketBoundaries(0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92))
	return &telemetry{tracer: cfg.tracers.Tracer(scope), tokens: tokens, duration: duration, capture: cfg.capture}
}

type call struct {
	t     *telemetry
	ctx   context.Context
	span  trace.Span
	start time.Time
	key   metricKey
}

func (t *telemetry) begin(ctx context.Context, op, provider, model string, req *Request) (context.Context, *call) {
	attrs := []attribute.KeyValue{
		attribute.String("gen_ai.operation.name", op),
		attribute.String("gen_ai.provider.name", provider),
		attribute.String("gen_ai.request.model", model),
	}
	if req != nil {
		if req.MaxOutputTokens > 0 {
			attrs = append(attrs, attribute.Int("gen_ai.request.max_tokens", req.MaxOutputTokens))
		}
		if req.Temperature != nil {
			attrs = append(attrs, attribute.Float64("gen_ai.request.temperature", *req.Temperature))
		}
		if req.TopP != nil {
			attrs = append(attrs, attribute.Float64("gen_ai.request.top_p", *req.TopP))
		}
		if req.Seed != nil {
			attrs = append(attrs, attribute.Int64("gen_ai.request.seed", *req.Seed))
		}
		if len(req.Stop) > 0 {
			attrs = append(attrs, attribute.StringSlice("gen_ai.request.stop_sequences", req.Stop))
		}
		if req.ResponseFormat != nil {
			out := "text"
			if req.ResponseFormat.Type != FormatText {
				out = "json"
			}
			attrs = append(attrs, attribute.String("gen_ai.output.type", out))
		}
		if t.capture {
			attrs = append(attrs, captureInput(req)...)
		}
	}
	ctx, span := t.tracer.Start(ctx, op+" "+model, trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...))
	return ctx, &call{t: t, ctx: ctx, span: span, start: time.Now(), key: metricKey{op: op, provider: provider, model: model}}
}

func (c *call) end(resp *Response, usage *Usage, err error) {
	k := c.key
	// A span that records nothing (no tracer provider, or not sampled) is
	// given no attributes: building them is most of what it would cost.
	recording := c.span.IsRecording()
	if resp != nil {
		k.responseModel = resp.Model
	}
	if resp != nil && recording {
		spanAttrs := []attribute.KeyValue{attribute.String("gen_ai.response.id", resp.ID)}
		if resp.FinishReason != "" {
			spanAttrs = append(spanAttrs, attribute.StringSlice("gen_ai.response.finish_reasons", []string{string(resp.FinishReason)}))
		}
		if c.t.capture {
			spanAttrs = append(spanAttrs, captureOutput(resp)...)
		}
		c.span.SetAttributes(spanAttrs...)
	}
	if usage != nil && recording {
		c.span.SetAttributes(
			attribute.Int64("gen_ai.usage.input_tokens", usage.InputTokens),
			attribute.Int64("gen_ai.usage.output_tokens", usage.OutputTokens))
		if usage.CacheReadTokens > 0 {
			c.span.SetAttributes(attribute.Int64("gen_ai.usage.cache_read.input_tokens", usage.CacheReadTokens))
		}
		if usage.CacheWriteTokens > 0 {
			c.span.SetAttributes(attribute.Int64("gen_ai.usage.cache_creation.input_tokens", usage.CacheWriteTokens))
		}
	}
	if usage != nil {
		in, out := k, k
		in.tokenType, out.tokenType = "input", "output"
		c.t.tokens.Record(c.ctx, usage.InputTokens, c.t.sets.Get(in, metricSet).Record...)
		c.t.tokens.Record(c.ctx, usage.OutputTokens, c.t.sets.Get(out, metricSet).Record...)
	}
	if err != nil {
		typ := "_OTHER"
		var e *Error
		if errors.As(err, &e) {
			typ = string(e.Kind)
		} else if errors.Is(err, context.Canceled) || errors.Is(err, errClosed) {
			typ = "canceled"
		}
		k.errorType = typ
		c.span.SetAttributes(attribute.String("error.type", typ))
		c.span.SetStatus(codes.Error, err.Error())
	}
	c.t.duration.Record(c.ctx, time.Since(c.start).Seconds(), c.t.sets.Get(k, metricSet).Record...)
	c.span.End()
}

func (t *telemetry) chat(ctx context.Context, p Provider, req *Request) (*Response, error) {
	ctx, c := t.begin(ctx, "chat", p.Name(), req.Model, req)
	resp, err := p.Chat(ctx, req)
	if err != nil {
		c.end(nil, nil, err)
		return nil, err
	}
	c.end(resp, &resp.Usage, nil)
	return resp, nil
}

// stream wraps the provider's stream so the span and metrics end with it:
// at its end, on its error, or when it is closed early.
func (t *telemetry) stream(ctx context.Context, p Provider, req *Request) (*Stream, error) {
	ctx, c := t.begin(ctx, "chat", p.Name(), req.Model, req)
	s, err := p.Stream(ctx, req)
	if err != nil {
		c.end(nil, nil, err)
		return nil, err
	}
	st := &streamState{t: t, c: c}
	return NewStream(func() (Event, error) {
		if s.Next() {
			ev := s.Current()
			st.add(ev)
			return ev, nil
		}
		st.finish(s.Err())
		if err := s.Err(); err != nil {
			return Event{}, err
		}
		return Event{}, io.EOF
	}, func() error {
		err := s.Close()
		st.finish(errClosed)
		return err
	}).WithBuffered(s.Buffered), nil
}

// streamState gathers what a stream's span records. Close may run on
// another goroutine than Next, so it is guarded.
type streamState struct {
	t        *telemetry
	c        *call
	mu       sync.Mutex
	acc      Accumulator
	sawUsage bool
	ended    bool
}

func (st *streamState) add(ev Event) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if ev.Type == EventUsage {
		st.sawUsage = true
	}
	// Text is only kept when content is captured.
	if (ev.Type != EventText && ev.Type != EventReasoning) || st.t.capture {
		st.acc.Add(ev)
	}
}

func (st *streamState) finish(err error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.ended {
		return
	}
	st.ended = true
	resp := st.acc.Response()
	var u *Usage
	if st.sawUsage {
		u = &resp.Usage
	}
	st.c.end(resp, u, err)
}

var errClosed = errors.New("stream closed before its end")

func (t *telemetry) embed(ctx context.Context, provider string, e Embedder, req *EmbedRequest) (*EmbedResponse, error) {
	ctx, c := t.begin(ctx, "embeddings", provider, req.Model, nil)
	resp, err := e.Embed(ctx, req)
	if err != nil {
		c.end(nil, nil, err)
		return nil, err
	}
	c.end(&Response{Model: resp.Model}, &resp.Usage, nil)
	return resp, nil
}

// captureInput renders the request's messages in the GenAI conventions'
// message shape.
func captureInput(req *Request) []attribute.KeyValue {
	var system []map[string]any
	var msgs []map[string]any
	for _, m := range req.Messages {
		if m.Role == RoleSystem || m.Role == RoleDeveloper {
			for _, p := range m.Parts {
				system = append(system, map[string]any{"type": "text", "content": p.Text})
			}
			continue
		}
		msgs = append(msgs, conventionMessage(m))
	}
	var out []attribute.KeyValue
	if len(system) > 0 {
		out = append(out, attribute.String("gen_ai.system_instructions", mustJSON(system)))
	}
	return append(out, attribute.String("gen_ai.input.messages", mustJSON(msgs)))
}

func captureOutput(resp *Response) []attribute.KeyValue {
	m := conventionMessage(resp.Message)
	m["finish_reason"] = string(resp.FinishReason)
	return []attribute.KeyValue{attribute.String("gen_ai.output.messages", mustJSON([]any{m}))}
}

func conventionMessage(m Message) map[string]any {
	parts := []map[string]any{}
	if m.Role == RoleTool {
		parts = append(parts, map[string]any{"type": "tool_call_response", "id": m.ToolCallID, "response": m.Text()})
	} else {
		for _, p := range m.Parts {
			switch p.Type {
			case PartText:
				parts = append(parts, map[string]any{"type": "text", "content": p.Text})
			case PartReasoning:
				if !p.Redacted {
					parts = append(parts, map[string]any{"type": "reasoning", "content": p.Text})
				}
			default:
				if p.URL != "" {
					parts = append(parts, map[string]any{"type": "uri", "modality": string(p.Type), "uri": p.URL})
				} else {
					parts = append(parts, map[string]any{"type": "blob", "modality": string(p.Type), "mime_type": p.MIMEType})
				}
			}
		}
	}
	for _, tc := range m.ToolCalls {
		parts = append(parts, map[string]any{"type": "tool_call", "id": tc.ID, "name": tc.Name, "arguments": tc.Arguments})
	}
	return map[string]any{"role": string(m.Role), "parts": parts}
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	return string(b)
}
