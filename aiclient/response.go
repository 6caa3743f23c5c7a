package aiclient

import "time"

// FinishReason is why the model stopped, normalised across providers.
type FinishReason string

// The normalised finish reasons.
const (
	FinishStop          FinishReason = "stop"
	FinishLength        FinishReason = "length"
	FinishToolCalls     FinishReason = "tool_calls"
	FinishContentFilter FinishReason = "content_filter"
	FinishError         FinishReason = "error"
)

// Response is the result of a chat call.
type Response struct {
	// ID is the provider's response ID, if it sends one (Ollama does not).
	ID string `json:"id"`
	// Model is the model that served the call, as the provider names it.
	Model string `json:"model"`
	// Created is when the provider created the response, if it says
	// (OpenAI's created, Gemini's createTime).
	Created time.Time `json:"created,omitzero"`
	// Message is the assistant's reply: text and reasoning parts in the
	// order generated (adjacent parts of one kind merged) and tool calls
	// in index order.
	Message Message `json:"message"`
	// FinishReason is the normalised reason the model stopped.
	FinishReason FinishReason `json:"finish_reason"`
	// RawFinishReason is the provider's own reason, such as "end_turn"
	// or "MAX_TOKENS".
	RawFinishReason string `json:"raw_finish_reason"`
	// Usage is the token usage of the call.
	Usage Usage `json:"usage"`
	// Logprobs are the log probabilities of the output tokens, in order,
	// when [Request.Logprobs] asked for them.
	Logprobs []Logprob `json:"logprobs,omitempty"`
	// Native holds the members of the provider's body that no field here
	// models; see [Native].
	Native *Native `json:"native,omitempty"`
}

// Usage counts tokens in one model across providers.
//
// InputTokens is every token the model read, cache reads and cache writes
// included; OutputTokens is every token it wrote, reasoning included. So
// InputTokens+OutputTokens is always the billed total, whichever provider
// served the call. The adapters map their provider's fields as follows:
//
//	provider   InputTokens                                  CacheRead / CacheWrite                              OutputTokens                            ReasoningTokens
//	OpenAI     prompt_tokens (includes cached)              prompt_tokens_details.cached_tokens / 0             completion_tokens (includes reasoning)  completion_tokens_details.reasoning_tokens
//	Anthropic  input_tokens + cache_read + cache_creation   cache_read_input_tokens / cache_creation_input_tokens output_tokens (includes thinking)      0 (not reported separately)
//	Gemini     promptTokenCount + toolUsePromptTokenCount   cachedContentTokenCount / 0                         candidatesTokenCount + thoughtsTokenCount thoughtsTokenCount
//	Ollama     prompt_eval_count                            0 / 0                                               eval_count                              0
//	Bedrock    inputTokens + cacheRead + cacheWrite         cacheReadInputTokens / cacheWriteInputTokens        outputTokens                            0 (not reported separately)
type Usage struct {
	// InputTokens is the total input, cache reads and writes included.
	InputTokens int64 `json:"input_tokens"`
	// CacheReadTokens is the part of InputTokens read from a prompt cache.
	CacheReadTokens int64 `json:"cache_read_tokens,omitempty"`
	// CacheWriteTokens is the part of InputTokens written to a prompt cache.
	CacheWriteTokens int64 `json:"cache_write_tokens,omitempty"`
	// OutputTokens is the total output, reasoning included.
	OutputTokens int64 `json:"output_tokens"`
	// ReasoningTokens is the part of OutputTokens spent on reasoning.
	ReasoningTokens int64 `json:"reasoning_tokens,omitempty"`
}

// TotalTokens returns InputTokens + OutputTokens.
func (u Usage) TotalTokens() int64 { return u.InputTokens + u.OutputTokens }

// Add returns the sum of u and v, for totals over several calls.
func (u Usage) Add(v Usage) Usage {
	return Usage{
		InputTokens:      u.InputTokens + v.InputTokens,
		CacheReadTokens:  u.CacheReadTokens + v.CacheReadTokens,
		CacheWriteTokens: u.CacheWriteTokens + v.CacheWriteTokens,
		OutputTokens:     u.OutputTokens + v.OutputTokens,
		ReasoningTokens:  u.ReasoningTokens + v.ReasoningTokens,
	}
}
