package ai

import (
	"cmp"
	"context"
	"encoding/json"
	"log/slog"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/portico-dev/portico/aiclient"
	"github.com/portico-dev/portico/internal/attrset"
)

// Record describes one AI call, whatever its outcome.
type Record struct {
	// Time is when the call arrived.
	Time time.Time `json:"time"`
	// RequestID is the gateway's request ID, if one was set.
	RequestID string `json:"request_id,omitempty"`
	// Endpoint is "chat", "embeddings", "messages" or "prompt:<name>".
	Endpoint string `json:"endpoint"`
	// Consumer and Tenant identify the caller.
	Consumer string `json:"consumer,omitempty"`
	Tenant   string `json:"tenant,omitempty"`
	// Alias is the model the caller asked for.
	Alias string `json:"alias"`
	// Provider and Model are who served the call, when known (see
	// [Track]); Model is otherwise the model the response names.
	Provider string `json:"provider,omitempty"`
	Model    string `json:"model,omitempty"`
	// Fallbacks counts the candidates that failed before one served the
	// call (see [Track]).
	Fallbacks int `json:"fallbacks,omitempty"`
	// Cache is "hit" when a response cache answered the call, or
	// "semantic" when it answered with a similar request's answer (see
	// [CacheHeader]); such a call's usage and cost are zero.
	Cache string `json:"cache,omitempty"`
	// Guardrails are the guardrail rules that matched the call (see the
	// aiclient/guard package), in order; never the values they found.
	Guardrails []Guardrail `json:"guardrails,omitempty"`
	// Stream reports whether the answer was streamed.
	Stream bool `json:"stream,omitempty"`
	// Usage is the token usage the provider reported.
	Usage aiclient.Usage `json:"usage"`
	// Cost is the call's cost in US dollars, zero when its model has no
	// price.
	Cost float64 `json:"cost"`
	// Latency is the time from arrival to the end of the answer.
	Latency time.Duration `json:"latency"`
	// TimeToFirstToken is, for streams, the time from arrival to the first
	// content sent.
	TimeToFirstToken time.Duration `json:"ttft,omitempty"`
	// Status is the HTTP status answered (200 for a stream that failed
	// after it started).
	Status int `json:"status"`
	// Error is the kind of error that ended the call, such as
	// "rate_limited" or "invalid_request"; empty on success.
	Error string `json:"error,omitempty"`
	// Input and Output are the prompt messages and the answer, only with
	// [WithContent].
	Input  []aiclient.Message `json:"input,omitempty"`
	Output *aiclient.Message  `json:"output,omitempty"`
}

// Sink receives call records. Record is called once per call, after the
// answer was sent, from the request's goroutine; implementations must be
// safe for concurrent use and should not block.
type Sink interface {
	Record(ctx context.Context, r *Record)
}

// SinkFunc adapts a function to [Sink].
type SinkFunc func(ctx context.Context, r *Record)

// Record calls f(ctx, r).
func (f SinkFunc) Record(ctx context.Context, r *Record) { f(ctx, r) }

// LogSink returns a [Sink] that logs each record at Info level as one
// structured "ai call" line.
func LogSink(l *slog.Logger) Sink {
	// pc is the record's source: this function, looked up once rather
	// than for every record as Logger.LogAttrs would.
	var pc atomic.Uintptr
	return SinkFunc(func(ctx context.Context, r *Record) {
		if !l.Enabled(ctx, slog.LevelInfo) {
			return
		}
		attrs := []slog.Attr{
			slog.String("endpoint", r.Endpoint),
			slog.String("consumer", r.Consumer),
			slog.String("tenant", r.Tenant),
			slog.String("alias", r.Alias),
			slog.String("provider", r.Provider),
			slog.String("model", r.Model),
			slog.Int("fallbacks", r.Fallbacks),
			slog.Bool("stream", r.Stream),
			slog.Int64("input_tokens", r.Usage.InputTokens),
			slog.Int64("cached_tokens", r.Usage.CacheReadTokens),
			slog.Int64("output_tokens", r.Usage.OutputTokens),
			slog.Int64("reasoning_tokens", r.Usage.ReasoningTokens),
			slog.Float64("cost", r.Cost),
			slog.Duration("latency", r.Latency),
			slog.Duration("ttft", r.TimeToFirstToken),
			slog.Int("status", r.Status),
		}
		if r.RequestID != "" {
			attrs = append(attrs, slog.String("request_id", r.RequestID))
		}
		if r.Error != "" {
			attrs = append(attrs, slog.String("error", r.Error))
		}
		if r.Input != nil {
			b, _ := json.Marshal(r.Input)
			attrs = append(attrs, slog.String("input", string(b)))
		}
		if r.Output != nil {
			b, _ := json.Marshal(r.Output)
			attrs = append(attrs, slog.String("output", string(b)))
		}
		if pc.Load() == 0 {
			var pcs [1]uintptr
			runtime.Callers(1, pcs[:])
			pc.Store(pcs[0])
		}
		rec := slog.NewRecord(time.Now(), slog.LevelInfo, "ai call", pc.Load())
		rec.AddAttrs(attrs...)
		if ctx == nil {
			ctx = context.Background()
		}
		_ = l.Handler().Handle(ctx, rec)
	})
}

// meters are the handler's instruments.
type meters struct {
	calls    metric.Int64Counter
	tokens   metric.Int64Counter
	cost     metric.Float64Counter
	duration metric.Float64Histogram
	ttft     metric.Float64Histogram
	findings metric.Int64Counter
	// findingSets holds the attribute sets of the findings' rule, kind
	// and action.
	findingSets attrset.Cache[findingKey]

	// cache holds the attribute sets of up to maxAttrSets attrKeys.
	cache  sync.Map // attrKey → *attrSets
	cached atomic.Int64
	// tenants and consumers bound the caller labels (MetricLabels).
	tenants, consumers *labelCap
}

func newMeters(mp metric.MeterProvider, labels MetricLabels) (*meters, error) {
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	m := mp.Meter("github.com/portico-dev/portico/gateway/ai")
	ms := &meters{tenants: newLabelCap(cmp.Or(labels.Tenants, defaultMetricTenants)), consumers: newLabelCap(labels.Consumers)}
	var err error
	if ms.calls, err = m.Int64Counter("portico.ai.calls", metric.WithUnit("{call}"),
		metric.WithDescription("AI calls served, by endpoint, alias, tenant and status")); err != nil {
		return nil, err
	}
	if ms.tokens, err = m.Int64Counter("portico.ai.tokens", metric.WithUnit("{token}"),
		metric.WithDescription("Tokens used, by endpoint, alias, tenant, status and type (input or output)")); err != nil {
		return nil, err
	}
	if ms.cost, err = m.Float64Counter("portico.ai.cost.usd", metric.WithUnit("{USD}"),
		metric.WithDescription("Cost of AI calls at the configured prices")); err != nil {
		return nil, err
	}
	if ms.duration, err = m.Float64Histogram("portico.ai.duration", metric.WithUnit("s"),
		metric.WithDescription("Duration of AI calls")); err != nil {
		return nil, err
	}
	if ms.ttft, err = m.Float64Histogram("portico.ai.time_to_first_token", metric.WithUnit("s"),
		metric.WithDescription("Time to the first streamed content")); err != nil {
		return nil, err
	}
	if ms.findings, err = m.Int64Counter("portico.ai.guardrail.findings", metric.WithUnit("{finding}"),
		metric.WithDescription("Values guardrail rules found (a request check counts one), by rule, kind and action")); err != nil {
		return nil, err
	}
	return ms, nil
}

func (ms *meters) record(ctx context.Context, r *Record) {
	sets := ms.sets(r)
	ms.calls.Add(ctx, 1, sets.call.Add...)
	ms.duration.Record(ctx, r.Latency.Seconds(), sets.call.Record...)
	if r.TimeToFirstToken > 0 {
		ms.ttft.Record(ctx, r.TimeToFirstToken.Seconds(), sets.call.Record...)
	}
	if r.Cost > 0 {
		ms.cost.Add(ctx, r.Cost, sets.call.Add...)
	}
	if r.Usage.InputTokens > 0 {
		ms.tokens.Add(ctx, r.Usage.InputTokens, sets.input.Add...)
	}
	if r.Usage.OutputTokens > 0 {
		ms.tokens.Add(ctx, r.Usage.OutputTokens, sets.output.Add...)
	}
	for _, g := range r.Guardrails {
		// The attributes are the configured rules' names and kinds and
		// the three actions: a bounded set, with no value, caller or
		// tenant in it.
		k := findingKey{rule: g.Rule, kind: g.Kind, action: g.Action}
		ms.findings.Add(ctx, int64(max(g.Count, 1)), ms.findingSets.Get(k, findingSet).Add...)
	}
}

// findingKey is what the attributes of a guardrail finding are made of.
type findingKey struct{ rule, kind, action string }

func findingSet(k findingKey) attribute.Set {
	return attribute.NewSet(
		attribute.String("portico.ai.guardrail.rule", k.rule),
		attribute.String("portico.ai.guardrail.kind", k.kind),
		attribute.String("portico.ai.guardrail.action", k.action))
}

// maxAttrSets bounds the attribute sets meters keeps: past it, a call
// with attributes not yet seen builds its sets itself.
const maxAttrSets = 4096

// attrKey is what a call's metric attributes are made of: the caller's
// tenant and consumer as the call names them (consumer "" when the
// metrics carry no consumer), before the caps of MetricLabels.
type attrKey struct {
	endpoint, alias, tenant, consumer string
	status                            int
}

// attrSets are the measurement options of one attrKey: the call's, and
// its input and output tokens'.
type attrSets struct {
	call, input, output attrset.Options
}

// sets returns the attribute sets of r's endpoint, alias, tenant,
// consumer and status, built once (an attribute set is sorted and hashed
// when built).
func (ms *meters) sets(r *Record) *attrSets {
	k := attrKey{endpoint: r.Endpoint, alias: r.Alias, tenant: r.Tenant, status: r.Status}
	if ms.consumers.on() {
		k.consumer = r.Consumer
	}
	if s, ok := ms.cache.Load(k); ok {
		return s.(*attrSets)
	}
	kv := make([]attribute.KeyValue, 0, 6)
	kv = append(kv,
		attribute.String("portico.ai.endpoint", r.Endpoint),
		attribute.String("portico.ai.alias", r.Alias),
		attribute.Int("http.response.status_code", r.Status))
	if ms.tenants.on() {
		kv = append(kv, attribute.String("portico.tenant", ms.tenants.value(r.Tenant)))
	}
	if ms.consumers.on() {
		kv = append(kv, attribute.String("portico.consumer", ms.consumers.value(r.Consumer)))
	}
	// NewSet sorts its argument in place: each token set gets its own
	// copy, and the call's set is built last, from kv itself.
	s := &attrSets{
		input:  attrset.NewOptions(attribute.NewSet(append(slices.Clip(kv), attribute.String("gen_ai.token.type", "input"))...)),
		output: attrset.NewOptions(attribute.NewSet(append(slices.Clip(kv), attribute.String("gen_ai.token.type", "output"))...)),
	}
	s.call = attrset.NewOptions(attribute.NewSet(kv...))
	if ms.cached.Load() < maxAttrSets {
		if _, loaded := ms.cache.LoadOrStore(k, s); !loaded {
			ms.cached.Add(1)
		}
	}
	return s
}

// Guardrail is a guardrail rule that matched a call.
type Guardrail struct {
	// Rule is the rule's name.
	Rule string `json:"rule"`
	// Action is what it did: "block", "mask" or "flag".
	Action string `json:"action"`
	// Kind is what the rule's detector finds ("EMAIL", "SECRET"), or
	// "CHECK" for a request check.
	Kind string `json:"kind,omitempty"`
	// Count is how many values it found (1 for a request check).
	Count int `json:"count,omitempty"`
	// Output reports a finding in the response.
	Output bool `json:"output,omitempty"`
}
