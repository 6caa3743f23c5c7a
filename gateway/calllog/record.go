package calllog

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/portico-dev/portico/internal/grpccode"
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
	// GRPCStatus is the name of the gRPC status code of a gRPC call or of
	// a call translated to gRPC, such as "OK" or "UNAVAILABLE" (a gRPC
	// call answers HTTP 200 whatever its outcome); empty for other calls.
	// [Middleware] reads it from the response's grpc-status (in the
	// trailers, or the headers of a trailers-only response); a
	// translating handler sets it through [FromContext].
	GRPCStatus string `json:"grpc_status,omitempty"`
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

// Failed reports whether the call counts as an error: a 5xx status, a
// gRPC status that is a server's failure (UNKNOWN, DEADLINE_EXCEEDED,
// UNIMPLEMENTED, INTERNAL, UNAVAILABLE, DATA_LOSS: the codes
// OpenTelemetry's conventions for gRPC server spans count as errors, and
// the ones the gRPC proxy counts against an instance) or a recorded error
// kind.
func (r *Record) Failed() bool {
	if r.Status >= 500 || r.Error != "" {
		return true
	}
	c, ok := grpccode.Number(r.GRPCStatus)
	return ok && grpccode.ServerFailure(c)
}

// GRPCCodeName returns the name of gRPC status code c, such as
// "UNAVAILABLE" for 14, or "CODE(c)" for a code without a name.
func GRPCCodeName(c int) string { return grpccode.Name(c) }

// grpcStatusOf returns the name of the grpc-status a response carries in
// its trailers or, trailers-only, in its headers; "" if none.
func grpcStatusOf(h http.Header) string {
	v := h.Get(http.TrailerPrefix + "Grpc-Status")
	if v == "" {
		v = h.Get("Grpc-Status")
	}
	if v == "" {
		return ""
	}
	c, err := strconv.Atoi(v)
	if err != nil {
		return ""
	}
	return GRPCCodeName(c)
}

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
