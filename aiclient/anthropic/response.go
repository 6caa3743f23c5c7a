package anthropic

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/portico-dev/portico/aiclient"
	"github.com/portico-dev/portico/aiclient/internal/wire"
)

type usage struct {
	InputTokens              *int64 `json:"input_tokens"`
	OutputTokens             *int64 `json:"output_tokens"`
	CacheCreationInputTokens *int64 `json:"cache_creation_input_tokens"`
	CacheReadInputTokens     *int64 `json:"cache_read_input_tokens"`
}

// merge folds u into n: Anthropic's input_tokens exclude cache reads and
// writes, which the neutral InputTokens includes. Absent fields keep
// their earlier value (message_delta may carry only output_tokens).
func (u *usage) merge(n *aiclient.Usage, raw *[3]int64) {
	if u.InputTokens != nil {
		raw[0] = *u.InputTokens
	}
	if u.CacheReadInputTokens != nil {
		raw[1] = *u.CacheReadInputTokens
	}
	if u.CacheCreationInputTokens != nil {
		raw[2] = *u.CacheCreationInputTokens
	}
	n.InputTokens = raw[0] + raw[1] + raw[2]
	n.CacheReadTokens, n.CacheWriteTokens = raw[1], raw[2]
	if u.OutputTokens != nil {
		n.OutputTokens = *u.OutputTokens
	}
}

type messageResponse struct {
	ID         string  `json:"id"`
	Model      string  `json:"model"`
	Content    []block `json:"content"`
	StopReason *string `json:"stop_reason"`
	Usage      *usage  `json:"usage"`
}

// FinishReason normalises an Anthropic stop_reason.
func FinishReason(raw string) aiclient.FinishReason {
	switch raw {
	case "max_tokens", "model_context_window_exceeded":
		return aiclient.FinishLength
	case "tool_use":
		return aiclient.FinishToolCalls
	case "refusal":
		return aiclient.FinishContentFilter
	}
	return aiclient.FinishStop
}

func finishEvent(raw string) aiclient.Event {
	return aiclient.Event{Type: aiclient.EventFinish, FinishReason: FinishReason(raw), RawFinishReason: raw}
}

// Chat sends a Messages API request.
func (p *Provider) Chat(ctx context.Context, req *aiclient.Request) (*aiclient.Response, error) {
	body, err := p.EncodeRequest(req, false)
	if err != nil {
		return nil, err
	}
	res, err := p.post(ctx, req.Model, body, false)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	var raw json.RawMessage
	if err := wire.Decode(p.cfg.Provider, req.Model, res, &raw); err != nil {
		return nil, err
	}
	return p.DecodeResponse(req.Model, raw)
}

// DecodeResponse turns a Messages API response body into a Response.
func (p *Provider) DecodeResponse(model string, body []byte) (*aiclient.Response, error) {
	var w messageResponse
	if err := json.Unmarshal(body, &w); err != nil {
		return nil, &aiclient.Error{Provider: "anthropic", Model: model, Status: http.StatusOK, Kind: aiclient.KindServer,
			Code: "invalid_response", Message: "the response body is not a message", Retryable: true, Err: err}
	}
	var acc aiclient.Accumulator
	acc.Add(aiclient.Event{Type: aiclient.EventStart, ID: w.ID, Model: w.Model, Native: native(body)})
	calls := 0
	for _, b := range w.Content {
		switch b.Type {
		case "text":
			acc.Add(aiclient.Event{Type: aiclient.EventText, Text: b.Text})
		case "thinking":
			acc.Add(aiclient.Event{Type: aiclient.EventReasoning, Text: b.Thinking})
			acc.Add(aiclient.Event{Type: aiclient.EventReasoning, Signature: b.Signature})
		case "redacted_thinking":
			acc.Add(aiclient.Event{Type: aiclient.EventReasoning, Text: b.Data, Redacted: true})
		case "tool_use":
			acc.Add(aiclient.Event{Type: aiclient.EventToolCall, ToolCall: aiclient.ToolCallDelta{Index: calls, ID: b.ID, Name: b.Name, Arguments: string(b.Input)}})
			calls++
		}
	}
	if w.StopReason != nil {
		acc.Add(finishEvent(*w.StopReason))
	}
	if w.Usage != nil {
		var n aiclient.Usage
		var raw [3]int64
		w.Usage.merge(&n, &raw)
		acc.Add(aiclient.Event{Type: aiclient.EventUsage, Usage: n})
	}
	return acc.Response(), nil
}

type apiError struct {
	Type    string `json:"type"`
	Message string `json:"message"`
}

func kind(typ, msg string, status int) aiclient.Kind {
	switch typ {
	case "invalid_request_error":
		if strings.Contains(msg, "prompt is too long") || strings.Contains(msg, "context window") {
			return aiclient.KindContextLength
		}
		return aiclient.KindInvalidRequest
	case "authentication_error":
		return aiclient.KindAuthentication
	case "permission_error":
		return aiclient.KindPermission
	case "not_found_error":
		return aiclient.KindNotFound
	case "request_too_large":
		return aiclient.KindInvalidRequest
	case "rate_limit_error":
		return aiclient.KindRateLimited
	case "billing_error":
		return aiclient.KindQuotaExhausted
	case "overloaded_error":
		return aiclient.KindOverloaded
	case "timeout_error":
		return aiclient.KindTimeout
	case "api_error":
		return aiclient.KindServer
	}
	if status == http.StatusOK {
		return aiclient.KindServer
	}
	return aiclient.KindFromStatus(status)
}

func decodeError(res *http.Response, body []byte) *aiclient.Error {
	var w struct {
		Error *apiError `json:"error"`
	}
	_ = json.Unmarshal(body, &w) // a body that is not an error object gives nil
	if w.Error == nil {
		return nil
	}
	return &aiclient.Error{Code: w.Error.Type, Message: w.Error.Message, Kind: kind(w.Error.Type, w.Error.Message, res.StatusCode)}
}

// Models lists the models the API serves (the first page, up to 1000).
func (p *Provider) Models(ctx context.Context) ([]aiclient.Model, error) {
	res, err := p.cfg.Do(ctx, http.MethodGet, p.cfg.BaseURL+"/v1/models?limit=1000", nil, p.header(), "", decodeError)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	var w struct {
		Data []struct {
			ID        string `json:"id"`
			CreatedAt string `json:"created_at"`
		} `json:"data"`
	}
	if err := wire.Decode("anthropic", "", res, &w); err != nil {
		return nil, err
	}
	out := make([]aiclient.Model, 0, len(w.Data))
	for _, m := range w.Data {
		out = append(out, aiclient.Model{ID: m.ID, Provider: "anthropic", OwnedBy: "anthropic", Created: parseTime(m.CreatedAt)})
	}
	return out, nil
}

// native holds the members of a message that no neutral field models,
// such as container.
func native(body []byte) *aiclient.Native {
	f := aiclient.Unknown(body, "id", "type", "role", "model", "content", "stop_reason", "stop_sequence", "usage", "error")
	if f == nil {
		return nil
	}
	return &aiclient.Native{Wire: aiclient.WireAnthropic, Fields: f}
}
