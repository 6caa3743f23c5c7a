package aiclient

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
)

// Accumulator turns stream events into the [Response] a non-streamed call
// gives. The adapters build their non-streamed responses with one too, so
// both paths produce identical values by construction.
//
// The zero value is ready to use. An Accumulator is not safe for
// concurrent use.
type Accumulator struct {
	resp  Response
	calls []*callBuf
	args  []*strings.Builder
	text  *strings.Builder
}

type callBuf struct {
	index int
	call  ToolCall
}

// Add folds one event into the response.
func (a *Accumulator) Add(ev Event) {
	switch ev.Type {
	case EventStart:
		if ev.ID != "" {
			a.resp.ID = ev.ID
		}
		if ev.Model != "" {
			a.resp.Model = ev.Model
		}
		if !ev.Created.IsZero() {
			a.resp.Created = ev.Created
		}
		if ev.Native != nil {
			a.resp.Native = ev.Native
		}
	case EventText:
		a.appendPart(PartText, ev.Text, ev.Signature, false)
		a.resp.Logprobs = append(a.resp.Logprobs, ev.Logprobs...)
	case EventReasoning:
		a.appendPart(PartReasoning, ev.Text, ev.Signature, ev.Redacted)
	case EventToolCall:
		a.addCall(ev.ToolCall)
	case EventUsage:
		a.resp.Usage = ev.Usage
	case EventFinish:
		a.resp.FinishReason = ev.FinishReason
		a.resp.RawFinishReason = ev.RawFinishReason
	}
}

func (a *Accumulator) appendPart(typ PartType, text, sig string, redacted bool) {
	parts := a.resp.Message.Parts
	n := len(parts)
	// A new reasoning part starts after a signed one: a signature closes
	// an Anthropic thinking block.
	merge := n > 0 && parts[n-1].Type == typ && parts[n-1].Redacted == redacted &&
		(typ != PartReasoning || parts[n-1].Signature == "" || text == "")
	if !merge {
		if text == "" && sig == "" {
			return
		}
		a.flushText()
		a.resp.Message.Parts = append(parts, Part{Type: typ, Redacted: redacted})
		n++
		a.text = new(strings.Builder)
	}
	if a.text == nil {
		a.text = new(strings.Builder)
		a.text.WriteString(a.resp.Message.Parts[n-1].Text)
	}
	a.text.WriteString(text)
	a.resp.Message.Parts[n-1].Signature += sig
}

func (a *Accumulator) flushText() {
	if a.text != nil && len(a.resp.Message.Parts) > 0 {
		a.resp.Message.Parts[len(a.resp.Message.Parts)-1].Text = a.text.String()
	}
	a.text = nil
}

func (a *Accumulator) addCall(d ToolCallDelta) {
	i := slices.IndexFunc(a.calls, func(c *callBuf) bool { return c.index == d.Index })
	if i < 0 {
		a.calls = append(a.calls, &callBuf{index: d.Index})
		a.args = append(a.args, new(strings.Builder))
		i = len(a.calls) - 1
	}
	c := &a.calls[i].call
	if d.ID != "" {
		c.ID = d.ID
	}
	if d.Name != "" {
		c.Name += d.Name
	}
	c.Signature += d.Signature
	a.args[i].WriteString(d.Arguments)
}

// Response returns the response accumulated so far. The result does not
// share memory with the Accumulator.
func (a *Accumulator) Response() *Response {
	a.flushText()
	r := a.resp
	r.Message.Role = RoleAssistant
	r.Message.Parts = slices.Clone(a.resp.Message.Parts)
	r.Logprobs = slices.Clone(a.resp.Logprobs)
	if len(a.calls) > 0 {
		order := make([]int, len(a.calls))
		for i := range order {
			order[i] = i
		}
		slices.SortStableFunc(order, func(x, y int) int { return a.calls[x].index - a.calls[y].index })
		r.Message.ToolCalls = make([]ToolCall, 0, len(a.calls))
		for _, i := range order {
			c := a.calls[i].call
			args := strings.TrimSpace(a.args[i].String())
			if args == "" {
				args = "{}"
			}
			// Compact valid JSON, so that a streamed call (fragments as
			// the model wrote them) and a whole one (re-encoded by the
			// provider) give the same bytes.
			var buf bytes.Buffer
			if json.Compact(&buf, []byte(args)) == nil {
				args = buf.String()
			}
			c.Arguments = json.RawMessage(args)
			r.Message.ToolCalls = append(r.Message.ToolCalls, c)
		}
	}
	return &r
}
