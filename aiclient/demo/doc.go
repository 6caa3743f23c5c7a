// Package demo is a deterministic LLM [aiclient.Provider] that runs in
// process, with no network and no key, so that an AI gateway, its examples
// and its tests work offline.
//
// Its answers depend only on the request: the same request always gives
// the same [aiclient.Response], streamed or not.
//
//   - A chat call answers "You said: <the last user text>".
//   - With tools offered (and tool choice not "none"), the first call of a
//     conversation calls the chosen tool (or the first) with arguments
//     generated from its parameter schema; once a tool result is in the
//     conversation, it answers with that result's text.
//   - With a JSON Schema response format, it answers a JSON value that
//     matches the schema (strings are filled with the user's text); with a
//     JSON object format, {"text": "<the user's text>"}.
//   - Usage counts one token per four bytes of text (at least one), and
//     [aiclient.Request.MaxOutputTokens] truncates the answer, finishing
//     with [aiclient.FinishLength].
//   - Sampling settings, [aiclient.Request.Native] members and
//     [aiclient.Request.Logprobs] change nothing and are ignored, since
//     the answer is fixed by the text.
//
// # Streams
//
// [Provider.Stream] sends the same answer as events: a start, one text
// delta per word, tool calls in two fragments each, the usage and the
// finish reason, so a stream folded with an [aiclient.Accumulator] equals
// the non-streamed response.
//
// # Embeddings and models
//
// [Provider.Embed] returns unit vectors derived from a hash of each input
// ([DefaultDimensions] of them unless the request asks for fewer or more),
// and [Provider.Models] lists [Model].
//
// # Concurrency
//
// A Provider is immutable and safe for concurrent use.
package demo
