// Package ollama is the [aiclient.Provider] for Ollama's native API:
// /api/chat (streamed as NDJSON), /api/embed and /api/tags. For Ollama's
// OpenAI-compatible /v1 API, use the openai package with its base URL.
//
// # Wire mapping
//
// Messages map one to one (developer messages are sent as system). Images
// must be inline: Ollama fetches no URLs. Assistant reasoning parts go
// back as "thinking". Tool calls arrive whole and get IDs "call_<n>" when
// Ollama sends none; tool results are sent with tool_name, looked up from
// the call they answer. JSON formats go in "format"; sampling settings in
// "options" (MaxOutputTokens as num_predict). Tool choices other than
// [aiclient.ChoiceNone] (which drops the tools), User and Metadata have
// no equivalent and are dropped.
//
// Usage is prompt_eval_count in and eval_count out. A stream that ends
// before its "done": true line, or that carries an {"error": ...} line,
// ends with an [*aiclient.Error].
//
// # Concurrency
//
// A Provider is safe for concurrent use.
package ollama
