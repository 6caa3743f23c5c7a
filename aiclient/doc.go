// Package aiclient is one LLM client over OpenAI, Azure OpenAI, Anthropic,
// Gemini, Amazon Bedrock, Vertex AI, Ollama and every OpenAI-compatible
// server.
//
// A [Request] says what to ask in provider-neutral terms: [Message] values
// made of [Part] values (text, images, audio, files, reasoning), [Tool]
// definitions, a [ToolChoice], a [ResponseFormat] and sampling settings,
// with [Request.Extra] for anything provider-specific. A [Provider] (an
// adapter from the openai, anthropic, gemini, bedrock, vertex or ollama
// packages; the cloud ones link their vendors' libraries, aiclient does
// not) encodes
// it in its wire format and decodes the answer into a [Response], or into
// a [Stream] of [Event] values. A [Client] routes model aliases over
// several providers with weights, priorities and fallback, and records
// OpenTelemetry GenAI telemetry.
//
// # Streams
//
// A stream is read as
//
//	s, err := p.Stream(ctx, req)
//	if err != nil { ... }           // the provider refused the call
//	defer s.Close()
//	for s.Next() {
//		ev := s.Current()          // text, reasoning, tool-call, usage, finish
//	}
//	if err := s.Err(); err != nil { ... } // an error after HTTP 200
//
// Tool calls stream as [ToolCallDelta] fragments keyed by Index, with ID
// and Name on the first fragment, so parallel calls whose fragments
// interleave are reassembled correctly. An [Accumulator] (or [Collect])
// turns the events into the same [Response] a non-streamed call gives:
// the adapters build their non-streamed responses through one too.
//
// [Stream.Buffered] reports whether the next event has already arrived,
// so that a caller writing events on (such as a gateway) flushes only
// when Next would wait: events that arrive together leave together, and
// none waits for one still on the way. The openai and anthropic adapters
// answer it from what their decoder holds; a wrapper built with
// [NewStream] passes the inner stream's on with [Stream.WithBuffered].
//
// # Usage and cost
//
// [Usage] counts tokens one way for every provider: InputTokens includes
// cache reads and writes, OutputTokens includes reasoning, so their sum is
// what was billed. [Usage] documents how each provider's fields map onto
// it. A [Prices] table, which the caller supplies, turns usage into US
// dollars with separate prices for cached input, cache writes and
// reasoning.
//
// # Errors
//
// Every failure is an [*Error], read with errors.As: the provider, the
// HTTP status (200 for an error inside a stream), a normalised [Kind],
// the provider's code and message (with the API key redacted), how long
// the provider asked to wait ([RetryAfter] parses every provider's
// headers; adapters add body hints such as Gemini's RetryInfo), and
// whether a retry may succeed, with the provider's rate-limit headers
// ([Error.Header]) for a gateway to pass on.
//
// # Nothing dropped
//
// A [Native] carries the members of a body that no neutral field models,
// in one wire format: a gateway puts the members of its caller's request
// there, the adapter speaking that format sends them unchanged, and any
// other adapter refuses the call naming the first ([Error.Param]); the
// openai and anthropic adapters put the unmodelled members of the
// provider's answer in [Response.Native]. [Request.Logprobs] asks for
// log probabilities where the provider has them (OpenAI, Gemini).
//
// # Routing, fallback and retries
//
// [WithRoute] maps an alias to [Candidate] values, each a provider (with
// its own key or deployment), a model, a priority and a weight. See
// [Client] for when a call falls back to the next candidate: for streams,
// only before the first content reaches the caller. Retries with backoff
// that honour the provider's retry hints, and a circuit breaker per
// deployment that cools off a failing one, are in each adapter's HTTP
// client, built on the resilience package. A retry waits at most the
// adapter's WithMaxRetryWait (1 s by default): a 429 asking for longer is
// returned at once, and the Client falls back to the next candidate. The
// breakers count 5xx answers and connection failures, never 429s.
//
// # Connections
//
// Each adapter calls over a transport of its own (see [NewTransport]),
// shared by all its calls: it keeps up to 256 idle connections per host
// and negotiates HTTP/2 where the provider offers it, so that concurrent
// calls reuse warm connections rather than dial and handshake TLS each.
// [TransportConfig], given with an adapter's WithTransportConfig, tunes it;
// an adapter's WithHTTPClient replaces it.
//
// # Telemetry
//
// Each provider call is a client span named "chat <model>" with the
// gen_ai.* attributes of the OpenTelemetry GenAI semantic conventions,
// and records the gen_ai.client.token.usage and
// gen_ai.client.operation.duration histograms. Prompts and completions are
// recorded only with [WithContentCapture].
//
// # Concurrency
//
// [Client] and the adapters' providers are safe for concurrent use. A
// [Stream] and an [Accumulator] belong to one goroutine (a Stream may be
// closed from another). Requests are not modified by calls.
package aiclient
