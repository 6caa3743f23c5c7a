package ai

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/portico-dev/portico/aiclient"
)

// chatRequest is OpenAI's Chat Completions request.
type chatRequest struct {
	Model               string            `json:"model"`
	Messages            []chatMessage     `json:"messages"`
	Tools               []chatTool        `json:"tools"`
	ToolChoice          json.RawMessage   `json:"tool_choice"`
	ResponseFormat      *chatFormat       `json:"response_format"`
	Temperature         *float64          `json:"temperature"`
	TopP                *float64          `json:"top_p"`
	MaxTokens           int               `json:"max_tokens"`
	MaxCompletionTokens int               `json:"max_completion_tokens"`
	Stop                json.RawMessage   `json:"stop"`
	Seed                *int64            `json:"seed"`
	User                string            `json:"user"`
	Metadata            map[string]string `json:"metadata"`
	N                   *int              `json:"n"`
	Stream              bool              `json:"stream"`
	StreamOptions       *struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
	Logprobs          bool  `json:"logprobs"`
	TopLogprobs       *int  `json:"top_logprobs"`
	ParallelToolCalls *bool `json:"parallel_tool_calls"`
	// rest are the members no field models (reasoning_effort,
	// logit_bias, service_tier, store...): see native.go.
	rest map[string]json.RawMessage
}

type chatMessage struct {
	Role       string          `json:"role"`
	Content    json.RawMessage `json:"content"`
	Name       string          `json:"name,omitempty"`
	ToolCalls  []chatToolCall  `json:"tool_calls,omitempty"`
	ToolCallID string          `json:"tool_call_id,omitempty"`
}

type chatPart struct {
	Type     string `json:"type"`
	Text     string `json:"text"`
	ImageURL *struct {
		URL    string `json:"url"`
		Detail string `json:"detail"`
	} `json:"image_url"`
	InputAudio *struct {
		Data   string `json:"data"`
		Format string `json:"format"`
	} `json:"input_audio"`
	File *struct {
		FileData string `json:"file_data"`
		FileID   string `json:"file_id"`
		Filename string `json:"filename"`
	} `json:"file"`
}

type chatToolCall struct {
	Index    *int   `json:"index,omitempty"`
	ID       string `json:"id,omitempty"`
	Type     string `json:"type,omitempty"`
	Function struct {
		Name      string `json:"name,omitempty"`
		Arguments string `json:"arguments"`
	} `json:"function"`
}

type chatTool struct {
	Type     string `json:"type"`
	Function struct {
		Name        string          `json:"name"`
		Description string          `json:"description"`
		Parameters  json.RawMessage `json:"parameters"`
		Strict      bool            `json:"strict"`
	} `json:"function"`
}

type chatFormat struct {
	Type       string `json:"type"`
	JSONSchema *struct {
		Name        string          `json:"name"`
		Description string          `json:"description"`
		Schema      json.RawMessage `json:"schema"`
		Strict      bool            `json:"strict"`
	} `json:"json_schema"`
}

// neutral converts the request into aiclient's form, or names the field
// at fault.
func (cr *chatRequest) neutral() (*aiclient.Request, *apiError) {
	if cr.N != nil && *cr.N != 1 {
		return nil, invalid("n", "Only n=1 is supported.")
	}
	if len(cr.Messages) == 0 {
		return nil, invalid("messages", "messages: at least one message is required.")
	}
	req := &aiclient.Request{
		Model:       cr.Model,
		Temperature: cr.Temperature,
		TopP:        cr.TopP,
		Seed:        cr.Seed,
		User:        cr.User,
		Metadata:    cr.Metadata,
	}
	req.MaxOutputTokens = cr.MaxCompletionTokens
	if req.MaxOutputTokens == 0 {
		req.MaxOutputTokens = cr.MaxTokens
	}
	if req.MaxOutputTokens < 0 {
		return nil, invalid("max_tokens", "max_tokens must be positive.")
	}
	if cr.TopLogprobs != nil && (*cr.TopLogprobs < 0 || *cr.TopLogprobs > 20) {
		return nil, invalid("top_logprobs", "top_logprobs must be between 0 and 20.")
	}
	if cr.TopLogprobs != nil && !cr.Logprobs {
		return nil, invalid("top_logprobs", "top_logprobs requires logprobs to be true.")
	}
	req.Logprobs, req.TopLogprobs, req.ParallelToolCalls = cr.Logprobs, cr.TopLogprobs, cr.ParallelToolCalls
	req.Native = nativeOf(aiclient.WireOpenAI, cr.rest)
	if stop, err := stringOrList(cr.Stop); err != nil {
		return nil, invalid("stop", "stop must be a string or an array of strings.")
	} else {
		req.Stop = stop
	}
	for i, m := range cr.Messages {
		nm, e := m.neutral(i)
		if e != nil {
			return nil, e
		}
		req.Messages = append(req.Messages, nm)
	}
	for i, t := range cr.Tools {
		if t.Type != "function" || t.Function.Name == "" {
			return nil, invalid(fmt.Sprintf("tools[%d]", i), fmt.Sprintf("tools[%d] must be a function with a name.", i))
		}
		req.Tools = append(req.Tools, aiclient.Tool{Name: t.Function.Name, Description: t.Function.Description,
			Parameters: t.Function.Parameters, Strict: t.Function.Strict})
	}
	if len(cr.ToolChoice) > 0 && string(cr.ToolChoice) != "null" {
		var mode string
		var named struct {
			Function struct{ Name string } `json:"function"`
		}
		switch {
		case json.Unmarshal(cr.ToolChoice, &mode) == nil && (mode == "auto" || mode == "none" || mode == "required"):
			req.ToolChoice = &aiclient.ToolChoice{Mode: aiclient.ChoiceMode(mode)}
		case json.Unmarshal(cr.ToolChoice, &named) == nil && named.Function.Name != "":
			req.ToolChoice = &aiclient.ToolChoice{Mode: aiclient.ChoiceTool, Name: named.Function.Name}
		default:
			return nil, invalid("tool_choice", `tool_choice must be "auto", "none", "required" or {"type":"function","function":{"name":...}}.`)
		}
	}
	if f := cr.ResponseFormat; f != nil {
		switch f.Type {
		case "", "text":
		case "json_object":
			req.ResponseFormat = &aiclient.ResponseFormat{Type: aiclient.FormatJSON}
		case "json_schema":
			if f.JSONSchema == nil || len(f.JSONSchema.Schema) == 0 {
				return nil, invalid("response_format.json_schema", "response_format.json_schema.schema is required.")
			}
			req.ResponseFormat = &aiclient.ResponseFormat{Type: aiclient.FormatJSONSchema, Name: f.JSONSchema.Name,
				Description: f.JSONSchema.Description, Schema: f.JSONSchema.Schema, Strict: f.JSONSchema.Strict}
		default:
			return nil, invalid("response_format.type", "response_format.type must be text, json_object or json_schema.")
		}
	}
	return req, nil
}

func (m *chatMessage) neutral(i int) (aiclient.Message, *apiError) {
	param := func() string { return fmt.Sprintf("messages[%d]", i) } // for errors only
	nm := aiclient.Message{Role: aiclient.Role(m.Role), ToolCallID: m.ToolCallID}
	switch nm.Role {
	case aiclient.RoleSystem, aiclient.RoleDeveloper, aiclient.RoleUser, aiclient.RoleAssistant, aiclient.RoleTool:
	default:
		return nm, invalid(param()+".role", param()+".role must be system, developer, user, assistant or tool.")
	}
	if nm.Role == aiclient.RoleTool && m.ToolCallID == "" {
		return nm, invalid(param()+".tool_call_id", param()+".tool_call_id is required in a tool message.")
	}
	parts, e := contentParts(m.Content, func() string { return param() + ".content" })
	if e != nil {
		return nm, e
	}
	nm.Parts = parts
	for _, tc := range m.ToolCalls {
		args := json.RawMessage(tc.Function.Arguments)
		if tc.Function.Arguments == "" {
			args = json.RawMessage("{}")
		}
		nm.ToolCalls = append(nm.ToolCalls, aiclient.ToolCall{ID: tc.ID, Name: tc.Function.Name, Arguments: args})
	}
	return nm, nil
}

// contentParts decodes a message content: a string or an array of parts.
// param names the content in errors; it is called only for one.
func contentParts(raw json.RawMessage, param func() string) ([]aiclient.Part, *apiError) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	if raw[0] == '"' {
		// A string without escapes, valid UTF-8, is its own text (raw is
		// a JSON value already checked by the request's decoding).
		if len(raw) >= 2 && bytes.IndexByte(raw, '\\') < 0 && utf8.Valid(raw) {
			return []aiclient.Part{aiclient.Text(string(raw[1 : len(raw)-1]))}, nil
		}
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, invalid(param(), param()+" must be a string or an array of parts.")
		}
		return []aiclient.Part{aiclient.Text(s)}, nil
	}
	var ps []chatPart
	if err := json.Unmarshal(raw, &ps); err != nil {
		return nil, invalid(param(), param()+" must be a string or an array of parts.")
	}
	out := make([]aiclient.Part, 0, len(ps))
	for j, p := range ps {
		where := func() string { return fmt.Sprintf("%s[%d]", param(), j) } // for errors only
		switch {
		case p.Type == "text":
			out = append(out, aiclient.Text(p.Text))
		case p.Type == "image_url" && p.ImageURL != nil:
			part, err := imagePart(p.ImageURL.URL)
			if err != nil {
				return nil, invalid(where()+".image_url.url", where()+".image_url.url: "+err.Error())
			}
			part.Detail = p.ImageURL.Detail
			out = append(out, part)
		case p.Type == "input_audio" && p.InputAudio != nil:
			data, err := base64.StdEncoding.DecodeString(p.InputAudio.Data)
			if err != nil {
				return nil, invalid(where()+".input_audio.data", where()+".input_audio.data must be base64.")
			}
			out = append(out, aiclient.Part{Type: aiclient.PartAudio, Data: data, MIMEType: "audio/" + p.InputAudio.Format})
		case p.Type == "file" && p.File != nil:
			part := aiclient.Part{Type: aiclient.PartFile, Name: p.File.Filename, URL: p.File.FileID}
			if p.File.FileData != "" {
				img, err := imagePart(p.File.FileData)
				if err != nil {
					return nil, invalid(where()+".file.file_data", where()+".file.file_data: "+err.Error())
				}
				part.Data, part.MIMEType, part.URL = img.Data, img.MIMEType, ""
			}
			out = append(out, part)
		default:
			return nil, invalid(where()+".type", where()+".type must be text, image_url, input_audio or file.")
		}
	}
	return out, nil
}

// imagePart decodes an image URL, inlining data: URLs.
func imagePart(url string) (aiclient.Part, error) {
	rest, ok := strings.CutPrefix(url, "data:")
	if !ok {
		if url == "" {
			return aiclient.Part{}, fmt.Errorf("must not be empty")
		}
		return aiclient.ImageURL(url), nil
	}
	meta, data, ok := strings.Cut(rest, ",")
	mime, isB64 := strings.CutSuffix(meta, ";base64")
	if !ok || !isB64 {
		return aiclient.Part{}, fmt.Errorf("a data URL must be base64-encoded")
	}
	b, err := base64.StdEncoding.DecodeString(data)
	if err != nil {
		return aiclient.Part{}, fmt.Errorf("invalid base64 data")
	}
	return aiclient.Image(b, mime), nil
}

func stringOrList(raw json.RawMessage) ([]string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return []string{one}, nil
	}
	var many []string
	if err := json.Unmarshal(raw, &many); err != nil {
		return nil, err
	}
	return many, nil
}

// chatCompletion is OpenAI's Chat Completions response.
type chatCompletion struct {
	ID      string       `json:"id"`
	Object  string       `json:"object"`
	Created int64        `json:"created"`
	Model   string       `json:"model"`
	Choices []chatChoice `json:"choices"`
	// Usage is a *chatUsage; a nil *chatUsage writes null, as the chunks
	// of a stream with include_usage have, and nil leaves it out.
	Usage any `json:"usage,omitempty"`
	// SystemFingerprint is the provider's, or null.
	SystemFingerprint json.RawMessage `json:"system_fingerprint"`
}

type chatChoice struct {
	Index        int             `json:"index"`
	Message      *respMessage    `json:"message,omitempty"`
	Delta        *respMessage    `json:"delta,omitempty"`
	Logprobs     *choiceLogprobs `json:"logprobs"`
	FinishReason *string         `json:"finish_reason"`
}

type respMessage struct {
	Role      string         `json:"role,omitempty"`
	Content   *string        `json:"content,omitempty"`
	Refusal   *string        `json:"refusal,omitempty"`
	ToolCalls []chatToolCall `json:"tool_calls,omitempty"`
}

type chatUsage struct {
	PromptTokens        int64 `json:"prompt_tokens"`
	CompletionTokens    int64 `json:"completion_tokens"`
	TotalTokens         int64 `json:"total_tokens"`
	PromptTokensDetails struct {
		CachedTokens int64 `json:"cached_tokens"`
	} `json:"prompt_tokens_details"`
	CompletionTokensDetails struct {
		ReasoningTokens int64 `json:"reasoning_tokens"`
	} `json:"completion_tokens_details"`
}

func openAIUsage(u aiclient.Usage) *chatUsage {
	cu := &chatUsage{PromptTokens: u.InputTokens, CompletionTokens: u.OutputTokens, TotalTokens: u.TotalTokens()}
	cu.PromptTokensDetails.CachedTokens = u.CacheReadTokens
	cu.CompletionTokensDetails.ReasoningTokens = u.ReasoningTokens
	return cu
}

func finishOpenAI(f aiclient.FinishReason) string {
	switch f {
	case aiclient.FinishLength, aiclient.FinishToolCalls, aiclient.FinishContentFilter:
		return string(f)
	}
	return "stop"
}

// choiceLogprobs are a choice's log probabilities.
type choiceLogprobs struct {
	Content []aiclient.Logprob `json:"content"`
	Refusal *string            `json:"refusal"`
}

// logprobsOf is the logprobs member of a choice: null unless asked for.
func logprobsOf(asked bool, lps []aiclient.Logprob) *choiceLogprobs {
	if !asked {
		return nil
	}
	if lps == nil {
		lps = []aiclient.Logprob{}
	}
	return &choiceLogprobs{Content: lps}
}

// createdOf is the provider's creation time of a response, or the time
// the gateway received the call (in Unix seconds) when it sends none.
func createdOf(t time.Time, received int64) int64 {
	if t.IsZero() {
		return received
	}
	return t.Unix()
}

// completion renders a neutral response in OpenAI's form: the provider's
// ID, creation time and model name, the log probabilities when asked for,
// and the provider's members no field models when it speaks OpenAI's
// format (system_fingerprint, service_tier...).
func completion(resp *aiclient.Response, req *aiclient.Request, alias string, received int64) []byte {
	msg := &respMessage{Role: "assistant"}
	text := resp.Message.Text()
	if text != "" || len(resp.Message.ToolCalls) == 0 {
		msg.Content = &text
	}
	for _, tc := range resp.Message.ToolCalls {
		c := chatToolCall{ID: tc.ID, Type: "function"}
		c.Function.Name = tc.Name
		c.Function.Arguments = string(tc.Arguments)
		msg.ToolCalls = append(msg.ToolCalls, c)
	}
	finish := finishOpenAI(resp.FinishReason)
	var nm nativeMembers
	// Room for the usual answer in one allocation, and for the line end
	// writeBody adds.
	b := make([]byte, 0, 512+len(text))
	return nm.encode(b, &chatCompletion{
		ID:      completionID(resp.ID),
		Object:  "chat.completion",
		Created: createdOf(resp.Created, received),
		Model:   modelName(resp.Model, alias),
		Choices: []chatChoice{{Message: msg, FinishReason: &finish, Logprobs: logprobsOf(req.Logprobs, resp.Logprobs)}},
		Usage:   openAIUsage(resp.Usage),
	}, resp.Native)
}

func completionID(id string) string {
	if id == "" {
		return "chatcmpl-portico"
	}
	return id
}

func modelName(served, alias string) string {
	if served != "" {
		return served
	}
	return alias
}
