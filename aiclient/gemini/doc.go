// Package gemini is the [aiclient.Provider] for the Gemini API
// (generativelanguage.googleapis.com): generateContent,
// streamGenerateContent with alt=sse, batchEmbedContents and the model
// list.
//
// A [Provider] is built with [New] and options: [WithAPIKey] (sent as
// x-goog-api-key), [WithBaseURL], [WithAPIVersion] and [WithPolicies] for
// retries and the circuit breaker. [WithToken] sends OAuth 2.0 access
// tokens, [WithEndpoint] lays out the URLs differently and [WithName]
// renames the provider: the vertex package runs this adapter for Vertex
// AI with them.
//
// # Wire mapping
//
// System and developer messages become systemInstruction. Assistant
// messages become "model" contents; tool calls become functionCall parts
// and tool results functionResponse parts, named after the call they
// answer (Gemini identifies results by name, so the adapter keeps the
// map from call IDs to names; set [aiclient.Message.Name] for a result
// whose call is not in the conversation). Function calls get IDs
// "call_<n>" when Gemini sends none. Signatures ([aiclient.Part.Signature],
// [aiclient.ToolCall.Signature]) are sent back as thoughtSignature, as
// Gemini requires for multi-turn function calling with thinking. Tools
// are sent with parametersJsonSchema and the JSON Schema response format
// as responseJsonSchema, so schemas go as written. Images, audio and
// files go inline (inlineData) or by URI (fileData). User and Metadata
// have no equivalent and are dropped.
//
// Usage comes from usageMetadata, in a stream from the last chunk, and
// maps as documented on [aiclient.Usage]: thoughtsTokenCount counts as
// output and reasoning. A 429's RetryInfo retryDelay becomes
// [aiclient.Error.RetryAfter]. A STOP with function calls is
// [aiclient.FinishToolCalls]; SAFETY, RECITATION and the other block
// reasons are [aiclient.FinishContentFilter], as is a prompt blocked
// before any candidate.
//
// # Concurrency
//
// A Provider is safe for concurrent use.
package gemini
