package anthropic

import (
	"context"
	"encoding/json"

	"io"
	"net/http"
	"time"

	"github.com/portico-dev/portico/aiclient"
	"github.com/portico-dev/portico/aiclient/internal/wire"
	"github.com/portico-dev/portico/internal/sse"
)

// Stream sends a streaming Messages API request.
func (p *Provider) Stream(ctx context.Context, req *aiclient.Request) (*aiclient.Stream, error) {
	body, err := p.EncodeRequest(req, true)
	if err != nil {
		return nil, err
	}
	res, err := p.post(ctx, req.Model, body, true) //nolint:bodyclose // the returned stream closes the body
	if err != nil {
		return nil, err
	}
	return p.DecodeStream(req.Model, res.Body), nil
}

// DecodeStream turns a Messages API event stream into a Stream, which
// closes body when closed. It handles the full event set: message_start,
// content_block_start/delta/stop (text, tool_use, thinking and
// redacted_thinking blocks), message_delta, message_stop, ping, and error
// events sent after HTTP 200.
func (p *Provider) DecodeStream(model string, body io.ReadCloser) *aiclient.Stream {
	d := &decoder{p: p, model: model, sse: sse.NewDecoder(body), tools: map[int]int{}}
	return wire.NewStream(d.next, body, d.buffered)
}

type event struct {
	Type    string           `json:"type"`
	Message *messageResponse `json:"message"`
	Index   int              `json:"index"`
	Block   *block           `json:"content_block"`
	Delta   *struct {
		Type        string  `json:"type"`
		Text        string  `json:"text"`
		PartialJSON string  `json:"partial_json"`
		Thinking    string  `json:"thinking"`
		Signature   string  `json:"signature"`
		StopReason  *string `json:"stop_reason"`
	} `json:"delta"`
	Usage *usage    `json:"usage"`
	Error *apiError `json:"error"`
}

type decoder struct {
	p     *Provider
	model string
	sse   *sse.Decoder
	q     wire.Pump
	tools map[int]int // content block index → tool-call index
	usage aiclient.Usage
	raw   [3]int64
}

func (d *decoder) next() (aiclient.Event, error) { return d.q.Next(d.step) }

func (d *decoder) buffered() bool { return d.q.Buffered(d.step, d.sse.Buffered) }

// step reads one server-sent event and queues what it means.
func (d *decoder) step() error {
	ev, err := d.sse.Next()
	if err != nil {
		return wire.StreamError("anthropic", d.model, err)
	}
	if len(ev.Data) == 0 {
		return nil
	}
	return d.event(ev.Data)
}

func (d *decoder) event(data []byte) error {
	var e event
	if err := json.Unmarshal(data, &e); err != nil {
		return &aiclient.Error{Provider: "anthropic", Model: d.model, Status: http.StatusOK, Kind: aiclient.KindServer,
			Code: "invalid_event", Message: "a stream event is not valid JSON", Retryable: true, Err: err}
	}
	switch e.Type {
	case "message_start":
		if e.Message == nil {
			return nil
		}
		var raw struct {
			Message json.RawMessage `json:"message"`
		}
		_ = json.Unmarshal(data, &raw)
		d.q.Push(aiclient.Event{Type: aiclient.EventStart, ID: e.Message.ID, Model: e.Message.Model, Native: native(raw.Message)})
		if e.Message.Usage != nil {
			e.Message.Usage.merge(&d.usage, &d.raw)
			d.q.Push(aiclient.Event{Type: aiclient.EventUsage, Usage: d.usage})
		}
	case "content_block_start":
		if e.Block == nil {
			return nil
		}
		switch b := e.Block; b.Type {
		case "text":
			d.q.Push(aiclient.Event{Type: aiclient.EventText, Text: b.Text})
		case "thinking":
			d.q.Push(aiclient.Event{Type: aiclient.EventReasoning, Text: b.Thinking, Signature: b.Signature})
		case "redacted_thinking":
			d.q.Push(aiclient.Event{Type: aiclient.EventReasoning, Text: b.Data, Redacted: true})
		case "tool_use":
			n := len(d.tools)
			d.tools[e.Index] = n
			d.q.Push(aiclient.Event{Type: aiclient.EventToolCall, ToolCall: aiclient.ToolCallDelta{Index: n, ID: b.ID, Name: b.Name}})
		}
	case "content_block_delta":
		if e.Delta == nil {
			return nil
		}
		switch e.Delta.Type {
		case "text_delta":
			d.q.Push(aiclient.Event{Type: aiclient.EventText, Text: e.Delta.Text})
		case "thinking_delta":
			d.q.Push(aiclient.Event{Type: aiclient.EventReasoning, Text: e.Delta.Thinking})
		case "signature_delta":
			d.q.Push(aiclient.Event{Type: aiclient.EventReasoning, Signature: e.Delta.Signature})
		case "input_json_delta":
			if n, ok := d.tools[e.Index]; ok {
				d.q.Push(aiclient.Event{Type: aiclient.EventToolCall, ToolCall: aiclient.ToolCallDelta{Index: n, Arguments: e.Delta.PartialJSON}})
			}
		}
	case "message_delta":
		if e.Delta != nil && e.Delta.StopReason != nil {
			d.q.Push(finishEvent(*e.Delta.StopReason))
		}
		if e.Usage != nil {
			e.Usage.merge(&d.usage, &d.raw)
			d.q.Push(aiclient.Event{Type: aiclient.EventUsage, Usage: d.usage})
		}
	case "message_stop":
		d.q.Done = true
	case "error":
		a := e.Error
		if a == nil {
			a = &apiError{Type: "api_error", Message: "error event without details"}
		}
		return (&aiclient.Error{Provider: "anthropic", Model: d.model, Status: http.StatusOK, Code: a.Type,
			Message: d.p.cfg.Redact(a.Message)}).WithKind(kind(a.Type, a.Message, http.StatusOK))
	}
	return nil
}

func parseTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}
	}
	return t
}
