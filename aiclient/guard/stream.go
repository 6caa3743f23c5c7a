package guard

import (
	"context"
	"errors"
	"io"
	"strings"

	"github.com/portico-dev/portico/aiclient"
)

// restoringStream restores masked values in a stream's text, reasoning
// and tool-call deltas, and runs the output rules once the text is
// complete. Events it holds back (the tail of a delta that may begin a
// placeholder) go out before the next event of another kind.
type restoringStream struct {
	g     *Guard
	ctx   context.Context
	model string
	src   *aiclient.Stream
	vault *Vault

	text, reasoning *Restorer
	tools           map[int]*Restorer
	queue           []aiclient.Event
	seen            strings.Builder // the restored text, for the output rules
	ended           bool
	err             error
}

func (s *restoringStream) recv() (aiclient.Event, error) {
	for len(s.queue) == 0 {
		if s.ended {
			return aiclient.Event{}, s.err
		}
		s.pull()
	}
	ev := s.queue[0]
	s.queue = s.queue[1:]
	return ev, nil
}

// pull reads one event from the source and queues what can go out.
func (s *restoringStream) pull() {
	if !s.src.Next() {
		s.flushOthers(0, -1)
		s.ended = true
		s.err = s.src.Err()
		if s.err == nil {
			s.err = s.checkOutput()
		}
		if s.err == nil {
			s.err = io.EOF
		}
		return
	}
	ev := s.src.Current()
	switch ev.Type {
	case aiclient.EventText:
		s.flushOthers(aiclient.EventText, -1)
		ev.Text = s.text.Write(ev.Text)
		s.seen.WriteString(ev.Text)
		if ev.Text == "" && ev.Signature == "" && ev.Logprobs == nil {
			return
		}
	case aiclient.EventReasoning:
		s.flushOthers(aiclient.EventReasoning, -1)
		if !ev.Redacted {
			ev.Text = s.reasoning.Write(ev.Text)
		}
		if ev.Text == "" && ev.Signature == "" {
			return
		}
	case aiclient.EventToolCall:
		s.flushOthers(aiclient.EventToolCall, ev.ToolCall.Index)
		r, ok := s.tools[ev.ToolCall.Index]
		if !ok {
			r = s.vault.Restorer(true)
			s.tools[ev.ToolCall.Index] = r
		}
		ev.ToolCall.Arguments = r.Write(ev.ToolCall.Arguments)
		s.seen.WriteString(ev.ToolCall.Arguments)
		if ev.ToolCall.Arguments == "" && ev.ToolCall.ID == "" && ev.ToolCall.Name == "" && ev.ToolCall.Signature == "" {
			return
		}
	case aiclient.EventFinish:
		s.flushOthers(0, -1)
		if err := s.checkOutput(); err != nil {
			s.ended, s.err = true, err
			return
		}
	}
	s.queue = append(s.queue, ev)
}

// flushOthers flushes the restorers of the kinds other than typ (and of
// the tool calls other than index).
func (s *restoringStream) flushOthers(typ aiclient.EventType, index int) {
	if typ != aiclient.EventText {
		s.emit(aiclient.EventText, s.text.Flush(), 0)
	}
	if typ != aiclient.EventReasoning {
		s.emit(aiclient.EventReasoning, s.reasoning.Flush(), 0)
	}
	for i, r := range s.tools {
		if typ != aiclient.EventToolCall || i != index {
			s.emit(aiclient.EventToolCall, r.Flush(), i)
		}
	}
}

func (s *restoringStream) emit(typ aiclient.EventType, text string, index int) {
	if text == "" {
		return
	}
	ev := aiclient.Event{Type: typ}
	switch typ {
	case aiclient.EventToolCall:
		ev.ToolCall = aiclient.ToolCallDelta{Index: index, Arguments: text}
	default:
		ev.Text = text
	}
	if typ != aiclient.EventReasoning {
		s.seen.WriteString(text)
	}
	s.queue = append(s.queue, ev)
}

// checkOutput runs the output rules once, on the whole restored text.
func (s *restoringStream) checkOutput() error {
	if len(s.g.output) == 0 {
		return nil
	}
	text := s.seen.String()
	s.seen.Reset()
	if text == "" {
		return nil
	}
	err := s.g.inspectOutput(s.ctx, s.model, text)
	if err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	return nil
}
