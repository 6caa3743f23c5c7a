package calllog

import (
	"context"
	"time"
)

// Record is one call through the gateway. The fields are plain values so a
// Record can be copied into a bounded queue without allocating.
type Record struct {
	// Time is when the request arrived.
	Time time.Time `json:"time"`
	// Tenant is the caller's tenant; every record carries one (empty for
	// anonymous calls).
	Tenant string `json:"tenant"`
	// Consumer is the caller's consumer ID; empty for anonymous calls.
	Consumer string `json:"consumer"`
	// API names the published API the route belongs to, if any.
	API string `json:"api"`
	// Route is the route template, such as "/orders/{id}", never the raw path.
	Route string `json:"route"`
	// Method is the request method.
	Method string `json:"method"`
	// Status is the response status code.
	Status int `json:"status"`
	// Latency is the time from the request's arrival to the end of the response.
	Latency time.Duration `json:"latency_ns"`
	// BytesIn is the request body size when known (Content-Length), else 0.
	BytesIn int64 `json:"bytes_in"`
	// BytesOut is the number of response body bytes written.
	BytesOut int64 `json:"bytes_out"`
	// Upstream names the upstream instance that served the call, if any.
	Upstream string `json:"upstream,omitempty"`
	// Retries is the number of retries the call took.
	Retries int `json:"retries,omitempty"`
	// Hedges is the number of hedged attempts the call sent (see
	// resilience.Hedge), and HedgeWon whether one of them gave the answer.
	Hedges   int  `json:"hedges,omitempty"`
	HedgeWon bool `json:"hedge_won,omitempty"`
	// Error is the kind of failure, such as "timeout", "upstream" or
	// "circuit_open"; empty when the call succeeded. Never a message that
	// could leak details.
	Error string `json:"error,omitempty"`
	// RequestID is the request's correlation ID.
	RequestID string `json:"request_id,omitempty"`
	// TraceID is the W3C trace ID of the request's span, in hex.
	TraceID string `json:"trace_id,omitempty"`
	// Model is the AI model a call used, for AI endpoints.
	Model string `json:"model,omitempty"`
	// InputTokens and OutputTokens count the tokens of an AI call.
	InputTokens  int64 `json:"input_tokens,omitempty"`
	OutputTokens int64 `json:"output_tokens,omitempty"`
	// Cost is the call's cost in the currency of the AI price table.
	Cost float64 `json:"cost,omitempty"`
}

// Failed reports whether the call counts as an error: a 5xx status or a
// recorded error kind.
func (r *Record) Failed() bool { return r.Status >= 500 || r.Error != "" }

// Sink receives batches of records. A Sink must be safe for concurrent use;
// it must not keep the batch slice after Write returns (it may copy the
// records).
type Sink interface {
	Write(ctx context.Context, batch []Record) error
}

// SinkFunc adapts a function to a [Sink].
type SinkFunc func(ctx context.Context, batch []Record) error

// Write implements [Sink].
func (f SinkFunc) Write(ctx context.Context, batch []Record) error { return f(ctx, batch) }
