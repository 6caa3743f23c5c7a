package aitest

import (
	"net/http"
	"time"

	"github.com/portico-dev/portico/aiclient"
)

// Format is a provider wire format a [Server] speaks.
type Format int

// The wire formats.
const (
	OpenAI Format = iota + 1
	Anthropic
	Gemini
	Ollama
	// Bedrock is Amazon Bedrock's Converse and ConverseStream, with
	// requests signed by SigV4 (see [AWSAccessKeyID]).
	Bedrock
	// Vertex is Gemini on Google Cloud's Vertex AI, with OAuth 2.0
	// access tokens (see [Server.ServiceAccount]).
	Vertex
)

// String returns the format's name.
func (f Format) String() string {
	switch f {
	case OpenAI:
		return "openai"
	case Anthropic:
		return "anthropic"
	case Gemini:
		return "gemini"
	case Ollama:
		return "ollama"
	case Bedrock:
		return "bedrock"
	case Vertex:
		return "vertex"
	}
	return "unknown"
}

// Fault is a failure injected into a streamed reply after HTTP 200.
type Fault int

// The stream faults.
const (
	// NoFault streams the reply to its end.
	NoFault Fault = iota
	// Cut drops the connection after [Reply.FaultAfter] events, without
	// the format's end marker.
	Cut
	// ErrorEvent sends the format's in-stream error after
	// [Reply.FaultAfter] events, then ends the stream.
	ErrorEvent
)

// ToolCall is a scripted tool call.
type ToolCall struct {
	// ID is the call ID; empty means "call_<index>". Gemini and Ollama
	// replies carry no IDs, as those APIs send none.
	ID string
	// Name is the tool's name.
	Name string
	// Arguments is the arguments JSON object; empty means "{}".
	Arguments string
}

// Reply is one scripted answer of a [Server], rendered in the server's
// wire format as a whole response or as a stream, as the request asks.
type Reply struct {
	// ID is the response ID; empty means "resp_<n>" (n counts replies).
	ID string
	// Model is the model reported; empty means the model requested.
	Model string
	// Reasoning is reasoning text, sent where the format has it (a
	// thinking block, a thought part, "reasoning_content", "thinking").
	Reasoning string
	// Signature is the opaque signature of the reasoning (Anthropic) or
	// the first function call or text part (Gemini's thoughtSignature).
	Signature string
	// Text is the answer text.
	Text string
	// ToolCalls are tool calls, after the text.
	ToolCalls []ToolCall
	// Interleave streams the argument fragments of parallel tool calls
	// alternately (OpenAI format only; the other formats stream calls
	// whole or one after the other, as those providers do).
	Interleave bool
	// FinishReason is the raw finish reason in the format's vocabulary;
	// empty means the format's normal stop, or its tool-call stop when
	// there are tool calls.
	FinishReason string
	// Usage is reported in the format's own fields (see
	// [aiclient.Usage] for the mapping, applied in reverse).
	Usage aiclient.Usage
	// ChunkSize is the number of runes per streamed text or argument
	// fragment; zero means 3.
	ChunkSize int
	// Embeddings answers an embeddings call; nil means one 3-dimension
	// vector per input, derived from its length.
	Embeddings [][]float32

	// Status, when not zero, answers with this HTTP status and the
	// format's error body, with ErrorCode and ErrorMessage in it.
	Status       int
	ErrorCode    string
	ErrorMessage string
	// RetryAfter is sent with an error status the way the provider does:
	// "retry-after-ms" and "retry-after" (whole seconds, rounded up) for
	// OpenAI and Ollama, "retry-after" for Anthropic, RetryInfo in the
	// body (no header) for Gemini and Vertex, and not at all for Bedrock,
	// which sends no hint.
	RetryAfter time.Duration
	// Header holds headers added to the answer, such as a provider's
	// x-ratelimit-* or anthropic-ratelimit-* headers.
	Header http.Header

	// Fault and FaultAfter inject a failure after HTTP 200 into a stream,
	// after FaultAfter events were written.
	Fault      Fault
	FaultAfter int

	// Delay holds the response back this long, or until the request's
	// context ends.
	Delay time.Duration
}

// Text returns a Reply with the given text and usage.
func Text(text string, inputTokens, outputTokens int64) Reply {
	return Reply{Text: text, Usage: aiclient.Usage{InputTokens: inputTokens, OutputTokens: outputTokens}}
}

// Status returns a Reply that fails with status, waiting retryAfter.
func Status(status int, retryAfter time.Duration) Reply {
	return Reply{Status: status, RetryAfter: retryAfter}
}
