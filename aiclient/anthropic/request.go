package anthropic

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"

	"github.com/portico-dev/portico/aiclient"
	"github.com/portico-dev/portico/aiclient/internal/wire"
)

type messagesRequest struct {
	Model         string        `json:"model"`
	MaxTokens     int           `json:"max_tokens"`
	System        []block       `json:"system,omitempty"`
	Messages      []message     `json:"messages"`
	Tools         []tool        `json:"tools,omitempty"`
	ToolChoice    *toolChoice   `json:"tool_choice,omitempty"`
	OutputConfig  *outputConfig `json:"output_config,omitempty"`
	Temperature   *float64      `json:"temperature,omitempty"`
	TopP          *float64      `json:"top_p,omitempty"`
	StopSequences []string      `json:"stop_sequences,omitempty"`
	Metadata      *metadata     `json:"metadata,omitempty"`
	Stream        bool          `json:"stream,omitempty"`
}

type metadata struct {
	UserID string `json:"user_id"`
}

type message struct {
	Role    string  `json:"role"`
	Content []block `json:"content"`
}

// block is a content block, in requests and responses.
type block struct {
	Type      string          `json:"type"`
	Text      string          `json:"text,omitempty"`
	Source    *source         `json:"source,omitempty"`
	ID        string          `json:"id,omitempty"`
	Name      string          `json:"name,omitempty"`
	Input     json.RawMessage `json:"input,omitempty"`
	ToolUseID string          `json:"tool_use_id,omitempty"`
	Content   string          `json:"content,omitempty"`
	IsError   bool            `json:"is_error,omitempty"`
	Thinking  string          `json:"thinking,omitempty"`
	Signature string          `json:"signature,omitempty"`
	Data      string          `json:"data,omitempty"`
	// CacheControl is only set in requests.
	CacheControl *cacheControl `json:"cache_control,omitempty"`
}

type cacheControl struct {
	Type string `json:"type"`
}

// ephemeral is the cache breakpoint [aiclient.Part.Cache] asks for.
var ephemeral = &cacheControl{Type: "ephemeral"}

func cacheOf(on bool) *cacheControl {
	if on {
		return ephemeral
	}
	return nil
}

type source struct {
	Type      string `json:"type"`
	MediaType string `json:"media_type,omitempty"`
	Data      string `json:"data,omitempty"`
	URL       string `json:"url,omitempty"`
}

type tool struct {
	Name         string          `json:"name"`
	Description  string          `json:"description,omitempty"`
	InputSchema  json.RawMessage `json:"input_schema"`
	Strict       bool            `json:"strict,omitempty"`
	CacheControl *cacheControl   `json:"cache_control,omitempty"`
}

type toolChoice struct {
	Type                   string `json:"type"`
	Name                   string `json:"name,omitempty"`
	DisableParallelToolUse bool   `json:"disable_parallel_tool_use,omitempty"`
}

type outputConfig struct {
	Format outputFormat `json:"format"`
}

type outputFormat struct {
	Type   string          `json:"type"`
	Schema json.RawMessage `json:"schema"`
}

var emptyObject = json.RawMessage(`{"type":"object","properties":{}}`)

// EncodeRequest returns the Messages API body for req. System and
// developer messages become the system prompt; tool results go in a user
// message; consecutive messages of one role are merged, as the API
// requires alternation. Seed, Metadata (other than User, sent as
// metadata.user_id) and the FormatJSON response format have no
// equivalent and are dropped.
func (p *Provider) EncodeRequest(req *aiclient.Request, stream bool) ([]byte, error) {
	native, err := wire.Native(p.cfg.Provider, req, wire.Caps{Wire: aiclient.WireAnthropic, Serial: true})
	if err != nil {
		return nil, err
	}
	w := messagesRequest{
		Model:         req.Model,
		MaxTokens:     req.MaxOutputTokens,
		Temperature:   req.Temperature,
		TopP:          req.TopP,
		StopSequences: req.Stop,
		Stream:        stream,
	}
	if w.MaxTokens <= 0 {
		w.MaxTokens = p.cfg.maxTokens
	}
	if req.User != "" {
		w.Metadata = &metadata{UserID: req.User}
	}
	for i, m := range req.Messages {
		if m.Role == aiclient.RoleSystem || m.Role == aiclient.RoleDeveloper {
			for _, part := range m.Parts {
				if part.Type == aiclient.PartText && part.Text != "" {
					w.System = append(w.System, block{Type: "text", Text: part.Text, CacheControl: cacheOf(part.Cache)})
				}
			}
			continue
		}
		role, blocks, err := encodeMessage(m)
		if err != nil {
			return nil, fmt.Errorf("portico/anthropic: messages[%d]: %w", i, err)
		}
		if n := len(w.Messages); n > 0 && w.Messages[n-1].Role == role {
			w.Messages[n-1].Content = append(w.Messages[n-1].Content, blocks...)
			continue
		}
		w.Messages = append(w.Messages, message{Role: role, Content: blocks})
	}
	for _, t := range req.Tools {
		schema := t.Parameters
		if len(schema) == 0 {
			schema = emptyObject
		}
		w.Tools = append(w.Tools, tool{Name: t.Name, Description: t.Description, InputSchema: schema, Strict: t.Strict, CacheControl: cacheOf(t.Cache)})
	}
	if tc := req.ToolChoice; tc != nil {
		switch tc.Mode {
		case aiclient.ChoiceAuto:
			w.ToolChoice = &toolChoice{Type: "auto"}
		case aiclient.ChoiceNone:
			w.ToolChoice = &toolChoice{Type: "none"}
		case aiclient.ChoiceRequired:
			w.ToolChoice = &toolChoice{Type: "any"}
		case aiclient.ChoiceTool:
			w.ToolChoice = &toolChoice{Type: "tool", Name: tc.Name}
		}
	}
	if p := req.ParallelToolCalls; p != nil && !*p && len(w.Tools) > 0 {
		if w.ToolChoice == nil {
			w.ToolChoice = &toolChoice{Type: "auto"}
		}
		w.ToolChoice.DisableParallelToolUse = w.ToolChoice.Type != "none"
	}
	if rf := req.ResponseFormat; rf != nil && rf.Type == aiclient.FormatJSONSchema {
		w.OutputConfig = &outputConfig{Format: outputFormat{Type: "json_schema", Schema: rf.Schema}}
	}
	return wire.Body(w, native, req.Extra)
}

func encodeMessage(m aiclient.Message) (string, []block, error) {
	switch m.Role {
	case aiclient.RoleTool:
		cached := false
		for _, part := range m.Parts {
			cached = cached || part.Cache
		}
		return "user", []block{{Type: "tool_result", ToolUseID: m.ToolCallID, Content: m.Text(), IsError: m.IsError, CacheControl: cacheOf(cached)}}, nil
	case aiclient.RoleAssistant:
		var blocks []block
		for _, part := range m.Parts {
			switch part.Type {
			case aiclient.PartReasoning:
				if part.Redacted {
					blocks = append(blocks, block{Type: "redacted_thinking", Data: part.Text})
				} else {
					blocks = append(blocks, block{Type: "thinking", Thinking: part.Text, Signature: part.Signature})
				}
			case aiclient.PartText:
				if part.Text != "" {
					blocks = append(blocks, block{Type: "text", Text: part.Text, CacheControl: cacheOf(part.Cache)})
				}
			}
		}
		for _, tc := range m.ToolCalls {
			input := tc.Arguments
			if len(bytes.TrimSpace(input)) == 0 || !json.Valid(input) {
				input = json.RawMessage("{}")
			}
			blocks = append(blocks, block{Type: "tool_use", ID: tc.ID, Name: tc.Name, Input: input})
		}
		return "assistant", blocks, nil
	case aiclient.RoleUser:
		var blocks []block
		for _, part := range m.Parts {
			b, err := encodePart(part)
			if err != nil {
				return "", nil, err
			}
			b.CacheControl = cacheOf(part.Cache)
			blocks = append(blocks, b)
		}
		return "user", blocks, nil
	}
	return "", nil, fmt.Errorf("unknown role %q", m.Role)
}

func encodePart(part aiclient.Part) (block, error) {
	switch part.Type {
	case aiclient.PartText:
		return block{Type: "text", Text: part.Text}, nil
	case aiclient.PartImage, aiclient.PartFile:
		typ := "image"
		if part.Type == aiclient.PartFile {
			typ = "document"
		}
		if len(part.Data) > 0 {
			mt := part.MIMEType
			if mt == "" && typ == "document" {
				mt = "application/pdf"
			}
			return block{Type: typ, Source: &source{Type: "base64", MediaType: mt, Data: base64.StdEncoding.EncodeToString(part.Data)}}, nil
		}
		return block{Type: typ, Source: &source{Type: "url", URL: part.URL}}, nil
	}
	return block{}, fmt.Errorf("part type %q is not supported by the Messages API", part.Type)
}
