package openai

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"

	"github.com/portico-dev/portico/aiclient"
	"github.com/portico-dev/portico/aiclient/internal/wire"
	"github.com/portico-dev/portico/internal/sse"
)

// Stream sends a streaming Chat Completions request, asking for usage in
// the last chunk unless [WithoutStreamUsage] is set.
func (p *Provider) Stream(ctx context.Context, req *aiclient.Request) (*aiclient.Stream, error) {
	body, err := p.EncodeRequest(req, true)
	if err != nil {
		return nil, err
	}
	res, err := p.post(ctx, req.Model, "/chat/completions", body, true) //nolint:bodyclose // the returned stream closes the body
	if err != nil {
		return nil, err
	}
	return p.DecodeStream(req.Model, res.Body), nil
}

// DecodeStream turns a Chat Completions event stream into a Stream, which
// closes body when closed.
func (p *Provider) DecodeStream(model string, body io.ReadCloser) *aiclient.Stream {
	d := &decoder{p: p, model: model, sse: sse.NewDecoder(body), calls: map[int]int{}}
	return wire.NewStream(d.next, body, d.buffered)
}

// chunk is a stream chunk without its ID and model, which only the first
// chunk is decoded for (see head): skipping them saves two allocations
// per event.
type chunk struct {
	Choices []streamChoice `json:"choices"`
	Usage   *usage         `json:"usage"`
	Error   *apiError      `json:"error"`
	Object  string         `json:"object"`
	Message string         `json:"message"`
	Type    string         `json:"type"`
}

type head struct {
	ID      string `json:"id"`
	Model   string `json:"model"`
	Created int64  `json:"created"`
	chunk
}

type decoder struct {
	p        *Provider
	model    string
	sse      *sse.Decoder
	q        wire.Pump
	started  bool
	finished bool
	calls    map[int]int // wire index → neutral index
	last     int
	h        head // the chunk being read, kept to reuse its choices
}

var doneMarker = []byte("[DONE]")

func (d *decoder) next() (aiclient.Event, error) { return d.q.Next(d.step) }

func (d *decoder) buffered() bool { return d.q.Buffered(d.step, d.sse.Buffered) }

// step reads one server-sent event and queues what it means.
func (d *decoder) step() error {
	ev, err := d.sse.Next()
	if err != nil {
		if errors.Is(err, io.EOF) && d.finished {
			// Some compatible servers end without "[DONE]".
			d.q.Done = true
			return nil
		}
		return wire.StreamError(d.p.cfg.Provider, d.model, err)
	}
	data := bytes.TrimSpace(ev.Data)
	if len(data) == 0 {
		return nil
	}
	if bytes.Equal(data, doneMarker) {
		d.q.Done = true
		return nil
	}
	return d.chunk(data)
}

func (d *decoder) chunk(data []byte) error {
	h := &d.h
	*h = head{chunk: chunk{Choices: h.Choices[:0]}}
	nat, err := decodeChunk(data, h, !d.started)
	c := &h.chunk
	if err != nil {
		return &aiclient.Error{Provider: d.p.cfg.Provider, Model: d.model, Status: http.StatusOK, Kind: aiclient.KindServer,
			Code: "invalid_chunk", Message: "a stream chunk is not valid JSON", Retryable: true, Err: err}
	}
	if c.Error != nil {
		return c.Error.toError(d.p, d.model, http.StatusOK)
	}
	if c.Object == "error" {
		return (&apiError{Message: c.Message, Type: c.Type}).toError(d.p, d.model, http.StatusOK)
	}
	if !d.started && (h.ID != "" || h.Model != "") {
		d.started = true
		d.q.Push(aiclient.Event{Type: aiclient.EventStart, ID: h.ID, Model: h.Model, Created: unixTime(h.Created), Native: nat})
	}
	for _, ch := range c.Choices {
		if ch.Index != 0 {
			continue // only the first choice is read
		}
		m := ch.Delta
		if r := m.ReasoningContent + m.Reasoning; r != "" {
			d.q.Push(aiclient.Event{Type: aiclient.EventReasoning, Text: r})
		}
		if m.Content != nil && *m.Content != "" || ch.Logprobs != nil && len(ch.Logprobs.Content) > 0 {
			d.q.Push(aiclient.Event{Type: aiclient.EventText, Text: deref(m.Content), Logprobs: ch.Logprobs.content()})
		}
		if m.Refusal != nil && *m.Refusal != "" {
			d.q.Push(aiclient.Event{Type: aiclient.EventText, Text: *m.Refusal})
		}
		for _, tc := range m.ToolCalls {
			d.q.Push(aiclient.Event{Type: aiclient.EventToolCall, ToolCall: aiclient.ToolCallDelta{
				Index: d.callIndex(tc), ID: tc.ID, Name: tc.Function.Name, Arguments: tc.Function.Arguments}})
		}
		if ch.FinishReason != nil && *ch.FinishReason != "" {
			d.finished = true
			d.q.Push(finishEvent(*ch.FinishReason))
		}
	}
	if c.Usage != nil {
		d.q.Push(aiclient.Event{Type: aiclient.EventUsage, Usage: c.Usage.neutral()})
	}
	return nil
}

// callIndex maps a wire tool-call index to the call's position. Servers
// that send no index get one call per new ID.
func (d *decoder) callIndex(tc toolCall) int {
	if tc.Index == nil {
		if tc.ID != "" || len(d.calls) == 0 {
			d.last = len(d.calls)
			d.calls[-1-d.last] = d.last
		}
		return d.last
	}
	n, ok := d.calls[*tc.Index]
	if !ok {
		n = len(d.calls)
		d.calls[*tc.Index] = n
	}
	d.last = n
	return n
}
