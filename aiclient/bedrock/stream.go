package bedrock

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"

	"github.com/portico-dev/portico/aiclient"
	"github.com/portico-dev/portico/aiclient/internal/wire"
)

// Stream sends a ConverseStream request and decodes its event stream
// (application/vnd.amazon.eventstream).
func (p *Provider) Stream(ctx context.Context, req *aiclient.Request) (*aiclient.Stream, error) {
	body, err := p.EncodeRequest(req)
	if err != nil {
		return nil, err
	}
	res, err := p.post(ctx, req.Model, "converse-stream", "application/vnd.amazon.eventstream", body) //nolint:bodyclose // the returned stream closes the body
	if err != nil {
		return nil, err
	}
	d := p.decoder(req.Model, res.Header.Get("X-Amzn-Requestid"), res.Body)
	return wire.NewStream(d.next, res.Body, nil), nil
}

// DecodeStream turns a ConverseStream event stream into a Stream, which
// closes body when closed. It handles messageStart, contentBlockStart
// (tool use), contentBlockDelta (text, tool input, reasoning text,
// signature and redacted reasoning), contentBlockStop, messageStop and
// metadata (usage), and ends in an [*aiclient.Error] on an exception
// message after HTTP 200 or when the stream ends before messageStop.
func (p *Provider) DecodeStream(model string, body io.ReadCloser) *aiclient.Stream {
	d := p.decoder(model, "", body)
	return wire.NewStream(d.next, body, nil)
}

func (p *Provider) decoder(model, id string, body io.Reader) *decoder {
	return &decoder{p: p, model: model, id: id, r: body, dec: eventstream.NewDecoder(), tools: map[int]int{}}
}

// streamEvent is the payload of every ConverseStream event type; each
// type sets some of the fields.
type streamEvent struct {
	ContentBlockIndex int `json:"contentBlockIndex"`
	Start             *struct {
		ToolUse *toolUse `json:"toolUse"`
	} `json:"start"`
	Delta *struct {
		Text    *string `json:"text"`
		ToolUse *struct {
			Input string `json:"input"`
		} `json:"toolUse"`
		ReasoningContent *struct {
			Text            string `json:"text"`
			Signature       string `json:"signature"`
			RedactedContent string `json:"redactedContent"`
		} `json:"reasoningContent"`
	} `json:"delta"`
	StopReason string `json:"stopReason"`
	Usage      *usage `json:"usage"`
	Message    string `json:"message"`
}

type decoder struct {
	p         *Provider
	model, id string
	r         io.Reader
	dec       *eventstream.Decoder
	q         wire.Queue
	tools     map[int]int // content block index → tool-call index
	started   bool
	stopped   bool // messageStop arrived: the end of the stream is clean
	done      bool
}

func (d *decoder) next() (aiclient.Event, error) {
	for {
		if ev, ok := d.q.Pop(); ok {
			return ev, nil
		}
		if d.done {
			return aiclient.Event{}, io.EOF
		}
		msg, err := d.dec.Decode(d.r, nil)
		switch {
		case errors.Is(err, io.EOF) && d.stopped:
			d.done = true
			continue
		case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), err != nil && !isFraming(err):
			return aiclient.Event{}, wire.StreamError(name, d.model, err)
		case err != nil:
			return aiclient.Event{}, &aiclient.Error{Provider: name, Model: d.model, Status: http.StatusOK, Kind: aiclient.KindServer,
				Code: "invalid_event", Message: "a stream message is not a valid event-stream frame", Retryable: true, Err: err}
		}
		if err := d.message(msg); err != nil {
			return aiclient.Event{}, err
		}
	}
}

// isFraming reports whether err is a malformed frame rather than a
// failed read.
func isFraming(err error) bool {
	var le eventstream.LengthError
	var ce eventstream.ChecksumError
	return errors.As(err, &le) || errors.As(err, &ce)
}

func header(m eventstream.Message, name string) string {
	if v := m.Headers.Get(name); v != nil {
		return v.String()
	}
	return ""
}

// message turns one event-stream message into events, or into the error
// an exception message carries.
func (d *decoder) message(m eventstream.Message) error {
	var e streamEvent
	switch header(m, ":message-type") {
	case "exception":
		_ = json.Unmarshal(m.Payload, &e) // a payload that is not JSON leaves the message empty
		code := header(m, ":exception-type")
		return d.fail(code, e.Message)
	case "error":
		return d.fail(header(m, ":error-code"), header(m, ":error-message"))
	}
	if err := json.Unmarshal(m.Payload, &e); err != nil {
		return &aiclient.Error{Provider: name, Model: d.model, Status: http.StatusOK, Kind: aiclient.KindServer,
			Code: "invalid_event", Message: "a stream event is not valid JSON", Retryable: true, Err: err}
	}
	if !d.started {
		d.started = true
		d.q.Push(aiclient.Event{Type: aiclient.EventStart, ID: d.id, Model: d.model})
	}
	switch header(m, ":event-type") {
	case "contentBlockStart":
		if e.Start != nil && e.Start.ToolUse != nil {
			n := len(d.tools)
			d.tools[e.ContentBlockIndex] = n
			d.q.Push(aiclient.Event{Type: aiclient.EventToolCall, ToolCall: aiclient.ToolCallDelta{Index: n, ID: e.Start.ToolUse.ToolUseID, Name: e.Start.ToolUse.Name}})
		}
	case "contentBlockDelta":
		d.delta(&e)
	case "messageStop":
		d.stopped = true
		d.q.Push(aiclient.Event{Type: aiclient.EventFinish, FinishReason: FinishReason(e.StopReason), RawFinishReason: e.StopReason})
	case "metadata":
		if e.Usage != nil {
			d.q.Push(aiclient.Event{Type: aiclient.EventUsage, Usage: e.Usage.neutral()})
		}
	}
	return nil
}

func (d *decoder) delta(e *streamEvent) {
	switch dl := e.Delta; {
	case dl == nil:
	case dl.Text != nil:
		d.q.Push(aiclient.Event{Type: aiclient.EventText, Text: *dl.Text})
	case dl.ToolUse != nil:
		if n, ok := d.tools[e.ContentBlockIndex]; ok {
			d.q.Push(aiclient.Event{Type: aiclient.EventToolCall, ToolCall: aiclient.ToolCallDelta{Index: n, Arguments: dl.ToolUse.Input}})
		}
	case dl.ReasoningContent != nil:
		r := dl.ReasoningContent
		switch {
		case r.RedactedContent != "":
			d.q.Push(aiclient.Event{Type: aiclient.EventReasoning, Text: r.RedactedContent, Redacted: true})
		case r.Signature != "":
			d.q.Push(aiclient.Event{Type: aiclient.EventReasoning, Signature: r.Signature})
		default:
			d.q.Push(aiclient.Event{Type: aiclient.EventReasoning, Text: r.Text})
		}
	}
}

// fail is the error of an exception sent after HTTP 200.
func (d *decoder) fail(code, msg string) error {
	if code == "" {
		code = "internalServerException"
	}
	e := &aiclient.Error{Provider: name, Model: d.model, Status: http.StatusOK, Code: code, Message: d.p.cfg.Redact(msg)}
	return e.WithKind(exceptionKind(code, msg, http.StatusOK))
}
