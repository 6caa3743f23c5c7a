package aiclient

import (
	"errors"
	"io"
	"sync"
	"time"
)

// EventType is the kind of a stream [Event].
type EventType int

// The kinds of stream event.
const (
	// EventStart carries the response ID and model; it comes first.
	EventStart EventType = iota + 1
	// EventText carries a text delta in Text, and sometimes a Signature.
	EventText
	// EventReasoning carries a reasoning delta in Text, and/or a Signature
	// fragment; Redacted marks encrypted reasoning.
	EventReasoning
	// EventToolCall carries a fragment of a tool call in ToolCall.
	EventToolCall
	// EventUsage carries the usage so far; the last one is the total.
	EventUsage
	// EventFinish carries the finish reason.
	EventFinish
)

// String returns the event type's name.
func (t EventType) String() string {
	switch t {
	case EventStart:
		return "start"
	case EventText:
		return "text"
	case EventReasoning:
		return "reasoning"
	case EventToolCall:
		return "tool_call"
	case EventUsage:
		return "usage"
	case EventFinish:
		return "finish"
	}
	return "unknown"
}

// ToolCallDelta is a fragment of a streamed tool call. Fragments of one
// call share an Index (its position among the response's tool calls, not
// a wire-level index); ID and Name arrive on the first fragment, and the
// Arguments fragments concatenate into the arguments JSON.
type ToolCallDelta struct {
	Index     int    `json:"index"`
	ID        string `json:"id,omitempty"`
	Name      string `json:"name,omitempty"`
	Arguments string `json:"arguments,omitempty"`
	Signature string `json:"signature,omitempty"`
}

// Event is one element of a [Stream].
type Event struct {
	Type EventType `json:"type"`
	// ID and Model are set on EventStart, and Created and Native when
	// the provider sends them (see [Response]).
	ID      string    `json:"id,omitempty"`
	Model   string    `json:"model,omitempty"`
	Created time.Time `json:"created,omitzero"`
	Native  *Native   `json:"native,omitempty"`
	// Text is the delta of EventText and EventReasoning.
	Text string `json:"text,omitempty"`
	// Logprobs are the log probabilities of the tokens of an EventText's
	// delta, when [Request.Logprobs] asked for them.
	Logprobs []Logprob `json:"logprobs,omitempty"`
	// Signature is an opaque token for the current text or reasoning
	// part; see [Part.Signature].
	Signature string `json:"signature,omitempty"`
	// Redacted marks an EventReasoning whose Text is encrypted data.
	Redacted bool `json:"redacted,omitempty"`
	// ToolCall is set on EventToolCall.
	ToolCall ToolCallDelta `json:"tool_call"`
	// Usage is set on EventUsage: the usage so far, replacing earlier ones.
	Usage Usage `json:"usage"`
	// FinishReason and RawFinishReason are set on EventFinish.
	FinishReason    FinishReason `json:"finish_reason,omitempty"`
	RawFinishReason string       `json:"raw_finish_reason,omitempty"`
}

// Stream is a streamed chat response, read as
//
//	for s.Next() {
//		ev := s.Current()
//		...
//	}
//	if err := s.Err(); err != nil { ... }
//	s.Close()
//
// An error that the provider reports after answering HTTP 200 (an error
// event, or a stream cut before its end marker) ends the iteration, and
// Err returns it as an [*Error]. Close releases the connection; it is safe
// to call more than once and from another goroutine, to cancel a read in
// progress.
type Stream struct {
	recv     func() (Event, error)
	close    func() error
	buffered func() bool

	cur       Event
	err       error
	done      bool
	closeOnce sync.Once
	closeErr  error
}

// NewStream returns a Stream that reads events by calling recv until it
// returns an error (io.EOF for a clean end), and releases its resources by
// calling close (which may be nil). Adapters and middleware that wrap a
// stream build theirs with it.
func NewStream(recv func() (Event, error), close func() error) *Stream {
	return &Stream{recv: recv, close: close}
}

// Next advances to the next event and reports whether there is one.
func (s *Stream) Next() bool {
	if s.done {
		return false
	}
	ev, err := s.recv()
	if err != nil {
		s.done = true
		if !errors.Is(err, io.EOF) {
			s.err = err
		}
		return false
	}
	s.cur = ev
	return true
}

// Buffered reports whether Next would return at once, without waiting
// for the provider: an event, or the stream's end, is already received.
// It is a hint for callers that write events on, so that events arriving
// together can leave in one write (flush only when Buffered is false);
// false means Next may wait. A stream built by [NewStream] answers false
// unless [Stream.WithBuffered] gave it the hint; after its end it answers
// false.
func (s *Stream) Buffered() bool {
	return !s.done && s.buffered != nil && s.buffered()
}

// WithBuffered sets the function [Stream.Buffered] asks and returns s.
// Adapters pass their decoder's view; a wrapper built with [NewStream]
// over another stream that hands its events on one for one passes the
// inner stream's Buffered. It must be called before the stream is used.
func (s *Stream) WithBuffered(f func() bool) *Stream {
	s.buffered = f
	return s
}

// Current returns the event Next advanced to.
func (s *Stream) Current() Event { return s.cur }

// Err returns the error that ended the stream, or nil after a clean end.
func (s *Stream) Err() error { return s.err }

// Close releases the stream.
func (s *Stream) Close() error {
	s.closeOnce.Do(func() {
		if s.close != nil {
			s.closeErr = s.close()
		}
	})
	return s.closeErr
}

// Collect reads s to the end, closes it, and returns the accumulated
// [Response]. On a stream error it returns the partial response and the
// error.
func Collect(s *Stream) (*Response, error) {
	defer func() { _ = s.Close() }()
	var acc Accumulator
	for s.Next() {
		acc.Add(s.Current())
	}
	return acc.Response(), s.Err()
}
