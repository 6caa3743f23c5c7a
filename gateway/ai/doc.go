// Package ai serves LLMs over HTTP the way their clients expect: an
// OpenAI-compatible API (chat completions, plain and streamed, with tools
// and structured output; embeddings; models) and Anthropic's Messages API,
// over any provider an [aiclient.Client] routes, plus prompts published as
// REST APIs. A [Handler] is an http.Handler to mount on any router;
// [Handler.Endpoints] lists its methods and paths for a router that keeps
// every path in one table, as the gateway does.
//
//	client := aiclient.New(aiclient.WithRoute("demo", aiclient.Candidate{Provider: demo.New()}))
//	h, err := ai.New(client,
//		ai.WithAuthenticator(ai.NewKeys(map[string]middleware.Consumer{"portico-demo-key": {ID: "demo"}})),
//		ai.WithLimit(ai.Limit{Tokens: 100_000}),                     // per consumer per minute
//		ai.WithBudget(ai.Budget{USD: 50, Period: ai.Monthly}))
//	http.Handle("/", h) // POST /v1/chat/completions, /v1/embeddings, /v1/messages; GET /v1/models
//
// # Endpoints
//
// Under the prefix of [WithPrefix] ("/v1" by default) the handler answers
// POST /chat/completions, POST /embeddings, GET /models (the aliases the
// caller may use) and GET /models/{id} in OpenAI's wire format, and
// POST /messages in Anthropic's, whatever provider serves the call.
// Errors use each API's own envelope and status codes:
// {"error":{"message","type","param","code"}} for OpenAI's, and
// {"type":"error","error":{"type","message"},"request_id"} for Anthropic's (529
// overloaded_error included). A provider's error is mapped from its
// normalised aiclient kind; only errors about the request itself carry
// the provider's message, so no credential or upstream address reaches a
// client. An error after a stream has started is sent as the format's
// in-stream error event. Every answer carries the request ID, in
// "x-request-id" (read by OpenAI's SDKs) and "request-id" (Anthropic's),
// and as request_id in Anthropic error bodies.
//
// A provider's 429 is answered at once, with the provider's Retry-After
// and its x-ratelimit-* or anthropic-ratelimit-* headers, unless another
// candidate of the alias serves the call: the adapters retry only within
// their max_retry_wait (1 s by default), and their circuit breakers count
// 5xx answers and connection failures, never 429s. A provider's 500 is an
// upstream_error (Anthropic: api_error); only a provider saying it is
// overloaded (503, 529, overloaded_error) is answered as an overload, and
// an open breaker is a 503 upstream_unavailable with the cooling-off time
// in Retry-After.
//
// # Nothing dropped
//
// Members of a request body that the endpoint's types do not model
// (OpenAI's logit_bias, service_tier, store, prediction,
// reasoning_effort...; Anthropic's thinking, top_k...) travel as the
// request's aiclient.Native: a provider speaking the caller's format gets
// them unchanged, and one speaking another refuses the call with a 400
// whose param names the first of them, rather than dropping it. A member
// whose value is null counts as absent. logprobs and top_logprobs are
// mapped to every provider that has them (OpenAI, Gemini) and refused by
// the others; parallel_tool_calls and Anthropic's
// tool_choice.disable_parallel_tool_use are one setting, refused as false
// by providers that cannot be told (Gemini, Bedrock, Ollama). Anthropic's
// server tools (a tools[] entry with a type) are refused by name. The answer keeps the provider's id, created,
// system_fingerprint and model name, and, when the provider speaks the
// caller's format, the members of its body no field models (service_tier,
// or Anthropic's container...); streamed chunks carry those of the
// provider's first chunk.
//
// A stream answered in Anthropic's format opens with message_start once
// the provider's first content arrives, so its usage holds the provider's
// input tokens where the provider reports them at its start (Anthropic,
// Bedrock); for a provider that reports usage only at the end (OpenAI,
// Gemini, Ollama), it holds the gateway's estimate of the input (a
// quarter of the text's bytes, a few tokens per message, 765 per image),
// and message_delta the provider's count. content_block_start carries the
// empty fields Anthropic always sends ({"type":"text","text":""}, and
// thinking and signature on a thinking block). A stream answered in
// OpenAI's format with stream_options.include_usage sends "usage": null in
// every chunk and the usage once, in a last chunk without choices, as
// OpenAI does.
//
// A stream is flushed to the client after each event unless the next one
// has already arrived from the provider ([aiclient.Stream.Buffered]):
// events that arrive in one burst leave in one write, while the first
// event, and any the client would otherwise wait for, go out at once.
//
// # Callers, limits and budgets
//
// The caller is a middleware.Consumer, Portico's one identity type.
// Callers authenticate with the gateway's own keys (virtual keys) through
// the authenticators of [WithAuthenticator]: [Keys], or those of package
// middleware over the gateway's consumers and API keys, JWTs or client
// certificates; keys are read from "Authorization: Bearer" or
// "x-api-key", so both SDKs work unchanged, and provider credentials never
// leave the gateway. Without authenticators the handler takes the
// consumer an authentication middleware in front identified. A consumer's
// [ModelsKey] metadata limits it to some model aliases.
//
// A [Limit] caps requests or tokens per sliding window by consumer,
// tenant, alias or globally: no span of the window's length ever admits
// more than the limit, so there is no double burst at a window's edge.
// Token limits reserve an estimate before the call and reconcile it with
// the real usage after, so concurrent bursts cannot overshoot by more than
// what calls wrote beyond their estimates, and unused reservations are
// returned. A [Budget] caps spending in dollars per hour, day or month at
// the client's prices: each call reserves its maximum cost before it is
// made (its input estimate and max_tokens at the highest prices of the
// alias's candidates) and is charged its real cost after, so concurrent
// calls cannot cross the budget. A call that fails before its response
// starts returns what it reserved. Refusals are a 429 with Retry-After, in
// the caller's format ("rate_limit_exceeded" or "insufficient_quota").
// Budget counters live in a [Store] and limit windows in a
// ratelimit.WindowStore ([WithWindowStore]): in memory by default, or
// the Redis stores of package middleware/redisstore so that replicas share
// one limit; [WithFailOpen] chooses what a store outage means.
//
// # Prompts as REST APIs
//
// A [Prompt] turns message templates, an input JSON Schema and an output
// mode into an endpoint: input is validated (400 problem listing the
// violations), rendered into the messages, sent to the model, and answered
// as {"result": ...}, with JSON Schema output checked against its schema,
// or text streamed as Server-Sent Events. [Handler.OpenAPI] documents
// every prompt API as an OpenAPI 3.1 operation for the gateway's docs.
//
// # Call records and metrics
//
// Every call, served or refused, produces one [Record] (consumer, tenant,
// alias, provider and model, fallbacks, tokens, cost, latency, time to
// first token, status and error kind) sent to a [Sink] ([LogSink] by
// default when a logger is given) and counted in the portico.ai.calls,
// portico.ai.tokens, portico.ai.cost.usd, portico.ai.duration and
// portico.ai.time_to_first_token instruments, labelled with the endpoint,
// alias, status and tenant (the first 200 tenants; a consumer label only
// when asked, capped: see [WithMetricLabels]); the guardrail findings of a
// call (rule, kind, action, count; never a value) are in its record and
// counted in portico.ai.guardrail.findings by rule, kind and action, a
// set bounded by the configured rules. Prompt and completion
// content is recorded only with [WithContent]. Records name the provider
// that served the call and count the fallbacks taken before it, as the
// aiclient.Client reports them.
//
// # Guardrails and the response cache
//
// Guardrails (the aiclient/guard package) and the response cache
// (aiclient/aicache) wrap the providers of the client the handler serves:
// per alias (wrap that alias' candidates), per tenant or consumer (a
// guard rule's When reads the caller, which the handler puts in the call's
// context with middleware.WithConsumer). A call a guardrail blocks gets a
// 400 with code guardrail_blocked in OpenAI's envelope, or an
// invalid_request_error in Anthropic's, naming the rule. The handler scopes
// the cache per tenant (or per consumer without one); a request with
// Cache-Control: no-cache, or [CacheHeader] set to "off", skips the lookup;
// a hit is marked by [CacheHeader] ("hit" or "semantic") and
// [Record].Cache, is replayed as SSE in the caller's wire format when it
// asked for a stream, and costs nothing in budgets.
//
// # Concurrency
//
// A Handler and [Keys] are safe for concurrent use; a Handler
// is immutable once built.
package ai
