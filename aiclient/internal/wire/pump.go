package wire

import (
	"io"

	"github.com/portico-dev/portico/aiclient"
)

// Pump is the event queue of a stream decoder that reads its wire events
// one at a time: step reads one wire event and pushes what it means (none,
// one or several neutral events), or sets Done at the stream's end marker.
type Pump struct {
	Queue
	// Done marks the stream's clean end: once the queue is empty, Next
	// returns io.EOF.
	Done bool
	err  error
}

// Next returns the first queued event, calling step until one is queued,
// the stream is done, or step fails.
func (p *Pump) Next(step func() error) (aiclient.Event, error) {
	for {
		if ev, ok := p.Pop(); ok {
			return ev, nil
		}
		if p.err != nil {
			return aiclient.Event{}, p.err
		}
		if p.Done {
			return aiclient.Event{}, io.EOF
		}
		if err := step(); err != nil {
			return aiclient.Event{}, err
		}
	}
}

// Buffered reports whether Next would return without reading from the
// network: an event is queued or the stream's end or error is known. While
// not, and while whole wire events are buffered (wireBuffered), it steps
// through them, so that wire events that mean nothing to the caller (a
// keep-alive, an empty delta) never make it wait.
func (p *Pump) Buffered(step func() error, wireBuffered func() bool) bool {
	for {
		if p.Len() > 0 || p.Done || p.err != nil {
			return true
		}
		if !wireBuffered() {
			return false
		}
		if err := step(); err != nil {
			p.err = err
			return true
		}
	}
}
