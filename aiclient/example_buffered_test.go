package aiclient_test

import (
	"fmt"
	"io"

	"github.com/portico-dev/portico/aiclient"
)

// A writer that passes a stream's events on flushes only when the next
// event has not arrived yet: three events that arrived together leave in
// one flush.
func ExampleStream_Buffered() {
	arrived := []aiclient.Event{
		{Type: aiclient.EventText, Text: "Hello"},
		{Type: aiclient.EventText, Text: ", world"},
		{Type: aiclient.EventFinish, FinishReason: aiclient.FinishStop},
	}
	s := aiclient.NewStream(func() (aiclient.Event, error) {
		if len(arrived) == 0 {
			return aiclient.Event{}, io.EOF
		}
		ev := arrived[0]
		arrived = arrived[1:]
		return ev, nil
	}, nil).WithBuffered(func() bool { return len(arrived) > 0 })
	defer s.Close()
	for s.Next() {
		fmt.Printf("write %s %q\n", s.Current().Type, s.Current().Text)
		if !s.Buffered() {
			fmt.Println("flush")
		}
	}
	// Output:
	// write text "Hello"
	// write text ", world"
	// write finish ""
	// flush
}
