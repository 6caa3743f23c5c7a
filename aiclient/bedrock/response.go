package bedrock

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/portico-dev/portico/aiclient"
	"github.com/portico-dev/portico/aiclient/internal/wire"
)

type converseResponse struct {
	Output struct {
		Message *struct {
			Content []responseBlock `json:"content"`
		} `json:"message"`
	} `json:"output"`
	StopReason string `json:"stopReason"`
	Usage      *usage `json:"usage"`
}

// responseBlock is a ContentBlock as Converse answers it; unlike a
// request block, reasoning may come without its text.
type responseBlock struct {
	Text             *string           `json:"text"`
	ToolUse          *toolUse          `json:"toolUse"`
	ReasoningContent *reasoningContent `json:"reasoningContent"`
}

type usage struct {
	InputTokens           int64 `json:"inputTokens"`
	OutputTokens          int64 `json:"outputTokens"`
	CacheReadInputTokens  int64 `json:"cacheReadInputTokens"`
	CacheWriteInputTokens int64 `json:"cacheWriteInputTokens"`
}

// neutral maps Converse's usage: inputTokens excludes the tokens read
// from and written to the prompt cache, which aiclient counts as input.
func (u *usage) neutral() aiclient.Usage {
	return aiclient.Usage{
		InputTokens:      u.InputTokens + u.CacheReadInputTokens + u.CacheWriteInputTokens,
		CacheReadTokens:  u.CacheReadInputTokens,
		CacheWriteTokens: u.CacheWriteInputTokens,
		OutputTokens:     u.OutputTokens,
	}
}

// FinishReason normalises a Converse stopReason.
func FinishReason(raw string) aiclient.FinishReason {
	switch raw {
	case "end_turn", "stop_sequence":
		return aiclient.FinishStop
	case "max_tokens", "model_context_window_exceeded":
		return aiclient.FinishLength
	case "tool_use":
		return aiclient.FinishToolCalls
	case "guardrail_intervened", "content_filtered":
		return aiclient.FinishContentFilter
	}
	return aiclient.FinishError
}

// Chat sends a Converse request. The response's ID is the request ID
// Bedrock answers with (x-amzn-RequestId), and its model the model ID
// requested, since Converse reports neither.
func (p *Provider) Chat(ctx context.Context, req *aiclient.Request) (*aiclient.Response, error) {
	body, err := p.EncodeRequest(req)
	if err != nil {
		return nil, err
	}
	res, err := p.post(ctx, req.Model, "converse", "application/json", body)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	var raw json.RawMessage
	if err := wire.Decode(name, req.Model, res, &raw); err != nil {
		return nil, err
	}
	id := res.Header.Get("X-Amzn-Requestid")
	resp, err := p.DecodeResponse(req.Model, raw)
	if err != nil {
		return nil, err
	}
	if id != "" {
		resp.ID = id
	}
	return resp, nil
}

// DecodeResponse turns a Converse response body into a Response, through
// the events a stream of the same answer gives.
func (p *Provider) DecodeResponse(model string, body []byte) (*aiclient.Response, error) {
	var w converseResponse
	if err := json.Unmarshal(body, &w); err != nil {
		return nil, &aiclient.Error{Provider: name, Model: model, Status: http.StatusOK, Kind: aiclient.KindServer,
			Code: "invalid_response", Message: "the response body is not the expected JSON", Retryable: true, Err: err}
	}
	var acc aiclient.Accumulator
	acc.Add(aiclient.Event{Type: aiclient.EventStart, Model: model})
	calls := 0
	if m := w.Output.Message; m != nil {
		for _, b := range m.Content {
			switch {
			case b.Text != nil:
				acc.Add(aiclient.Event{Type: aiclient.EventText, Text: *b.Text})
			case b.ToolUse != nil:
				args := string(b.ToolUse.Input)
				acc.Add(aiclient.Event{Type: aiclient.EventToolCall, ToolCall: aiclient.ToolCallDelta{
					Index: calls, ID: b.ToolUse.ToolUseID, Name: b.ToolUse.Name, Arguments: args}})
				calls++
			case b.ReasoningContent != nil:
				for _, ev := range reasoningEvents(b.ReasoningContent) {
					acc.Add(ev)
				}
			}
		}
	}
	if w.StopReason != "" {
		acc.Add(aiclient.Event{Type: aiclient.EventFinish, FinishReason: FinishReason(w.StopReason), RawFinishReason: w.StopReason})
	}
	if w.Usage != nil {
		acc.Add(aiclient.Event{Type: aiclient.EventUsage, Usage: w.Usage.neutral()})
	}
	return acc.Response(), nil
}

// reasoningEvents gives a reasoning block as a stream gives it: the text,
// then the signature that closes it; or the encrypted content alone.
func reasoningEvents(r *reasoningContent) []aiclient.Event {
	if r.RedactedContent != "" {
		return []aiclient.Event{{Type: aiclient.EventReasoning, Text: r.RedactedContent, Redacted: true}}
	}
	if r.ReasoningText == nil {
		return nil
	}
	evs := []aiclient.Event{{Type: aiclient.EventReasoning, Text: r.ReasoningText.Text}}
	if r.ReasoningText.Signature != "" {
		evs = append(evs, aiclient.Event{Type: aiclient.EventReasoning, Signature: r.ReasoningText.Signature})
	}
	return evs
}

// exceptionKind maps a Bedrock exception name (as an error response's
// x-amzn-ErrorType or a stream's :exception-type gives it, in either
// case) to a kind.
func exceptionKind(code, message string, status int) aiclient.Kind {
	switch strings.ToLower(code) {
	case "throttlingexception":
		return aiclient.KindRateLimited
	case "servicequotaexceededexception":
		return aiclient.KindQuotaExhausted
	case "validationexception":
		m := strings.ToLower(message)
		for _, s := range []string{"too long", "too many input tokens", "context window", "context length", "maximum context"} {
			if strings.Contains(m, s) {
				return aiclient.KindContextLength
			}
		}
		return aiclient.KindInvalidRequest
	case "accessdeniedexception":
		return aiclient.KindPermission
	case "unrecognizedclientexception", "invalidsignatureexception", "incompletesignatureexception",
		"expiredtokenexception", "missingauthenticationtokenexception":
		return aiclient.KindAuthentication
	case "resourcenotfoundexception":
		return aiclient.KindNotFound
	case "modeltimeoutexception":
		return aiclient.KindTimeout
	case "modelnotreadyexception", "serviceunavailableexception":
		return aiclient.KindOverloaded
	case "internalserverexception", "modelerrorexception", "modelstreamerrorexception":
		return aiclient.KindServer
	}
	if status == http.StatusOK {
		return aiclient.KindServer
	}
	return aiclient.KindFromStatus(status)
}

// exceptionName returns the exception name of an x-amzn-ErrorType header
// ("ThrottlingException:http://internal.amazon.com/...") or a __type
// member ("com.amazon.coral.service#UnrecognizedClientException").
func exceptionName(s string) string {
	s, _, _ = strings.Cut(s, ":")
	if _, after, ok := strings.Cut(s, "#"); ok {
		s = after
	}
	return strings.TrimSpace(s)
}

// decodeError reads an error response: the exception name from the
// x-amzn-ErrorType header (or the body's __type or code), the message
// from the body.
func decodeError(res *http.Response, body []byte) *aiclient.Error {
	var w struct {
		Message  string `json:"message"`
		Message2 string `json:"Message"`
		Type     string `json:"__type"`
		Code     string `json:"code"`
	}
	_ = json.Unmarshal(body, &w) // a body that is not JSON leaves the fields empty
	code := exceptionName(res.Header.Get("X-Amzn-Errortype"))
	if code == "" {
		code = exceptionName(w.Type)
	}
	if code == "" {
		code = w.Code
	}
	msg := w.Message
	if msg == "" {
		msg = w.Message2
	}
	if msg == "" {
		msg = strings.TrimSpace(string(body))
	}
	e := &aiclient.Error{Status: res.StatusCode, Code: code, Message: msg}
	return e.WithKind(exceptionKind(code, msg, res.StatusCode))
}
