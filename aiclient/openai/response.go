package openai

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"

	"github.com/portico-dev/portico/aiclient"
	"github.com/portico-dev/portico/aiclient/internal/wire"
)

type usage struct {
	PromptTokens        int64 `json:"prompt_tokens"`
	CompletionTokens    int64 `json:"completion_tokens"`
	TotalTokens         int64 `json:"total_tokens"`
	PromptTokensDetails *struct {
		CachedTokens int64 `json:"cached_tokens"`
	} `json:"prompt_tokens_details"`
	CompletionTokensDetails *struct {
		ReasoningTokens int64 `json:"reasoning_tokens"`
	} `json:"completion_tokens_details"`
}

// Usage maps OpenAI's usage: prompt_tokens already include the cached
// ones and completion_tokens the reasoning ones.
func (u *usage) neutral() aiclient.Usage {
	n := aiclient.Usage{InputTokens: u.PromptTokens, OutputTokens: u.CompletionTokens}
	if u.PromptTokensDetails != nil {
		n.CacheReadTokens = u.PromptTokensDetails.CachedTokens
	}
	if u.CompletionTokensDetails != nil {
		n.ReasoningTokens = u.CompletionTokensDetails.ReasoningTokens
	}
	return n
}

// respMessage decodes the "content" of a response message, a string or null.
type respMessage struct {
	Role             string     `json:"role"`
	Content          *string    `json:"content"`
	ReasoningContent string     `json:"reasoning_content"`
	Reasoning        string     `json:"reasoning"`
	Refusal          *string    `json:"refusal"`
	ToolCalls        []toolCall `json:"tool_calls"`

	content string // what Content points to, when the scanner reads it
}

// FinishReason normalises an OpenAI finish_reason.
func FinishReason(raw string) aiclient.FinishReason {
	switch raw {
	case "length", "max_tokens":
		return aiclient.FinishLength
	case "tool_calls", "function_call":
		return aiclient.FinishToolCalls
	case "content_filter":
		return aiclient.FinishContentFilter
	case "error":
		return aiclient.FinishError
	}
	return aiclient.FinishStop
}

// Chat sends a Chat Completions request.
func (p *Provider) Chat(ctx context.Context, req *aiclient.Request) (*aiclient.Response, error) {
	body, err := p.EncodeRequest(req, false)
	if err != nil {
		return nil, err
	}
	res, err := p.post(ctx, req.Model, "/chat/completions", body, false)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	body, err = io.ReadAll(res.Body)
	if err != nil {
		return nil, &aiclient.Error{Provider: p.cfg.Provider, Model: req.Model, Status: res.StatusCode, Kind: aiclient.KindServer,
			Code: "invalid_response", Message: "the response body is not the expected JSON", Retryable: true, Err: err}
	}
	var w completion
	if nat, ok := scanCompletion(body, &w); ok {
		return p.response(req.Model, &w, nat)
	}
	// Anything the scanner leaves, such as data after the JSON value,
	// takes the general way.
	var raw json.RawMessage
	res.Body = io.NopCloser(bytes.NewReader(body))
	if err := wire.Decode(p.cfg.Provider, req.Model, res, &raw); err != nil {
		return nil, err
	}
	return p.DecodeResponse(req.Model, raw)
}

// DecodeResponse turns a Chat Completions response body into a Response.
// Only the first choice is read.
func (p *Provider) DecodeResponse(model string, body []byte) (*aiclient.Response, error) {
	var w completion
	nat, ok := scanCompletion(body, &w)
	if !ok {
		w = completion{}
		if err := json.Unmarshal(body, &w); err != nil {
			return nil, &aiclient.Error{Provider: p.cfg.Provider, Model: model, Status: http.StatusOK, Kind: aiclient.KindServer,
				Code: "invalid_response", Message: "the response body is not a chat completion", Retryable: true, Err: err}
		}
		nat = native(body)
	}
	return p.response(model, &w, nat)
}

func (p *Provider) response(model string, w *completion, nat *aiclient.Native) (*aiclient.Response, error) {
	if w.Error != nil {
		return nil, w.Error.toError(p, model, http.StatusOK)
	}
	var acc aiclient.Accumulator
	acc.Add(aiclient.Event{Type: aiclient.EventStart, ID: w.ID, Model: w.Model, Created: unixTime(w.Created), Native: nat})
	if len(w.Choices) > 0 {
		c := w.Choices[0]
		m := c.Message
		if r := m.ReasoningContent + m.Reasoning; r != "" {
			acc.Add(aiclient.Event{Type: aiclient.EventReasoning, Text: r})
		}
		if m.Content != nil || c.Logprobs != nil {
			acc.Add(aiclient.Event{Type: aiclient.EventText, Text: deref(m.Content), Logprobs: c.Logprobs.content()})
		}
		if m.Refusal != nil {
			acc.Add(aiclient.Event{Type: aiclient.EventText, Text: *m.Refusal})
		}
		for i, tc := range m.ToolCalls {
			acc.Add(aiclient.Event{Type: aiclient.EventToolCall, ToolCall: aiclient.ToolCallDelta{Index: i, ID: tc.ID, Name: tc.Function.Name, Arguments: tc.Function.Arguments}})
		}
		if c.FinishReason != nil {
			acc.Add(finishEvent(*c.FinishReason))
		}
	}
	if w.Usage != nil {
		acc.Add(aiclient.Event{Type: aiclient.EventUsage, Usage: w.Usage.neutral()})
	}
	return acc.Response(), nil
}

func finishEvent(raw string) aiclient.Event {
	return aiclient.Event{Type: aiclient.EventFinish, FinishReason: FinishReason(raw), RawFinishReason: raw}
}

// logprobs is a choice's log probabilities.
type logprobs struct {
	Content []aiclient.Logprob `json:"content"`
}

func (l *logprobs) content() []aiclient.Logprob {
	if l == nil {
		return nil
	}
	return l.Content
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// known are the members of a completion or chunk the adapter models;
// "obfuscation" pads each chunk of a stream to its own length, and means
// nothing elsewhere.
var known = []string{"id", "object", "created", "model", "choices", "usage", "error", "message", "type", "obfuscation"}

// native holds the members of a completion or chunk that no neutral
// field models, such as system_fingerprint and service_tier.
func native(body []byte) *aiclient.Native {
	if f := aiclient.Unknown(body, known...); f != nil {
		return &aiclient.Native{Wire: aiclient.WireOpenAI, Fields: f}
	}
	return nil
}
