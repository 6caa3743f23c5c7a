package guard

import (
	"context"
	"io"

	"github.com/portico-dev/portico/aiclient"
)

// restoringStream restores masked values in a stream's text, reasoning
// and tool-call deltas, and passes the text and the tool calls'
// arguments through the output rules as they arrive. Events it holds
// back (the tail of a delta that may begin a placeholder) go out before
// the next event of another kind; text the output rules hold back (a
// tail that may begin a value) goes out once they know, and at the
// latest with the finish.
type restoringStream struct {
	ctx   context.Context
	src   *aiclient.Stream
	vault *Vault
	out   *output // nil without output rules

	text, reasoning *Restorer
	tools           map[int]*Restorer
	textScan        *scanner
	toolScans       map[int]*scanner
	queue           []aiclient.Event
	ended           bool
	err             error
}

func newRestoringStream(ctx context.Context, src *aiclient.Stream, vault *Vault, out *output) *restoringStream {
	s := &restoringStream{ctx: ctx, src: src, vault: vault, out: out, tools: map[int]*Restorer{}, toolScans: map[int]*scanner{}}
	s.text, s.reasoning = vault.Restorer(false), vault.Restorer(false)
	if out != nil {
		s.textScan = out.scanner()
	}
	return s
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

// fail ends the stream with err, after the events queued.
func (s *restoringStream) fail(err error) {
	s.ended, s.err = true, err
}

// pull reads one event from the source and queues what can go out.
func (s *restoringStream) pull() {
	if !s.src.Next() {
		if err := s.finish(); err != nil {
			s.fail(err)
			return
		}
		s.fail(s.src.Err())
		if s.err == nil {
			s.err = io.EOF
		}
		return
	}
	ev := s.src.Current()
	switch ev.Type {
	case aiclient.EventText:
		if err := s.flushOthers(aiclient.EventText, -1); err != nil {
			s.fail(err)
			return
		}
		text, err := s.scanText(s.text.Write(ev.Text), false)
		if err != nil {
			s.fail(err)
			return
		}
		ev.Text = text
		if s.out != nil {
			// Log probabilities would show the text held back.
			ev.Logprobs = nil
		}
		if ev.Text == "" && ev.Signature == "" && ev.Logprobs == nil {
			return
		}
	case aiclient.EventReasoning:
		if err := s.flushOthers(aiclient.EventReasoning, -1); err != nil {
			s.fail(err)
			return
		}
		if !ev.Redacted {
			ev.Text = s.reasoning.Write(ev.Text)
		}
		if ev.Text == "" && ev.Signature == "" {
			return
		}
	case aiclient.EventToolCall:
		i := ev.ToolCall.Index
		if err := s.flushOthers(aiclient.EventToolCall, i); err != nil {
			s.fail(err)
			return
		}
		r, ok := s.tools[i]
		if !ok {
			r = s.vault.Restorer(true)
			s.tools[i] = r
		}
		args, err := s.scanTool(i, r.Write(ev.ToolCall.Arguments), false)
		if err != nil {
			s.fail(err)
			return
		}
		ev.ToolCall.Arguments = args
		if ev.ToolCall.Arguments == "" && ev.ToolCall.ID == "" && ev.ToolCall.Name == "" && ev.ToolCall.Signature == "" {
			return
		}
	case aiclient.EventFinish:
		if err := s.finish(); err != nil {
			s.fail(err)
			return
		}
	}
	s.queue = append(s.queue, ev)
}

// finish passes on everything held back, the output rules taking the
// texts as complete, and reports their findings.
func (s *restoringStream) finish() error {
	if err := s.flushOthers(0, -1); err != nil {
		return err
	}
	if s.out == nil {
		return nil
	}
	text, err := s.scanText("", true)
	if err != nil {
		return err
	}
	s.emit(aiclient.EventText, text, 0)
	for i := range s.toolScans {
		args, err := s.scanTool(i, "", true)
		if err != nil {
			return err
		}
		s.emit(aiclient.EventToolCall, args, i)
	}
	s.out.report()
	return nil
}

// scanText passes restored text through the output rules.
func (s *restoringStream) scanText(text string, end bool) (string, error) {
	if s.textScan == nil {
		return text, nil
	}
	return s.textScan.write(text, end)
}

// scanTool passes restored arguments of tool call i through the output
// rules.
func (s *restoringStream) scanTool(i int, args string, end bool) (string, error) {
	if s.out == nil {
		return args, nil
	}
	sc, ok := s.toolScans[i]
	if !ok {
		sc = s.out.scanner()
		s.toolScans[i] = sc
	}
	return sc.write(args, end)
}

// flushOthers flushes the restorers of the kinds other than typ (and of
// the tool calls other than index) into the output rules.
func (s *restoringStream) flushOthers(typ aiclient.EventType, index int) error {
	if typ != aiclient.EventText {
		text, err := s.scanText(s.text.Flush(), false)
		if err != nil {
			return err
		}
		s.emit(aiclient.EventText, text, 0)
	}
	if typ != aiclient.EventReasoning {
		s.emit(aiclient.EventReasoning, s.reasoning.Flush(), 0)
	}
	for i, r := range s.tools {
		if typ != aiclient.EventToolCall || i != index {
			args, err := s.scanTool(i, r.Flush(), false)
			if err != nil {
				return err
			}
			s.emit(aiclient.EventToolCall, args, i)
		}
	}
	return nil
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
	s.queue = append(s.queue, ev)
}
