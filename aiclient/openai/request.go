package openai

import (
	"encoding/base64"
	"encoding/json"
	"fmt"

	"github.com/portico-dev/portico/aiclient"
	"github.com/portico-dev/portico/aiclient/internal/wire"
)

type chatRequest struct {
	Model               string            `json:"model"`
	Messages            []message         `json:"messages"`
	Tools               []tool            `json:"tools,omitempty"`
	ToolChoice          any               `json:"tool_choice,omitempty"`
	ResponseFormat      *responseFormat   `json:"response_format,omitempty"`
	Temperature         *float64          `json:"temperature,omitempty"`
	TopP                *float64          `json:"top_p,omitempty"`
	MaxCompletionTokens int               `json:"max_completion_tokens,omitempty"`
	MaxTokens           int               `json:"max_tokens,omitempty"`
	Stop                []string          `json:"stop,omitempty"`
	Seed                *int64            `json:"seed,omitempty"`
	User                string            `json:"user,omitempty"`
	Metadata            map[string]string `json:"metadata,omitempty"`
	Logprobs            bool              `json:"logprobs,omitempty"`
	TopLogprobs         *int              `json:"top_logprobs,omitempty"`
	ParallelToolCalls   *bool             `json:"parallel_tool_calls,omitempty"`
	Stream              bool              `json:"stream,omitempty"`
	StreamOptions       *streamOptions    `json:"stream_options,omitempty"`
}

type streamOptions struct {
	IncludeUsage bool `json:"include_usage"`
}

type message struct {
	Role             string     `json:"role"`
	Content          any        `json:"content,omitempty"` // string or []contentPart
	ReasoningContent string     `json:"reasoning_content,omitempty"`
	Refusal          string     `json:"refusal,omitempty"`
	ToolCalls        []toolCall `json:"tool_calls,omitempty"`
	ToolCallID       string     `json:"tool_call_id,omitempty"`
}

type contentPart struct {
	Type       string      `json:"type"`
	Text       string      `json:"text,omitempty"`
	ImageURL   *imageURL   `json:"image_url,omitempty"`
	InputAudio *inputAudio `json:"input_audio,omitempty"`
	File       *file       `json:"file,omitempty"`
}

type imageURL struct {
	URL    string `json:"url"`
	Detail string `json:"detail,omitempty"`
}

type inputAudio struct {
	Data   string `json:"data"`
	Format string `json:"format"`
}

type file struct {
	FileData string `json:"file_data,omitempty"`
	FileID   string `json:"file_id,omitempty"`
	Filename string `json:"filename,omitempty"`
}

type toolCall struct {
	Index    *int     `json:"index,omitempty"`
	ID       string   `json:"id,omitempty"`
	Type     string   `json:"type,omitempty"`
	Function function `json:"function"`
}

type function struct {
	Name      string `json:"name,omitempty"`
	Arguments string `json:"arguments"`
}

type tool struct {
	Type     string      `json:"type"`
	Function functionDef `json:"function"`
}

type functionDef struct {
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	Parameters  json.RawMessage `json:"parameters"`
	Strict      bool            `json:"strict,omitempty"`
}

type responseFormat struct {
	Type       string      `json:"type"`
	JSONSchema *jsonSchema `json:"json_schema,omitempty"`
}

type jsonSchema struct {
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	Schema      json.RawMessage `json:"schema,omitempty"`
	Strict      bool            `json:"strict,omitempty"`
}

var emptyObject = json.RawMessage(`{"type":"object","properties":{}}`)

// EncodeRequest returns the Chat Completions body for req. It is what
// [Provider.Chat] sends (with stream set, what [Provider.Stream] sends).
func (p *Provider) EncodeRequest(req *aiclient.Request, stream bool) ([]byte, error) {
	native, err := wire.Native(p.cfg.Provider, req, wire.Caps{Wire: aiclient.WireOpenAI, Logprobs: true, Serial: true})
	if err != nil {
		return nil, err
	}
	w := chatRequest{
		Logprobs:          req.Logprobs,
		TopLogprobs:       req.TopLogprobs,
		ParallelToolCalls: req.ParallelToolCalls,
		Model:             req.Model,
		Temperature:       req.Temperature,
		TopP:              req.TopP,
		Stop:              req.Stop,
		Seed:              req.Seed,
		User:              req.User,
		Metadata:          req.Metadata,
	}
	if p.cfg.legacyMax {
		w.MaxTokens = req.MaxOutputTokens
	} else {
		w.MaxCompletionTokens = req.MaxOutputTokens
	}
	if stream {
		w.Stream = true
		if !p.cfg.noUsage {
			w.StreamOptions = &streamOptions{IncludeUsage: true}
		}
	}
	for i, m := range req.Messages {
		wm, err := encodeMessage(m)
		if err != nil {
			return nil, fmt.Errorf("portico/openai: messages[%d]: %w", i, err)
		}
		w.Messages = append(w.Messages, wm)
	}
	for _, t := range req.Tools {
		params := t.Parameters
		if len(params) == 0 {
			params = emptyObject
		}
		w.Tools = append(w.Tools, tool{Type: "function", Function: functionDef{Name: t.Name, Description: t.Description, Parameters: params, Strict: t.Strict}})
	}
	if tc := req.ToolChoice; tc != nil {
		switch tc.Mode {
		case aiclient.ChoiceTool:
			w.ToolChoice = map[string]any{"type": "function", "function": map[string]string{"name": tc.Name}}
		case "":
		default:
			w.ToolChoice = string(tc.Mode)
		}
	}
	if rf := req.ResponseFormat; rf != nil {
		switch rf.Type {
		case aiclient.FormatJSONSchema:
			name := rf.Name
			if name == "" {
				name = "response"
			}
			w.ResponseFormat = &responseFormat{Type: "json_schema", JSONSchema: &jsonSchema{Name: name, Description: rf.Description, Schema: rf.Schema, Strict: rf.Strict}}
		case aiclient.FormatJSON, aiclient.FormatText:
			w.ResponseFormat = &responseFormat{Type: string(rf.Type)}
		}
	}
	if len(native) == 0 && len(req.Extra) == 0 {
		if b, ok := appendRequest(make([]byte, 0, requestSize(req)), &w); ok {
			return b, nil
		}
	}
	return wire.Body(w, native, req.Extra)
}

// requestSize guesses the size of req's body, for one allocation.
func requestSize(req *aiclient.Request) int {
	n := 256
	for _, m := range req.Messages {
		for _, p := range m.Parts {
			n += 32 + len(p.Text)
		}
	}
	return n
}

func encodeMessage(m aiclient.Message) (message, error) {
	w := message{Role: string(m.Role)}
	switch m.Role {
	case aiclient.RoleTool:
		w.ToolCallID = m.ToolCallID
		w.Content = m.Text()
		return w, nil
	case aiclient.RoleAssistant:
		if text := m.Text(); text != "" || len(m.ToolCalls) == 0 {
			w.Content = text
		}
		for _, tc := range m.ToolCalls {
			args := string(tc.Arguments)
			if args == "" {
				args = "{}"
			}
			w.ToolCalls = append(w.ToolCalls, toolCall{ID: tc.ID, Type: "function", Function: function{Name: tc.Name, Arguments: args}})
		}
		return w, nil
	}
	if len(m.Parts) == 1 && m.Parts[0].Type == aiclient.PartText {
		w.Content = m.Parts[0].Text
		return w, nil
	}
	parts := make([]contentPart, 0, len(m.Parts))
	for _, p := range m.Parts {
		switch p.Type {
		case aiclient.PartText:
			parts = append(parts, contentPart{Type: "text", Text: p.Text})
		case aiclient.PartImage:
			u := p.URL
			if len(p.Data) > 0 {
				u = dataURL(p.MIMEType, p.Data)
			}
			parts = append(parts, contentPart{Type: "image_url", ImageURL: &imageURL{URL: u, Detail: p.Detail}})
		case aiclient.PartAudio:
			if len(p.Data) == 0 {
				return w, fmt.Errorf("audio parts need Data: the Chat Completions API takes no audio URLs")
			}
			parts = append(parts, contentPart{Type: "input_audio", InputAudio: &inputAudio{Data: base64.StdEncoding.EncodeToString(p.Data), Format: audioFormat(p.MIMEType)}})
		case aiclient.PartFile:
			f := &file{Filename: p.Name, FileID: p.URL}
			if len(p.Data) > 0 {
				f.FileID, f.FileData = "", dataURL(p.MIMEType, p.Data)
			}
			parts = append(parts, contentPart{Type: "file", File: f})
		case aiclient.PartReasoning:
			// Chat Completions takes no reasoning back.
		default:
			return w, fmt.Errorf("unknown part type %q", p.Type)
		}
	}
	w.Content = parts
	return w, nil
}

func dataURL(mime string, data []byte) string {
	if mime == "" {
		mime = "application/octet-stream"
	}
	return "data:" + mime + ";base64," + base64.StdEncoding.EncodeToString(data)
}

func audioFormat(mime string) string {
	switch mime {
	case "audio/mpeg", "audio/mp3":
		return "mp3"
	}
	return "wav"
}
