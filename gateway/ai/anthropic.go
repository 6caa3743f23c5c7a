package ai

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/portico-dev/portico/aiclient"
)

// messagesRequest is Anthropic's Messages request.
type messagesRequest struct {
	Model      string             `json:"model"`
	MaxTokens  int                `json:"max_tokens"`
	System     json.RawMessage    `json:"system"`
	Messages   []anthropicMessage `json:"messages"`
	Tools      []anthropicTool    `json:"tools"`
	ToolChoice *struct {
		Type                   string `json:"type"`
		Name                   string `json:"name"`
		DisableParallelToolUse bool   `json:"disable_parallel_tool_use"`
	} `json:"tool_choice"`
	StopSequences []string `json:"stop_sequences"`
	Temperature   *float64 `json:"temperature"`
	TopP          *float64 `json:"top_p"`
	Stream        bool     `json:"stream"`
	Metadata      *struct {
		UserID string `json:"user_id"`
	} `json:"metadata"`
	// rest are the members no field models (thinking, top_k,
	// service_tier...): see native.go.
	rest map[string]json.RawMessage
}

type anthropicMessage struct {
	Role    string          `json:"role"`
	Content json.RawMessage `json:"content"`
}

type anthropicBlock struct {
	Type      string          `json:"type"`
	Text      string          `json:"text,omitempty"`
	Thinking  string          `json:"thinking,omitempty"`
	Data      string          `json:"data,omitempty"`
	Signature string          `json:"signature,omitempty"`
	ID        string          `json:"id,omitempty"`
	Name      string          `json:"name,omitempty"`
	Input     json.RawMessage `json:"input,omitempty"`
	ToolUseID string          `json:"tool_use_id,omitempty"`
	Content   json.RawMessage `json:"content,omitempty"`
	IsError   bool            `json:"is_error,omitempty"`
	Source    *struct {
		Type      string `json:"type"`
		MediaType string `json:"media_type"`
		Data      string `json:"data"`
		URL       string `json:"url"`
	} `json:"source,omitempty"`
	CacheControl json.RawMessage `json:"cache_control,omitempty"`
}

type anthropicTool struct {
	Type         string          `json:"type"`
	Name         string          `json:"name"`
	Description  string          `json:"description"`
	InputSchema  json.RawMessage `json:"input_schema"`
	Strict       bool            `json:"strict"`
	CacheControl json.RawMessage `json:"cache_control"`
}

// blocks decodes content given as a string or an array of blocks.
func blocks(raw json.RawMessage) ([]anthropicBlock, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, err
		}
		return []anthropicBlock{{Type: "text", Text: s}}, nil
	}
	var bs []anthropicBlock
	err := json.Unmarshal(raw, &bs)
	return bs, err
}

// neutral converts the request into aiclient's form.
func (mr *messagesRequest) neutral() (*aiclient.Request, *apiError) {
	if mr.MaxTokens <= 0 {
		return nil, invalid("max_tokens", "max_tokens: Field required and must be positive")
	}
	if len(mr.Messages) == 0 {
		return nil, invalid("messages", "messages: at least one message is required")
	}
	req := &aiclient.Request{Model: mr.Model, MaxOutputTokens: mr.MaxTokens, Stop: mr.StopSequences,
		Temperature: mr.Temperature, TopP: mr.TopP}
	if mr.Metadata != nil {
		req.User = mr.Metadata.UserID
	}
	req.Native = nativeOf(aiclient.WireAnthropic, mr.rest)
	sys, err := blocks(mr.System)
	if err != nil {
		return nil, invalid("system", "system must be a string or an array of text blocks")
	}
	if len(sys) > 0 {
		m := aiclient.Message{Role: aiclient.RoleSystem}
		for _, b := range sys {
			p := aiclient.Text(b.Text)
			p.Cache = len(b.CacheControl) > 0
			m.Parts = append(m.Parts, p)
		}
		req.Messages = append(req.Messages, m)
	}
	for i, m := range mr.Messages {
		msgs, e := neutralMessage(fmt.Sprintf("messages.%d", i), m)
		if e != nil {
			return nil, e
		}
		req.Messages = append(req.Messages, msgs...)
	}
	for i, t := range mr.Tools {
		if t.Type != "" && t.Type != "custom" {
			// A server tool (web search, code execution...) runs at
			// Anthropic; the gateway has no counterpart to send it as.
			return nil, invalid(fmt.Sprintf("tools.%d.type", i), fmt.Sprintf("tools.%d.type: server tools (%s) are not supported by the gateway; declare custom tools", i, t.Type))
		}
		req.Tools = append(req.Tools, aiclient.Tool{Name: t.Name, Description: t.Description, Parameters: t.InputSchema,
			Strict: t.Strict, Cache: len(t.CacheControl) > 0 && string(t.CacheControl) != "null"})
	}
	if e := mr.neutralToolChoice(req); e != nil {
		return nil, e
	}
	return req, nil
}

// neutralToolChoice sets req's tool choice from the request's.
func (mr *messagesRequest) neutralToolChoice(req *aiclient.Request) *apiError {
	tc := mr.ToolChoice
	if tc == nil {
		return nil
	}
	if tc.DisableParallelToolUse {
		req.ParallelToolCalls = new(bool)
	}
	switch tc.Type {
	case "auto":
		req.ToolChoice = &aiclient.ToolChoice{Mode: aiclient.ChoiceAuto}
	case "any":
		req.ToolChoice = &aiclient.ToolChoice{Mode: aiclient.ChoiceRequired}
	case "none":
		req.ToolChoice = &aiclient.ToolChoice{Mode: aiclient.ChoiceNone}
	case "tool":
		req.ToolChoice = &aiclient.ToolChoice{Mode: aiclient.ChoiceTool, Name: tc.Name}
	default:
		return invalid("tool_choice.type", "tool_choice.type: must be auto, any, tool or none")
	}
	return nil
}

// neutralMessage turns the message at where into neutral messages: one
// tool message per tool_result block, in order, then the message itself
// if it holds anything else or nothing at all.
func neutralMessage(where string, m anthropicMessage) ([]aiclient.Message, *apiError) {
	if m.Role != "user" && m.Role != "assistant" {
		return nil, invalid(where+".role", where+".role: must be user or assistant")
	}
	bs, err := blocks(m.Content)
	if err != nil {
		return nil, invalid(where+".content", where+".content: must be a string or an array of content blocks")
	}
	var out []aiclient.Message
	msg := aiclient.Message{Role: aiclient.Role(m.Role)}
	for j, b := range bs {
		at := fmt.Sprintf("%s.content.%d", where, j)
		switch b.Type {
		case "tool_use":
			args := b.Input
			if len(args) == 0 {
				args = json.RawMessage("{}")
			}
			msg.ToolCalls = append(msg.ToolCalls, aiclient.ToolCall{ID: b.ID, Name: b.Name, Arguments: args})
		case "tool_result":
			// Each result becomes its own tool message, in order.
			tm, e := toolResult(at, b)
			if e != nil {
				return nil, e
			}
			out = append(out, tm)
		default:
			p, e := neutralPart(at, b)
			if e != nil {
				return nil, e
			}
			msg.Parts = append(msg.Parts, p)
		}
	}
	if len(msg.Parts) > 0 || len(msg.ToolCalls) > 0 || len(bs) == 0 {
		out = append(out, msg)
	}
	return out, nil
}

// toolResult turns the tool_result block at "at" into a tool message.
func toolResult(at string, b anthropicBlock) (aiclient.Message, *apiError) {
	inner, err := blocks(b.Content)
	if err != nil {
		return aiclient.Message{}, invalid(at+".content", "content: must be a string or an array of blocks")
	}
	tm := aiclient.Message{Role: aiclient.RoleTool, ToolCallID: b.ToolUseID, IsError: b.IsError}
	for _, ib := range inner {
		if ib.Type == "text" {
			tm.Parts = append(tm.Parts, aiclient.Text(ib.Text))
		}
	}
	return tm, nil
}

// neutralPart turns the content block at "at" into a neutral part: text,
// thinking, an image or a document.
func neutralPart(at string, b anthropicBlock) (aiclient.Part, *apiError) {
	switch b.Type {
	case "text":
		p := aiclient.Text(b.Text)
		p.Cache = len(b.CacheControl) > 0
		return p, nil
	case "thinking":
		return aiclient.Part{Type: aiclient.PartReasoning, Text: b.Thinking, Signature: b.Signature}, nil
	case "redacted_thinking":
		return aiclient.Part{Type: aiclient.PartReasoning, Text: b.Data, Redacted: true}, nil
	case "image", "document":
		if b.Source == nil {
			return aiclient.Part{}, invalid(at+".source", "source: Field required")
		}
		typ := aiclient.PartImage
		if b.Type == "document" {
			typ = aiclient.PartFile
		}
		p := aiclient.Part{Type: typ, MIMEType: b.Source.MediaType, URL: b.Source.URL}
		if b.Source.Type == "base64" {
			data, err := base64.StdEncoding.DecodeString(b.Source.Data)
			if err != nil {
				return aiclient.Part{}, invalid(at+".source.data", "source.data: must be base64")
			}
			p.Data = data
		}
		return p, nil
	}
	return aiclient.Part{}, invalid(at+".type", "unsupported content block type "+b.Type)
}

// anthropicResponse is Anthropic's Messages response.
type anthropicResponse struct {
	ID           string         `json:"id"`
	Type         string         `json:"type"`
	Role         string         `json:"role"`
	Model        string         `json:"model"`
	Content      []any          `json:"content"`
	StopReason   *string        `json:"stop_reason"`
	StopSequence *string        `json:"stop_sequence"`
	Usage        anthropicUsage `json:"usage"`
}

type anthropicUsage struct {
	InputTokens              int64 `json:"input_tokens"`
	OutputTokens             int64 `json:"output_tokens"`
	CacheReadInputTokens     int64 `json:"cache_read_input_tokens"`
	CacheCreationInputTokens int64 `json:"cache_creation_input_tokens"`
}

func toAnthropicUsage(u aiclient.Usage) anthropicUsage {
	return anthropicUsage{
		InputTokens:              max(0, u.InputTokens-u.CacheReadTokens-u.CacheWriteTokens),
		OutputTokens:             u.OutputTokens,
		CacheReadInputTokens:     u.CacheReadTokens,
		CacheCreationInputTokens: u.CacheWriteTokens,
	}
}

func stopReason(f aiclient.FinishReason) string {
	switch f {
	case aiclient.FinishLength:
		return "max_tokens"
	case aiclient.FinishToolCalls:
		return "tool_use"
	case aiclient.FinishContentFilter:
		return "refusal"
	}
	return "end_turn"
}

func messageID(id string) string {
	if id == "" {
		return "msg_portico"
	}
	return id
}

func anthropicMessageOf(resp *aiclient.Response, alias string) *anthropicResponse {
	out := &anthropicResponse{ID: messageID(resp.ID), Type: "message", Role: "assistant",
		Model: modelName(resp.Model, alias), Content: []any{}, Usage: toAnthropicUsage(resp.Usage)}
	for _, p := range resp.Message.Parts {
		switch {
		case p.Type == aiclient.PartText:
			out.Content = append(out.Content, outBlock(anthropicBlock{Type: "text", Text: p.Text}))
		case p.Type == aiclient.PartReasoning && p.Redacted:
			out.Content = append(out.Content, anthropicBlock{Type: "redacted_thinking", Data: p.Text})
		case p.Type == aiclient.PartReasoning:
			out.Content = append(out.Content, outBlock(anthropicBlock{Type: "thinking", Thinking: p.Text, Signature: p.Signature}))
		}
	}
	for _, tc := range resp.Message.ToolCalls {
		args := tc.Arguments
		if !json.Valid(args) {
			args = json.RawMessage("{}")
		}
		out.Content = append(out.Content, outBlock(anthropicBlock{Type: "tool_use", ID: tc.ID, Name: tc.Name, Input: args}))
	}
	sr := stopReason(resp.FinishReason)
	out.StopReason = &sr
	return out
}

// messages serves POST /v1/messages in Anthropic's format.
func (h *Handler) messages(w http.ResponseWriter, r *http.Request) {
	var mr messagesRequest
	c, req := h.open(w, r, "messages", &mr, (*apiError).writeAnthropic)
	if c == nil {
		return
	}
	if mr.Stream {
		h.messagesStream(w, c, req)
		return
	}
	resp, err := h.client.Chat(c.ctx, req)
	if err != nil {
		e := fromCall(err)
		e.writeAnthropic(w)
		c.end(e.status, e, nil)
		return
	}
	c.markCache(w)
	writeJSON(w, http.StatusOK, json.RawMessage(withNative(anthropicMessageOf(resp, mr.Model), resp.Native, aiclient.WireAnthropic)))
	c.end(http.StatusOK, nil, resp)
}

// outBlock is a content block as a response or content_block_start
// holds it, with
// the empty fields Anthropic always sends: "text" on a text block,
// "thinking" and "signature" on a thinking block, "input" on a tool_use.
func outBlock(b anthropicBlock) any {
	switch b.Type {
	case "text":
		return struct {
			Type string `json:"type"`
			Text string `json:"text"`
		}{b.Type, b.Text}
	case "thinking":
		return struct {
			Type      string `json:"type"`
			Thinking  string `json:"thinking"`
			Signature string `json:"signature"`
		}{b.Type, b.Thinking, b.Signature}
	case "tool_use":
		return struct {
			Type  string          `json:"type"`
			ID    string          `json:"id"`
			Name  string          `json:"name"`
			Input json.RawMessage `json:"input"`
		}{b.Type, b.ID, b.Name, b.Input}
	}
	return b
}
