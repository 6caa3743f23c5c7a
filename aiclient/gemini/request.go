package gemini

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"

	"github.com/portico-dev/portico/aiclient"
	"github.com/portico-dev/portico/aiclient/internal/wire"
)

type generateRequest struct {
	SystemInstruction *content          `json:"systemInstruction,omitempty"`
	Contents          []content         `json:"contents"`
	Tools             []tools           `json:"tools,omitempty"`
	ToolConfig        *toolConfig       `json:"toolConfig,omitempty"`
	GenerationConfig  *generationConfig `json:"generationConfig,omitempty"`
}

type content struct {
	Role  string `json:"role,omitempty"`
	Parts []part `json:"parts"`
}

type part struct {
	Text             string            `json:"text,omitempty"`
	Thought          bool              `json:"thought,omitempty"`
	ThoughtSignature string            `json:"thoughtSignature,omitempty"`
	InlineData       *blob             `json:"inlineData,omitempty"`
	FileData         *fileData         `json:"fileData,omitempty"`
	FunctionCall     *functionCall     `json:"functionCall,omitempty"`
	FunctionResponse *functionResponse `json:"functionResponse,omitempty"`
}

type blob struct {
	MIMEType string `json:"mimeType"`
	Data     string `json:"data"`
}

type fileData struct {
	MIMEType string `json:"mimeType,omitempty"`
	FileURI  string `json:"fileUri"`
}

type functionCall struct {
	ID   string          `json:"id,omitempty"`
	Name string          `json:"name"`
	Args json.RawMessage `json:"args,omitempty"`
}

type functionResponse struct {
	Name     string          `json:"name"`
	Response json.RawMessage `json:"response"`
}

type tools struct {
	FunctionDeclarations []functionDeclaration `json:"functionDeclarations"`
}

type functionDeclaration struct {
	Name                 string          `json:"name"`
	Description          string          `json:"description,omitempty"`
	ParametersJSONSchema json.RawMessage `json:"parametersJsonSchema,omitempty"`
}

type toolConfig struct {
	FunctionCallingConfig functionCallingConfig `json:"functionCallingConfig"`
}

type functionCallingConfig struct {
	Mode                 string   `json:"mode"`
	AllowedFunctionNames []string `json:"allowedFunctionNames,omitempty"`
}

type generationConfig struct {
	Temperature        *float64        `json:"temperature,omitempty"`
	TopP               *float64        `json:"topP,omitempty"`
	MaxOutputTokens    int             `json:"maxOutputTokens,omitempty"`
	StopSequences      []string        `json:"stopSequences,omitempty"`
	Seed               *int64          `json:"seed,omitempty"`
	ResponseMIMEType   string          `json:"responseMimeType,omitempty"`
	ResponseJSONSchema json.RawMessage `json:"responseJsonSchema,omitempty"`
	ResponseLogprobs   bool            `json:"responseLogprobs,omitempty"`
	Logprobs           *int            `json:"logprobs,omitempty"`
}

// EncodeRequest returns the generateContent body for req (the same body
// serves streamGenerateContent). System and developer messages become
// systemInstruction; tool results become functionResponse parts, named
// after the call they answer; signatures are sent back as
// thoughtSignature. User and Metadata have no equivalent and are dropped.
func (p *Provider) EncodeRequest(req *aiclient.Request) ([]byte, error) {
	if _, err := wire.Native(p.cfg.Provider, req, wire.Caps{Logprobs: true}); err != nil {
		return nil, err
	}
	var w generateRequest
	if err := w.encodeMessages(req.Messages); err != nil {
		return nil, err
	}
	if len(req.Tools) > 0 {
		var decls []functionDeclaration
		for _, t := range req.Tools {
			decls = append(decls, functionDeclaration{Name: t.Name, Description: t.Description, ParametersJSONSchema: t.Parameters})
		}
		w.Tools = []tools{{FunctionDeclarations: decls}}
	}
	w.ToolConfig = toolConfigOf(req.ToolChoice)
	w.GenerationConfig = generationOf(req)
	return wire.Body(w, req.Extra)
}

// encodeMessages adds the messages to w: system messages to its system
// instruction, the others to its contents, merging consecutive messages
// of the same role.
func (w *generateRequest) encodeMessages(msgs []aiclient.Message) error {
	names := map[string]string{} // tool call ID → function name
	for i, m := range msgs {
		var role string
		var parts []part
		switch m.Role {
		case aiclient.RoleSystem, aiclient.RoleDeveloper:
			if w.SystemInstruction == nil {
				w.SystemInstruction = &content{}
			}
			for _, pt := range m.Parts {
				if pt.Type == aiclient.PartText {
					w.SystemInstruction.Parts = append(w.SystemInstruction.Parts, part{Text: pt.Text})
				}
			}
			continue
		case aiclient.RoleUser:
			role = "user"
			for _, pt := range m.Parts {
				gp, err := encodePart(pt)
				if err != nil {
					return fmt.Errorf("portico/gemini: messages[%d]: %w", i, err)
				}
				parts = append(parts, gp)
			}
		case aiclient.RoleAssistant:
			role = "model"
			for _, pt := range m.Parts {
				switch pt.Type {
				case aiclient.PartReasoning:
					if !pt.Redacted {
						parts = append(parts, part{Text: pt.Text, Thought: true, ThoughtSignature: pt.Signature})
					}
				case aiclient.PartText:
					parts = append(parts, part{Text: pt.Text, ThoughtSignature: pt.Signature})
				}
			}
			for _, tc := range m.ToolCalls {
				names[tc.ID] = tc.Name
				args := tc.Arguments
				if len(bytes.TrimSpace(args)) == 0 || !json.Valid(args) {
					args = json.RawMessage("{}")
				}
				parts = append(parts, part{FunctionCall: &functionCall{Name: tc.Name, Args: args}, ThoughtSignature: tc.Signature})
			}
		case aiclient.RoleTool:
			role = "user"
			name := m.Name
			if name == "" {
				name = names[m.ToolCallID]
			}
			if name == "" {
				return fmt.Errorf("portico/gemini: messages[%d]: tool result %q answers no earlier tool call; set Message.Name", i, m.ToolCallID)
			}
			parts = append(parts, part{FunctionResponse: &functionResponse{Name: name, Response: toolResponse(m)}})
		default:
			return fmt.Errorf("portico/gemini: messages[%d]: unknown role %q", i, m.Role)
		}
		if n := len(w.Contents); n > 0 && w.Contents[n-1].Role == role {
			w.Contents[n-1].Parts = append(w.Contents[n-1].Parts, parts...)
			continue
		}
		w.Contents = append(w.Contents, content{Role: role, Parts: parts})
	}
	return nil
}

// toolConfigOf is Gemini's tool config for a tool choice, or nil.
func toolConfigOf(tc *aiclient.ToolChoice) *toolConfig {
	if tc == nil {
		return nil
	}
	switch tc.Mode {
	case aiclient.ChoiceAuto:
		return &toolConfig{FunctionCallingConfig: functionCallingConfig{Mode: "AUTO"}}
	case aiclient.ChoiceNone:
		return &toolConfig{FunctionCallingConfig: functionCallingConfig{Mode: "NONE"}}
	case aiclient.ChoiceRequired:
		return &toolConfig{FunctionCallingConfig: functionCallingConfig{Mode: "ANY"}}
	case aiclient.ChoiceTool:
		return &toolConfig{FunctionCallingConfig: functionCallingConfig{Mode: "ANY", AllowedFunctionNames: []string{tc.Name}}}
	}
	return nil
}

// generationOf is the generation config of req, or nil when req sets
// none of it.
func generationOf(req *aiclient.Request) *generationConfig {
	g := generationConfig{Temperature: req.Temperature, TopP: req.TopP, MaxOutputTokens: req.MaxOutputTokens, StopSequences: req.Stop, Seed: req.Seed,
		ResponseLogprobs: req.Logprobs}
	if req.Logprobs {
		g.Logprobs = req.TopLogprobs
	}
	if rf := req.ResponseFormat; rf != nil {
		switch rf.Type {
		case aiclient.FormatJSON:
			g.ResponseMIMEType = "application/json"
		case aiclient.FormatJSONSchema:
			g.ResponseMIMEType, g.ResponseJSONSchema = "application/json", rf.Schema
		}
	}
	if g.Temperature != nil || g.TopP != nil || g.MaxOutputTokens != 0 || len(g.StopSequences) > 0 || g.Seed != nil || g.ResponseMIMEType != "" || g.ResponseLogprobs {
		return &g
	}
	return nil
}

// toolResponse wraps a tool's output: a JSON object is sent as is, any
// other text as {"result": text}, or {"error": text} for a failed tool.
func toolResponse(m aiclient.Message) json.RawMessage {
	text := m.Text()
	key := "result"
	if m.IsError {
		key = "error"
	} else if t := bytes.TrimSpace([]byte(text)); len(t) > 0 && t[0] == '{' && json.Valid(t) {
		return json.RawMessage(t)
	}
	b, _ := json.Marshal(map[string]string{key: text})
	return b
}

func encodePart(pt aiclient.Part) (part, error) {
	switch pt.Type {
	case aiclient.PartText:
		return part{Text: pt.Text}, nil
	case aiclient.PartImage, aiclient.PartAudio, aiclient.PartFile:
		if len(pt.Data) > 0 {
			if pt.MIMEType == "" {
				return part{}, fmt.Errorf("inline %s parts need a MIMEType", pt.Type)
			}
			return part{InlineData: &blob{MIMEType: pt.MIMEType, Data: base64.StdEncoding.EncodeToString(pt.Data)}}, nil
		}
		return part{FileData: &fileData{MIMEType: pt.MIMEType, FileURI: pt.URL}}, nil
	}
	return part{}, fmt.Errorf("part type %q is not supported in user messages", pt.Type)
}
