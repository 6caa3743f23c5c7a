// Package anthropic is the [aiclient.Provider] for Anthropic's Messages
// API.
//
// A [Provider] is built with [New] and options: [WithAPIKey] (sent as
// x-api-key) or [WithAuthToken] (sent as a bearer token), [WithVersion]
// for the anthropic-version header, [WithBeta] for anthropic-beta
// features, [WithMaxTokens] for the max_tokens the API requires when the
// request sets none, and [WithPolicies] for retries and the circuit
// breaker.
//
// # Wire mapping
//
// System and developer messages are extracted into the system prompt.
// Tool results become tool_result blocks in the next user message, and
// consecutive messages of one role are merged, as the API requires
// alternating roles. Assistant tool calls become tool_use blocks and
// reasoning parts become thinking blocks with their signatures (or
// redacted_thinking blocks), so a conversation round-trips. Images and
// PDF files go as base64 or URL sources. The JSON Schema response format
// becomes output_config.format; ChoiceRequired becomes {"type":"any"}.
// Seed and Metadata have no equivalent and are dropped; User becomes
// metadata.user_id. [aiclient.Part.Cache] and [aiclient.Tool.Cache] become
// cache_control breakpoints, since Anthropic caches prompt prefixes only
// where told to.
//
// Usage maps as documented on [aiclient.Usage]: Anthropic's input_tokens
// exclude cache reads and writes, which the neutral InputTokens includes.
//
// # Streams
//
// The full event set is handled: message_start, content_block_start,
// content_block_delta (text, input_json, thinking and signature deltas),
// content_block_stop, message_delta (with the cumulative usage),
// message_stop, ping, and error events after HTTP 200, which end the
// stream with an [*aiclient.Error] (overloaded_error is
// [aiclient.KindOverloaded]). A stream that ends before message_stop is
// an error too.
//
// # Concurrency
//
// A Provider is safe for concurrent use.
package anthropic
