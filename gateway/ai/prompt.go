package ai

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"text/template"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"golang.org/x/text/language"
	"golang.org/x/text/message"

	"github.com/portico-dev/portico/aiclient"
	"github.com/portico-dev/portico/aiclient/guard"
	"github.com/portico-dev/portico/internal/problem"
	"github.com/portico-dev/portico/internal/sse"
)

// Prompt is a prompt served as a REST API: POST its Path with a JSON
// object matching Input, and the handler renders Messages with the
// object's members as template variables, calls Model and answers
// {"result": ...}: the text, or with an Output schema the JSON value the
// model wrote, checked against that schema. A text prompt streams its
// answer as Server-Sent Events when the request accepts
// "text/event-stream": "delta" events with {"text": ...} and a final "done"
// event with {"usage": ...}.
//
// Errors are RFC 9457 problems: 400 for input that does not match Input
// (with one entry per violation in "errors"), 502 for output that does
// not match Output.
type Prompt struct {
	// Name identifies the prompt, as the OpenAPI operationId.
	Name string `json:"name"`
	// Path is where it is served. By default, "/prompts/<Name>".
	Path string `json:"path,omitempty"`
	// Description documents it in the OpenAPI document.
	Description string `json:"description,omitempty"`
	// Model is the model alias to call.
	Model string `json:"model"`
	// Messages are the templates of the conversation, in Go's
	// text/template syntax: "Classify: {{.text}}". A variable missing
	// from the input is an error.
	Messages []Template `json:"messages"`
	// Input is the JSON Schema of the request body. By default, any JSON
	// object.
	Input json.RawMessage `json:"input,omitempty"`
	// Output is the JSON Schema of the result; nil means text.
	Output json.RawMessage `json:"output,omitempty"`
	// MaxTokens caps the output; zero is the provider's default.
	MaxTokens int `json:"max_tokens,omitempty"`
	// Temperature is the sampling temperature; nil is the provider's
	// default.
	Temperature *float64 `json:"temperature,omitempty"`
}

// Template is one message of a [Prompt].
type Template struct {
	// Role is system, developer, user or assistant.
	Role aiclient.Role `json:"role"`
	// Text is the template of the message's text.
	Text string `json:"text"`
}

// prompt is a compiled Prompt.
type prompt struct {
	Prompt
	tmpls  []*template.Template
	input  *jsonschema.Schema
	output *jsonschema.Schema
}

// validName reports whether s is a letter followed by letters, digits,
// "_" or "-".
func validName(s string) bool {
	for i, r := range s {
		letter := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z'
		other := r >= '0' && r <= '9' || r == '_' || r == '-'
		if !letter && (i == 0 || !other) {
			return false
		}
	}
	return s != ""
}

// compilePrompt checks p and compiles its templates and schemas.
func compilePrompt(i int, p Prompt) (*prompt, error) {
	at := fmt.Sprintf("prompts[%d]", i)
	if !validName(p.Name) {
		return nil, fmt.Errorf("%s.name: %q must be a letter followed by letters, digits, _ or -", at, p.Name)
	}
	if p.Path == "" {
		p.Path = "/prompts/" + p.Name
	}
	if !strings.HasPrefix(p.Path, "/") || strings.ContainsAny(p.Path, "{} ") {
		return nil, fmt.Errorf("%s.path: %q must be a plain absolute path such as /prompts/%s", at, p.Path, p.Name)
	}
	if p.Model == "" {
		return nil, fmt.Errorf("%s.model: name the model alias to call", at)
	}
	if len(p.Messages) == 0 {
		return nil, fmt.Errorf("%s.messages: give at least one message template", at)
	}
	cp := &prompt{Prompt: p}
	for j, m := range p.Messages {
		switch m.Role {
		case aiclient.RoleSystem, aiclient.RoleDeveloper, aiclient.RoleUser, aiclient.RoleAssistant:
		default:
			return nil, fmt.Errorf("%s.messages[%d].role: %q must be system, developer, user or assistant", at, j, m.Role)
		}
		t, err := template.New(fmt.Sprintf("%s.messages[%d]", p.Name, j)).Option("missingkey=error").Parse(m.Text)
		if err != nil {
			return nil, fmt.Errorf("%s.messages[%d].text: %w", at, j, err)
		}
		cp.tmpls = append(cp.tmpls, t)
	}
	if len(p.Input) == 0 {
		cp.Input = json.RawMessage(`{"type":"object"}`)
	}
	var err error
	if cp.input, err = compileSchema(cp.Input); err != nil {
		return nil, fmt.Errorf("%s.input: %w", at, err)
	}
	if len(p.Output) > 0 {
		if cp.output, err = compileSchema(p.Output); err != nil {
			return nil, fmt.Errorf("%s.output: %w", at, err)
		}
	}
	return cp, nil
}

func compileSchema(raw json.RawMessage) (*jsonschema.Schema, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("not a JSON Schema: %w", err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	if err := c.AddResource("prompt.json", doc); err != nil {
		return nil, err
	}
	return c.Compile("prompt.json")
}

// violations lists what makes v fail s, one entry per leaf error.
func violations(s *jsonschema.Schema, v any) []map[string]string {
	err := s.Validate(v)
	if err == nil {
		return nil
	}
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return []map[string]string{{"pointer": "", "message": "is not valid"}}
	}
	printer := message.NewPrinter(language.English)
	var out []map[string]string
	var walk func(e *jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		if len(e.Causes) == 0 {
			ptr := ""
			for _, tok := range e.InstanceLocation {
				ptr += "/" + strings.ReplaceAll(strings.ReplaceAll(tok, "~", "~0"), "/", "~1")
			}
			out = append(out, map[string]string{"pointer": ptr, "message": e.ErrorKind.LocalizedString(printer)})
			return
		}
		for _, c := range e.Causes {
			walk(c)
		}
	}
	walk(ve)
	return out
}

// servePrompt returns the handler of one prompt API.
func (h *Handler) servePrompt(p *prompt) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c, e := h.begin(r, "prompt:"+p.Name)
		if e != nil {
			e.writeProblem(w, r)
			c.end(e.status, e, nil)
			return
		}
		var raw json.RawMessage
		if e := h.readJSON(w, r, &raw); e != nil {
			e.writeProblem(w, r)
			c.end(e.status, e, nil)
			return
		}
		input, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
		if err != nil {
			e := invalid("", "The body is not valid JSON.")
			e.writeProblem(w, r)
			c.end(e.status, e, nil)
			return
		}
		if vs := violations(p.input, input); vs != nil {
			problem.Write(w, r, problem.New(http.StatusBadRequest, "the input does not match the prompt's schema").With("errors", vs))
			c.end(400, &apiError{code: "invalid_input", kind: string(aiclient.KindInvalidRequest)}, nil)
			return
		}
		req, e := p.render(input)
		if e == nil {
			e = c.admit(p.Model, guard.EstimateTokens(req), h.outputCap(req))
		}
		if e != nil {
			e.writeProblem(w, r)
			c.end(e.status, e, nil)
			return
		}
		if h.cfg.content {
			c.rec.Input = req.Messages
		}
		if p.output == nil && acceptsEvents(r) {
			c.rec.Stream = true
			h.promptStream(w, r, c, req)
			return
		}
		resp, err := h.client.Chat(c.ctx, req)
		if err != nil {
			e := fromCall(err)
			e.writeProblem(w, r)
			c.end(e.status, e, nil)
			return
		}
		var result any = resp.Message.Text()
		if p.output != nil {
			v, err := jsonschema.UnmarshalJSON(strings.NewReader(resp.Message.Text()))
			var vs []map[string]string
			if err == nil {
				vs = violations(p.output, v)
			}
			if err != nil || vs != nil {
				pd := problem.New(http.StatusBadGateway, "the model's answer does not match the prompt's output schema")
				if vs != nil {
					pd = pd.With("errors", vs)
				}
				problem.Write(w, r, pd)
				c.end(http.StatusBadGateway, &apiError{code: "invalid_output", kind: "invalid_output"}, resp)
				return
			}
			result = json.RawMessage(resp.Message.Text())
		}
		writeJSON(w, http.StatusOK, map[string]any{"result": result})
		c.end(http.StatusOK, nil, resp)
	}
}

// render builds the request of a prompt call from validated input.
func (p *prompt) render(input any) (*aiclient.Request, *apiError) {
	req := &aiclient.Request{Model: p.Model, MaxOutputTokens: p.MaxTokens, Temperature: p.Temperature}
	var buf strings.Builder
	for i, t := range p.tmpls {
		buf.Reset()
		if err := t.Execute(&buf, input); err != nil {
			return nil, invalid("", "the input lacks a variable the prompt uses: "+templateProblem(err))
		}
		req.Messages = append(req.Messages, aiclient.Message{Role: p.Messages[i].Role, Parts: []aiclient.Part{aiclient.Text(buf.String())}})
	}
	if p.output != nil {
		req.ResponseFormat = &aiclient.ResponseFormat{Type: aiclient.FormatJSONSchema, Name: p.Name, Schema: p.Output, Strict: true}
	}
	return req, nil
}

// templateProblem keeps the part of a template error that names the
// variable.
func templateProblem(err error) string {
	msg := err.Error()
	if i := strings.LastIndex(msg, ": "); i >= 0 {
		return msg[i+2:]
	}
	return msg
}

func acceptsEvents(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Accept"), "text/event-stream")
}

// promptStream streams a text prompt's answer.
func (h *Handler) promptStream(w http.ResponseWriter, r *http.Request, c *call, req *aiclient.Request) {
	s, enc := h.startStream(w, c, req, func(e *apiError) { e.writeProblem(w, r) })
	if s == nil {
		return
	}
	defer func() { _ = s.Close() }()
	var acc aiclient.Accumulator
	for s.Next() {
		ev := s.Current()
		acc.Add(ev)
		if ev.Type == aiclient.EventText && ev.Text != "" {
			if c.rec.TimeToFirstToken == 0 {
				c.rec.TimeToFirstToken = h.cfg.clock().Sub(c.start)
			}
			if err := enc.Encode(sse.Event{Type: "delta", Data: mustJSON(map[string]string{"text": ev.Text})}); err != nil {
				c.end(http.StatusOK, &apiError{kind: "canceled", code: "canceled"}, acc.Response())
				return
			}
		}
	}
	resp := acc.Response()
	if err := s.Err(); err != nil {
		e := fromCall(err)
		_ = enc.Encode(sse.Event{Type: "error", Data: mustJSON(map[string]string{"message": e.message, "code": e.code})})
		c.end(http.StatusOK, e, resp)
		return
	}
	_ = enc.Encode(sse.Event{Type: "done", Data: mustJSON(map[string]any{"usage": resp.Usage})})
	c.end(http.StatusOK, nil, resp)
}
