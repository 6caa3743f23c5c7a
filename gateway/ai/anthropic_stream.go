package ai

import (
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/portico-dev/portico/aiclient"
	"github.com/portico-dev/portico/aiclient/guard"
	"github.com/portico-dev/portico/internal/jsonscan"
	"github.com/portico-dev/portico/internal/sse"
)

// messagesStream answers a streaming Messages request: it turns the
// client's neutral events into Anthropic's message_start,
// content_block_*, message_delta and message_stop events.
func (h *Handler) messagesStream(w http.ResponseWriter, c *call, req *aiclient.Request) {
	s, enc := h.startStream(w, c, req, func(e *apiError) { e.writeAnthropic(w) })
	if s == nil {
		return
	}
	defer func() { _ = s.Close() }()
	mw := &messageWriter{enc: enc, req: req, block: -1, toolBlock: -1, finish: aiclient.FinishStop,
		onContent: func() {
			if c.rec.TimeToFirstToken == 0 {
				c.rec.TimeToFirstToken = h.cfg.clock().Sub(c.start)
			}
		}}
	var werr error
	for werr == nil && s.Next() {
		ev := s.Current()
		mw.acc.Add(ev)
		werr = mw.event(ev)
	}
	resp := mw.acc.Response()
	if werr != nil {
		c.end(http.StatusOK, &apiError{kind: "canceled", code: "canceled"}, resp)
		return
	}
	if err := s.Err(); err != nil {
		e := fromCall(err)
		_, body := e.anthropic()
		body.RequestID = w.Header().Get("Request-Id")
		_ = mw.emit("error", body)
		c.end(http.StatusOK, e, resp)
		return
	}
	// The handler returns next, and net/http sends what is left with the
	// end of the response, in one write: the last events need no flush of
	// their own.
	enc.Hold = holdAll
	_ = mw.end(resp.Usage)
	c.end(http.StatusOK, nil, resp)
}

// messageWriter writes a Messages stream's events, keeping the state the
// stream needs between them: whether message_start went out and which
// content block is open.
type messageWriter struct {
	enc *sse.Encoder
	req *aiclient.Request
	acc aiclient.Accumulator

	started   bool
	block     int    // index of the open content block, -1 before the first
	kind      string // the open block's type, "" when none is open
	toolBlock int    // the neutral tool-call index of an open tool_use block
	id, model string
	native    *aiclient.Native
	finish    aiclient.FinishReason
	onContent func() // called on text and tool-call content, before it is written
	buf       []byte // the text delta being written; the encoder copies it
}

// emit writes one event.
func (m *messageWriter) emit(typ string, v any) error {
	return m.enc.Encode(sse.Event{Type: typ, Data: mustJSON(v)})
}

// event writes what one neutral event means to a Messages client. Any
// write error ends the stream.
func (m *messageWriter) event(ev aiclient.Event) error {
	switch ev.Type {
	case aiclient.EventStart:
		m.id, m.model, m.native = ev.ID, ev.Model, ev.Native
		return nil
	case aiclient.EventUsage:
		if !m.started {
			return nil
		}
	}
	if !m.started {
		if err := m.start(); err != nil {
			return err
		}
	}
	switch ev.Type {
	case aiclient.EventText:
		return m.text(ev.Text)
	case aiclient.EventReasoning:
		return m.reasoning(ev.Text, ev.Signature)
	case aiclient.EventToolCall:
		return m.toolCall(ev.ToolCall)
	case aiclient.EventFinish:
		m.finish = ev.FinishReason
	}
	return nil
}

// start writes message_start. It waits for the first content, so that it
// carries the provider's input tokens when the provider reports them at
// its start (Anthropic, Bedrock); a provider that reports usage only at
// the end (OpenAI, Gemini) gets the gateway's estimate of the input here,
// and its count in message_delta.
func (m *messageWriter) start() error {
	m.started = true
	u := m.acc.Response().Usage
	if u.InputTokens == 0 {
		u = aiclient.Usage{InputTokens: guard.EstimateTokens(m.req)}
	}
	msg := map[string]any{
		"id": messageID(m.id), "type": "message", "role": "assistant", "model": modelName(m.model, m.req.Model),
		"content": []any{}, "stop_reason": nil, "stop_sequence": nil,
		"usage": toAnthropicUsage(u),
	}
	for k, v := range m.native.For(aiclient.WireAnthropic) {
		msg[k] = v
	}
	return m.emit("message_start", map[string]any{"type": "message_start", "message": msg})
}

// text writes a text delta, opening a text block first if none is open.
func (m *messageWriter) text(s string) error {
	m.content()
	if m.kind != "text" {
		if err := m.open(anthropicBlock{Type: "text", Text: ""}); err != nil {
			return err
		}
	}
	if s == "" {
		return nil
	}
	m.buf = appendTextDelta(m.buf[:0], m.block, s)
	return m.enc.Encode(sse.Event{Type: "content_block_delta", Data: m.buf})
}

// appendTextDelta appends the content_block_delta of text s in block
// index as json.Marshal writes the map that describes it (members in
// name order), without reflection: text deltas are most of a stream.
func appendTextDelta(b []byte, index int, s string) []byte {
	b = append(b, `{"delta":{"text":`...)
	b = jsonscan.AppendString(b, s)
	b = append(b, `,"type":"text_delta"},"index":`...)
	b = strconv.AppendInt(b, int64(index), 10)
	return append(b, `,"type":"content_block_delta"}`...)
}

// reasoning writes thinking and signature deltas, opening a thinking
// block first if none is open.
func (m *messageWriter) reasoning(s, signature string) error {
	if m.kind != "thinking" {
		if err := m.open(anthropicBlock{Type: "thinking", Thinking: ""}); err != nil {
			return err
		}
	}
	if s != "" {
		if err := m.delta(map[string]any{"type": "thinking_delta", "thinking": s}); err != nil {
			return err
		}
	}
	if signature == "" {
		return nil
	}
	return m.delta(map[string]any{"type": "signature_delta", "signature": signature})
}

// toolCall writes a tool call's arguments, opening a tool_use block
// first when the call is a new one.
func (m *messageWriter) toolCall(tc aiclient.ToolCallDelta) error {
	m.content()
	if m.kind != "tool_use" || m.toolBlock != tc.Index {
		m.toolBlock = tc.Index
		if err := m.open(anthropicBlock{Type: "tool_use", ID: tc.ID, Name: tc.Name, Input: json.RawMessage("{}")}); err != nil {
			return err
		}
	}
	if tc.Arguments == "" {
		return nil
	}
	return m.delta(map[string]any{"type": "input_json_delta", "partial_json": tc.Arguments})
}

// content calls onContent, if set.
func (m *messageWriter) content() {
	if m.onContent != nil {
		m.onContent()
	}
}

// open closes the open block, if any, and opens b.
func (m *messageWriter) open(b anthropicBlock) error {
	if err := m.closeBlock(); err != nil {
		return err
	}
	m.block++
	m.kind = b.Type
	return m.emit("content_block_start", map[string]any{"type": "content_block_start", "index": m.block, "content_block": outBlock(b)})
}

// closeBlock writes content_block_stop for the open block, if any.
func (m *messageWriter) closeBlock() error {
	if m.block < 0 || m.kind == "" {
		return nil
	}
	m.kind = ""
	return m.emit("content_block_stop", map[string]any{"type": "content_block_stop", "index": m.block})
}

// delta writes a content_block_delta for the open block.
func (m *messageWriter) delta(d map[string]any) error {
	return m.emit("content_block_delta", map[string]any{"type": "content_block_delta", "index": m.block, "delta": d})
}

// end writes what closes a stream that ended well: message_start if no
// content came, the open block's stop, message_delta with the stop
// reason and usage, and message_stop.
func (m *messageWriter) end(u aiclient.Usage) error {
	if !m.started {
		if err := m.start(); err != nil {
			return err
		}
	}
	if err := m.closeBlock(); err != nil {
		return err
	}
	if err := m.emit("message_delta", map[string]any{"type": "message_delta",
		"delta": map[string]any{"stop_reason": stopReason(m.finish), "stop_sequence": nil}, "usage": toAnthropicUsage(u)}); err != nil {
		return err
	}
	return m.emit("message_stop", map[string]any{"type": "message_stop"})
}
