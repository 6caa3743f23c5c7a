package ollama

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/portico-dev/portico/aiclient"
	"github.com/portico-dev/portico/aiclient/internal/wire"
	"github.com/portico-dev/portico/internal/ndjson"
)

type chatRequest struct {
	Model    string          `json:"model"`
	Messages []message       `json:"messages"`
	Tools    []tool          `json:"tools,omitempty"`
	Format   json.RawMessage `json:"format,omitempty"`
	Options  *options        `json:"options,omitempty"`
	Stream   bool            `json:"stream"`
}

type options struct {
	Temperature *float64 `json:"temperature,omitempty"`
	TopP        *float64 `json:"top_p,omitempty"`
	NumPredict  int      `json:"num_predict,omitempty"`
	Stop        []string `json:"stop,omitempty"`
	Seed        *int64   `json:"seed,omitempty"`
}

type message struct {
	Role      string     `json:"role"`
	Content   string     `json:"content"`
	Thinking  string     `json:"thinking,omitempty"`
	Images    []string   `json:"images,omitempty"`
	ToolCalls []toolCall `json:"tool_calls,omitempty"`
	ToolName  string     `json:"tool_name,omitempty"`
}

type toolCall struct {
	ID       string `json:"id,omitempty"`
	Function struct {
		Name      string          `json:"name"`
		Arguments json.RawMessage `json:"arguments"`
	} `json:"function"`
}

type tool struct {
	Type     string `json:"type"`
	Function struct {
		Name        string          `json:"name"`
		Description string          `json:"description,omitempty"`
		Parameters  json.RawMessage `json:"parameters,omitempty"`
	} `json:"function"`
}

// EncodeRequest returns the /api/chat body for req. Images must be inline
// (Data); ChoiceNone drops the tools, and the other tool choices, User and
// Metadata have no equivalent and are dropped.
func (p *Provider) EncodeRequest(req *aiclient.Request, stream bool) ([]byte, error) {
	if _, err := wire.Native(p.cfg.Provider, req, wire.Caps{}); err != nil {
		return nil, err
	}
	w := chatRequest{Model: req.Model, Stream: stream}
	names := map[string]string{}
	for i, m := range req.Messages {
		wm := message{Role: string(m.Role)}
		switch m.Role {
		case aiclient.RoleSystem, aiclient.RoleDeveloper:
			wm.Role = "system"
			wm.Content = m.Text()
		case aiclient.RoleUser:
			for _, pt := range m.Parts {
				switch pt.Type {
				case aiclient.PartText:
					wm.Content += pt.Text
				case aiclient.PartImage:
					if len(pt.Data) == 0 {
						return nil, fmt.Errorf("portico/ollama: messages[%d]: images need Data: Ollama does not fetch URLs", i)
					}
					wm.Images = append(wm.Images, base64.StdEncoding.EncodeToString(pt.Data))
				default:
					return nil, fmt.Errorf("portico/ollama: messages[%d]: part type %q is not supported", i, pt.Type)
				}
			}
		case aiclient.RoleAssistant:
			for _, pt := range m.Parts {
				switch pt.Type {
				case aiclient.PartText:
					wm.Content += pt.Text
				case aiclient.PartReasoning:
					wm.Thinking += pt.Text
				}
			}
			for _, tc := range m.ToolCalls {
				names[tc.ID] = tc.Name
				var c toolCall
				c.Function.Name = tc.Name
				c.Function.Arguments = tc.Arguments
				if len(bytes.TrimSpace(c.Function.Arguments)) == 0 || !json.Valid(c.Function.Arguments) {
					c.Function.Arguments = json.RawMessage("{}")
				}
				wm.ToolCalls = append(wm.ToolCalls, c)
			}
		case aiclient.RoleTool:
			wm.Content = m.Text()
			wm.ToolName = m.Name
			if wm.ToolName == "" {
				wm.ToolName = names[m.ToolCallID]
			}
		default:
			return nil, fmt.Errorf("portico/ollama: messages[%d]: unknown role %q", i, m.Role)
		}
		w.Messages = append(w.Messages, wm)
	}
	if req.ToolChoice == nil || req.ToolChoice.Mode != aiclient.ChoiceNone {
		for _, t := range req.Tools {
			var wt tool
			wt.Type = "function"
			wt.Function.Name, wt.Function.Description, wt.Function.Parameters = t.Name, t.Description, t.Parameters
			w.Tools = append(w.Tools, wt)
		}
	}
	if rf := req.ResponseFormat; rf != nil {
		switch rf.Type {
		case aiclient.FormatJSON:
			w.Format = json.RawMessage(`"json"`)
		case aiclient.FormatJSONSchema:
			w.Format = rf.Schema
		}
	}
	o := options{Temperature: req.Temperature, TopP: req.TopP, NumPredict: req.MaxOutputTokens, Stop: req.Stop, Seed: req.Seed}
	if o.Temperature != nil || o.TopP != nil || o.NumPredict != 0 || len(o.Stop) > 0 || o.Seed != nil {
		w.Options = &o
	}
	return wire.Body(w, req.Extra)
}

type chatResponse struct {
	Model           string  `json:"model"`
	Message         message `json:"message"`
	Done            bool    `json:"done"`
	DoneReason      string  `json:"done_reason"`
	PromptEvalCount int64   `json:"prompt_eval_count"`
	EvalCount       int64   `json:"eval_count"`
	Error           string  `json:"error"`
}

// FinishReason normalises an Ollama done_reason.
func FinishReason(raw string, calls bool) aiclient.FinishReason {
	switch raw {
	case "length":
		return aiclient.FinishLength
	case "stop", "load", "unload", "":
		if calls {
			return aiclient.FinishToolCalls
		}
		return aiclient.FinishStop
	}
	return aiclient.FinishError
}

// Chat sends a non-streaming /api/chat request.
func (p *Provider) Chat(ctx context.Context, req *aiclient.Request) (*aiclient.Response, error) {
	body, err := p.EncodeRequest(req, false)
	if err != nil {
		return nil, err
	}
	res, err := p.do(ctx, http.MethodPost, "/api/chat", req.Model, body)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	var raw json.RawMessage
	if err := wire.Decode("ollama", req.Model, res, &raw); err != nil {
		return nil, err
	}
	return p.DecodeResponse(req.Model, raw)
}

// DecodeResponse turns an /api/chat response body into a Response.
func (p *Provider) DecodeResponse(model string, body []byte) (*aiclient.Response, error) {
	var acc aiclient.Accumulator
	d := &decoder{p: p, model: model}
	if err := d.line(body, &acc); err != nil {
		return nil, err
	}
	return acc.Response(), nil
}

// Stream sends a streaming /api/chat request; the reply is NDJSON.
func (p *Provider) Stream(ctx context.Context, req *aiclient.Request) (*aiclient.Stream, error) {
	body, err := p.EncodeRequest(req, true)
	if err != nil {
		return nil, err
	}
	res, err := p.do(ctx, http.MethodPost, "/api/chat", req.Model, body) //nolint:bodyclose // the returned stream closes the body
	if err != nil {
		return nil, err
	}
	return p.DecodeStream(req.Model, res.Body), nil
}

// DecodeStream turns an /api/chat NDJSON stream into a Stream, which
// closes body when closed. Tool calls arrive whole and get IDs
// "call_<n>" when Ollama sends none.
func (p *Provider) DecodeStream(model string, body io.ReadCloser) *aiclient.Stream {
	d := &decoder{p: p, model: model, nd: ndjson.NewDecoder(body)}
	return wire.NewStream(d.next, body, nil)
}

type decoder struct {
	p       *Provider
	model   string
	nd      *ndjson.Decoder
	q       wire.Queue
	started bool
	done    bool
	calls   int
}

type adder interface{ Add(aiclient.Event) }

func (d *decoder) next() (aiclient.Event, error) {
	for {
		if ev, ok := d.q.Pop(); ok {
			return ev, nil
		}
		if d.done {
			return aiclient.Event{}, io.EOF
		}
		line, err := d.nd.Next()
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = nil
			}
			return aiclient.Event{}, wire.StreamError("ollama", d.model, err)
		}
		if err := d.line(line, &d.q); err != nil {
			return aiclient.Event{}, err
		}
	}
}

func (d *decoder) line(data []byte, out adder) error {
	var c chatResponse
	if err := json.Unmarshal(data, &c); err != nil {
		return &aiclient.Error{Provider: "ollama", Model: d.model, Status: http.StatusOK, Kind: aiclient.KindServer,
			Code: "invalid_response", Message: "a response line is not valid JSON", Retryable: true, Err: err}
	}
	if c.Error != "" {
		return (&aiclient.Error{Provider: "ollama", Model: d.model, Status: http.StatusOK,
			Message: d.p.cfg.Redact(c.Error)}).WithKind(aiclient.KindServer)
	}
	if !d.started {
		d.started = true
		out.Add(aiclient.Event{Type: aiclient.EventStart, Model: c.Model})
	}
	if c.Message.Thinking != "" {
		out.Add(aiclient.Event{Type: aiclient.EventReasoning, Text: c.Message.Thinking})
	}
	if c.Message.Content != "" {
		out.Add(aiclient.Event{Type: aiclient.EventText, Text: c.Message.Content})
	}
	for _, tc := range c.Message.ToolCalls {
		id := tc.ID
		if id == "" {
			id = "call_" + strconv.Itoa(d.calls)
		}
		out.Add(aiclient.Event{Type: aiclient.EventToolCall, ToolCall: aiclient.ToolCallDelta{Index: d.calls, ID: id, Name: tc.Function.Name, Arguments: string(tc.Function.Arguments)}})
		d.calls++
	}
	if c.Done {
		d.done = true
		out.Add(aiclient.Event{Type: aiclient.EventFinish, FinishReason: FinishReason(c.DoneReason, d.calls > 0), RawFinishReason: c.DoneReason})
		out.Add(aiclient.Event{Type: aiclient.EventUsage, Usage: aiclient.Usage{InputTokens: c.PromptEvalCount, OutputTokens: c.EvalCount}})
	}
	return nil
}
