package bedrock

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"path"
	"strconv"
	"strings"

	"github.com/portico-dev/portico/aiclient"
	"github.com/portico-dev/portico/aiclient/internal/wire"
)

type converseRequest struct {
	Messages        []message         `json:"messages"`
	System          []block           `json:"system,omitempty"`
	InferenceConfig *inferenceConfig  `json:"inferenceConfig,omitempty"`
	ToolConfig      *toolConfig       `json:"toolConfig,omitempty"`
	OutputConfig    *outputConfig     `json:"outputConfig,omitempty"`
	RequestMetadata map[string]string `json:"requestMetadata,omitempty"`
}

type message struct {
	Role    string  `json:"role"`
	Content []block `json:"content"`
}

// block is a ContentBlock (or a SystemContentBlock): a union of which
// exactly one member is set.
type block struct {
	Text             string            `json:"text,omitempty"`
	Image            *media            `json:"image,omitempty"`
	Document         *media            `json:"document,omitempty"`
	ToolUse          *toolUse          `json:"toolUse,omitempty"`
	ToolResult       *toolResult       `json:"toolResult,omitempty"`
	ReasoningContent *reasoningContent `json:"reasoningContent,omitempty"`
	CachePoint       *cachePoint       `json:"cachePoint,omitempty"`
}

type media struct {
	Format string      `json:"format"`
	Name   string      `json:"name,omitempty"`
	Source mediaSource `json:"source"`
}

type mediaSource struct {
	Bytes      string      `json:"bytes,omitempty"`
	S3Location *s3Location `json:"s3Location,omitempty"`
}

type s3Location struct {
	URI string `json:"uri"`
}

type toolUse struct {
	ToolUseID string          `json:"toolUseId"`
	Name      string          `json:"name"`
	Input     json.RawMessage `json:"input"`
}

type toolResult struct {
	ToolUseID string  `json:"toolUseId"`
	Content   []block `json:"content"`
	Status    string  `json:"status,omitempty"`
}

type reasoningContent struct {
	ReasoningText   *reasoningText `json:"reasoningText,omitempty"`
	RedactedContent string         `json:"redactedContent,omitempty"`
}

type reasoningText struct {
	Text      string `json:"text"`
	Signature string `json:"signature,omitempty"`
}

type cachePoint struct {
	Type string `json:"type"`
}

type inferenceConfig struct {
	MaxTokens     int      `json:"maxTokens,omitempty"`
	Temperature   *float64 `json:"temperature,omitempty"`
	TopP          *float64 `json:"topP,omitempty"`
	StopSequences []string `json:"stopSequences,omitempty"`
}

type toolConfig struct {
	Tools      []toolEntry     `json:"tools"`
	ToolChoice json.RawMessage `json:"toolChoice,omitempty"`
}

type toolEntry struct {
	ToolSpec   *toolSpec   `json:"toolSpec,omitempty"`
	CachePoint *cachePoint `json:"cachePoint,omitempty"`
}

type toolSpec struct {
	Name        string      `json:"name"`
	Description string      `json:"description,omitempty"`
	InputSchema inputSchema `json:"inputSchema"`
	Strict      bool        `json:"strict,omitempty"`
}

type inputSchema struct {
	JSON json.RawMessage `json:"json"`
}

type outputConfig struct {
	TextFormat textFormat `json:"textFormat"`
}

type textFormat struct {
	Type      string `json:"type"`
	Structure struct {
		JSONSchema jsonSchema `json:"jsonSchema"`
	} `json:"structure"`
}

// jsonSchema holds the schema as a JSON string, as Converse wants it.
type jsonSchema struct {
	Schema      string `json:"schema"`
	Name        string `json:"name,omitempty"`
	Description string `json:"description,omitempty"`
}

var (
	cacheHere   = &cachePoint{Type: "default"}
	emptyObject = json.RawMessage(`{"type":"object","properties":{}}`)
)

// EncodeRequest returns the Converse body for req (the same body serves
// ConverseStream). See the package documentation for the mapping; a
// setting Converse cannot honour is an [*aiclient.Error] of kind
// [aiclient.KindInvalidRequest] naming it.
func (p *Provider) EncodeRequest(req *aiclient.Request) ([]byte, error) {
	if _, err := wire.Native(name, req, wire.Caps{}); err != nil {
		return nil, err
	}
	var w converseRequest
	for i, m := range req.Messages {
		if m.Role == aiclient.RoleSystem || m.Role == aiclient.RoleDeveloper {
			for _, pt := range m.Parts {
				if pt.Type == aiclient.PartText && pt.Text != "" {
					w.System = append(w.System, block{Text: pt.Text})
					if pt.Cache {
						w.System = append(w.System, block{CachePoint: cacheHere})
					}
				}
			}
			continue
		}
		role, blocks, err := encodeMessage(m)
		if err != nil {
			return nil, invalid(req.Model, "messages[%d]: %v", i, err)
		}
		if len(blocks) == 0 {
			continue
		}
		if n := len(w.Messages); n > 0 && w.Messages[n-1].Role == role {
			w.Messages[n-1].Content = append(w.Messages[n-1].Content, blocks...)
			continue
		}
		w.Messages = append(w.Messages, message{Role: role, Content: blocks})
	}
	tc, err := encodeTools(req, hasToolBlocks(w.Messages))
	if err != nil {
		return nil, err
	}
	w.ToolConfig = tc
	ic := inferenceConfig{MaxTokens: req.MaxOutputTokens, Temperature: req.Temperature, TopP: req.TopP, StopSequences: req.Stop}
	if ic.MaxTokens > 0 || ic.Temperature != nil || ic.TopP != nil || len(ic.StopSequences) > 0 {
		w.InferenceConfig = &ic
	}
	if rf := req.ResponseFormat; rf != nil && rf.Type == aiclient.FormatJSONSchema {
		oc := &outputConfig{TextFormat: textFormat{Type: "json_schema"}}
		oc.TextFormat.Structure.JSONSchema = jsonSchema{Schema: string(rf.Schema), Name: rf.Name, Description: rf.Description}
		w.OutputConfig = oc
	}
	if len(req.Metadata) > 0 || req.User != "" {
		w.RequestMetadata = map[string]string{}
		for k, v := range req.Metadata {
			w.RequestMetadata[k] = v
		}
		if req.User != "" {
			w.RequestMetadata["user"] = req.User
		}
	}
	return wire.Body(w, req.Extra)
}

// invalid is the error for a request Converse cannot carry.
func invalid(model, format string, args ...any) *aiclient.Error {
	return (&aiclient.Error{Provider: name, Model: model, Code: "unsupported_parameter",
		Message: "aiclient/bedrock: " + fmt.Sprintf(format, args...)}).WithKind(aiclient.KindInvalidRequest)
}

// encodeTools returns the toolConfig. Converse has no "none" choice: with
// it, tools are left out, which is exact unless the conversation holds
// tool blocks, which Converse refuses without a toolConfig.
func encodeTools(req *aiclient.Request, toolBlocks bool) (*toolConfig, error) {
	if len(req.Tools) == 0 {
		if toolBlocks {
			return nil, invalid(req.Model, "the conversation holds tool calls or results, which Converse accepts only with the tools defined")
		}
		return nil, nil
	}
	if tc := req.ToolChoice; tc != nil && tc.Mode == aiclient.ChoiceNone {
		if toolBlocks {
			return nil, invalid(req.Model, `tool_choice "none" cannot be honoured: Converse has no such choice, and needs the tools defined for a conversation holding tool calls`)
		}
		return nil, nil
	}
	c := &toolConfig{}
	for _, t := range req.Tools {
		schema := t.Parameters
		if len(bytes.TrimSpace(schema)) == 0 {
			schema = emptyObject
		}
		c.Tools = append(c.Tools, toolEntry{ToolSpec: &toolSpec{Name: t.Name, Description: t.Description, InputSchema: inputSchema{JSON: schema}, Strict: t.Strict}})
		if t.Cache {
			c.Tools = append(c.Tools, toolEntry{CachePoint: cacheHere})
		}
	}
	if tc := req.ToolChoice; tc != nil {
		switch tc.Mode {
		case aiclient.ChoiceAuto:
			c.ToolChoice = json.RawMessage(`{"auto":{}}`)
		case aiclient.ChoiceRequired:
			c.ToolChoice = json.RawMessage(`{"any":{}}`)
		case aiclient.ChoiceTool:
			n, _ := json.Marshal(tc.Name)
			c.ToolChoice = json.RawMessage(`{"tool":{"name":` + string(n) + `}}`)
		}
	}
	return c, nil
}

func hasToolBlocks(ms []message) bool {
	for _, m := range ms {
		for _, b := range m.Content {
			if b.ToolUse != nil || b.ToolResult != nil {
				return true
			}
		}
	}
	return false
}

func encodeMessage(m aiclient.Message) (string, []block, error) {
	switch m.Role {
	case aiclient.RoleTool:
		tr := &toolResult{ToolUseID: m.ToolCallID, Content: []block{{Text: m.Text()}}}
		if tr.Content[0].Text == "" {
			tr.Content = []block{{Text: " "}} // Converse refuses a blank text block
		}
		if m.IsError {
			tr.Status = "error"
		}
		blocks := []block{{ToolResult: tr}}
		for _, pt := range m.Parts {
			if pt.Cache {
				blocks = append(blocks, block{CachePoint: cacheHere})
				break
			}
		}
		return "user", blocks, nil
	case aiclient.RoleAssistant:
		var blocks []block
		for _, pt := range m.Parts {
			switch {
			case pt.Type == aiclient.PartReasoning && pt.Redacted:
				blocks = append(blocks, block{ReasoningContent: &reasoningContent{RedactedContent: pt.Text}})
			case pt.Type == aiclient.PartReasoning:
				blocks = append(blocks, block{ReasoningContent: &reasoningContent{ReasoningText: &reasoningText{Text: pt.Text, Signature: pt.Signature}}})
			case pt.Type == aiclient.PartText && pt.Text != "":
				blocks = append(blocks, block{Text: pt.Text})
			default:
				continue
			}
			if pt.Cache {
				blocks = append(blocks, block{CachePoint: cacheHere})
			}
		}
		for _, tc := range m.ToolCalls {
			input := tc.Arguments
			if len(bytes.TrimSpace(input)) == 0 || !json.Valid(input) {
				input = json.RawMessage("{}")
			}
			blocks = append(blocks, block{ToolUse: &toolUse{ToolUseID: tc.ID, Name: tc.Name, Input: input}})
		}
		return "assistant", blocks, nil
	case aiclient.RoleUser:
		var blocks []block
		for j, pt := range m.Parts {
			b, err := encodePart(pt, j)
			if err != nil {
				return "", nil, err
			}
			if b.Text == "" && b.Image == nil && b.Document == nil {
				continue // Converse refuses blank text blocks
			}
			blocks = append(blocks, b)
			if pt.Cache {
				blocks = append(blocks, block{CachePoint: cacheHere})
			}
		}
		return "user", blocks, nil
	}
	return "", nil, fmt.Errorf("unknown role %q", m.Role)
}

// imageFormats and documentFormats are the formats Converse takes, by
// media type.
var (
	imageFormats = map[string]string{"image/png": "png", "image/jpeg": "jpeg", "image/gif": "gif", "image/webp": "webp"}

	documentFormats = map[string]string{
		"application/pdf": "pdf", "text/csv": "csv", "application/msword": "doc",
		"application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
		"application/vnd.ms-excel": "xls", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
		"text/html": "html", "text/plain": "txt", "text/markdown": "md",
	}
)

// encodePart encodes a user part: text, or an image or document inline
// or from an s3:// URI (Converse fetches no other URL).
func encodePart(pt aiclient.Part, j int) (block, error) {
	switch pt.Type {
	case aiclient.PartText:
		return block{Text: pt.Text}, nil
	case aiclient.PartImage, aiclient.PartFile:
	default:
		return block{}, fmt.Errorf("part type %q is not supported by Converse", pt.Type)
	}
	var src mediaSource
	switch {
	case len(pt.Data) > 0:
		src.Bytes = base64.StdEncoding.EncodeToString(pt.Data)
	case strings.HasPrefix(pt.URL, "s3://"):
		src.S3Location = &s3Location{URI: pt.URL}
	default:
		return block{}, fmt.Errorf("parts[%d]: Converse takes %ss inline or from an s3:// URI, not %q", j, pt.Type, pt.URL)
	}
	mt := strings.ToLower(pt.MIMEType)
	if pt.Type == aiclient.PartImage {
		f := imageFormats[mt]
		if f == "" {
			f = formatFromURL(pt.URL, imageFormats)
		}
		if f == "" {
			return block{}, fmt.Errorf("parts[%d]: image type %q is not one of png, jpeg, gif, webp", j, pt.MIMEType)
		}
		return block{Image: &media{Format: f, Source: src}}, nil
	}
	f := documentFormats[mt]
	if f == "" {
		f = formatFromURL(pt.URL, documentFormats)
	}
	if f == "" {
		return block{}, fmt.Errorf("parts[%d]: document type %q is not one Converse reads (pdf, csv, doc, docx, xls, xlsx, html, txt, md)", j, pt.MIMEType)
	}
	return block{Document: &media{Format: f, Name: documentName(pt.Name, j), Source: src}}, nil
}

// documentName makes a name Converse accepts (letters, digits, single
// spaces, hyphens, parentheses and brackets) from a file name.
func documentName(n string, j int) string {
	n = strings.TrimSuffix(n, path.Ext(n))
	var b strings.Builder
	for _, r := range n {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', strings.ContainsRune("-()[]", r):
			b.WriteRune(r)
		case r == ' ' && !strings.HasSuffix(b.String(), " "):
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
	}
	if s := strings.TrimSpace(b.String()); s != "" {
		return s
	}
	return "document-" + strconv.Itoa(j+1)
}

// formatFromURL returns the format an s3:// URI's extension names.
func formatFromURL(u string, formats map[string]string) string {
	ext := strings.TrimPrefix(strings.ToLower(path.Ext(u)), ".")
	if ext == "jpg" {
		ext = "jpeg"
	}
	for _, f := range formats {
		if f == ext && ext != "" {
			return f
		}
	}
	return ""
}
