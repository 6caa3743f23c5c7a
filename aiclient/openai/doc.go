// Package openai is the [aiclient.Provider] for OpenAI's Chat Completions
// API and everything that speaks it: Azure OpenAI, Mistral, Groq,
// DeepSeek, OpenRouter, Together, vLLM, LM Studio and Ollama's /v1.
//
// A [Provider] is built with [New] and options: [WithAPIKey],
// [WithBaseURL] for a compatible server, [WithAzure] for Azure's
// deployment URLs (with [WithDeployment] to fix the deployment, and
// [WithToken] for Microsoft Entra ID tokens from package entra instead of
// a key), [WithHeader] for extra headers, and [WithPolicies] to change the
// retries and circuit breaker its HTTP client runs through.
//
// # Wire mapping
//
// Messages map one to one (system, developer, user, assistant, tool); a
// user message with one text part is sent as a plain string. Images go as
// image_url parts (inline bytes as data: URLs), audio as input_audio,
// files as file parts. Tools are function tools, [aiclient.ChoiceTool]
// becomes {"type":"function",...}, and the JSON Schema response format
// becomes response_format json_schema ("response" when unnamed).
// MaxOutputTokens is sent as max_completion_tokens, or max_tokens with
// [WithLegacyMaxTokens]. Reasoning parts are not sent back: Chat
// Completions takes none.
//
// Responses read the first choice. reasoning_content (DeepSeek, vLLM) and
// reasoning (OpenRouter) become reasoning parts; a refusal becomes text.
// Usage maps as documented on [aiclient.Usage]: prompt_tokens already
// include cached_tokens, completion_tokens already include
// reasoning_tokens.
//
// # Streams
//
// Streams ask for "stream_options": {"include_usage": true} (unless
// [WithoutStreamUsage]) and tolerate chunks with empty choices (Azure's
// prompt_filter_results, the usage chunk) and content-filter-only chunks.
// Tool-call fragments are keyed by their index; servers that send no
// index get one call per new ID. An {"error": ...} chunk after HTTP 200
// ends the stream with an [*aiclient.Error]; so does a stream that ends
// before "[DONE]" and before any finish_reason.
//
// # Concurrency
//
// A Provider is safe for concurrent use.
package openai
