// Package bedrock is the [aiclient.Provider] for Amazon Bedrock's
// Converse and ConverseStream APIs, which serve every Bedrock model
// (Anthropic Claude, Amazon Nova, Meta Llama, Mistral, Cohere, DeepSeek,
// OpenAI's open-weight models...) in one wire format.
//
// A [Provider] is built with [New] and options. Requests are signed with
// AWS Signature Version 4 by the AWS SDK's signer, with credentials from
// the SDK's default chain (environment, shared files and SSO, web
// identity, container and instance roles) or [WithCredentials], for the
// region of [WithRegion] or the AWS configuration; [WithAPIKey] sends a
// Bedrock API key instead. Each attempt is signed afresh, inside the
// retries and circuit breaker of [WithPolicies]. Importing this package
// links the AWS SDK; importing aiclient alone does not.
//
// # Wire mapping
//
// The request's model is the model ID, an inference profile ID such as
// "us.anthropic.claude-sonnet-4-5-20250929-v1:0", or an ARN. System and
// developer messages become system blocks; tool calls are toolUse blocks
// and tool results toolResult blocks (status "error" for a failed tool);
// consecutive messages of one role are merged, as Converse requires
// alternation. Reasoning parts are sent back as reasoningContent with
// their signature, or as redactedContent. Images (png, jpeg, gif, webp)
// and documents (pdf, csv, doc, docx, xls, xlsx, html, txt, md) go inline
// or from s3:// URIs; other URLs and audio are refused. [aiclient.Part.Cache]
// and [aiclient.Tool.Cache] add a cachePoint after the block. Tools are
// toolSpec entries (Strict as strict), the tool choice auto, any or tool;
// "none" leaves the tools out, and is refused when the conversation holds
// tool calls, which Converse accepts only with the tools defined. A JSON
// Schema response format becomes outputConfig.textFormat. MaxOutputTokens,
// Temperature, TopP and Stop go in inferenceConfig; Metadata and User
// (as "user") in requestMetadata. Seed and the FormatJSON response format
// have no equivalent and are dropped. [aiclient.Request.Extra] is merged
// into the body, for additionalModelRequestFields (such as Claude's
// thinking), guardrailConfig or performanceConfig.
//
// Converse reports no response ID or model: a [aiclient.Response] has
// the request ID Bedrock answers with (x-amzn-RequestId) and the model ID
// requested. Usage maps as documented on [aiclient.Usage]: inputTokens
// plus cacheReadInputTokens and cacheWriteInputTokens is the input.
//
// # Errors
//
// The exception named by x-amzn-ErrorType (or, in a stream, by an
// exception message's :exception-type) gives the kind:
// ThrottlingException is [aiclient.KindRateLimited],
// ServiceQuotaExceededException [aiclient.KindQuotaExhausted],
// ValidationException [aiclient.KindInvalidRequest] (or
// [aiclient.KindContextLength] when the input is too long),
// AccessDeniedException [aiclient.KindPermission], an unknown key or a bad
// or expired signature [aiclient.KindAuthentication],
// ResourceNotFoundException [aiclient.KindNotFound],
// ModelTimeoutException [aiclient.KindTimeout], ModelNotReadyException and
// ServiceUnavailableException [aiclient.KindOverloaded], and
// InternalServerException, ModelErrorException and
// ModelStreamErrorException [aiclient.KindServer]. Credentials that
// cannot be had are [aiclient.KindAuthentication] with code "credentials".
//
// # Concurrency
//
// A Provider is safe for concurrent use.
package bedrock
