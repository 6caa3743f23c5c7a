package ai

import (
	"errors"
	"strings"
	"testing"

	"github.com/portico-dev/portico/aiclient"
	"github.com/portico-dev/portico/internal/sse"
)

// failingWriter accepts ok writes, then fails every write, recording
// what it was asked to write.
type failingWriter struct {
	ok     int
	writes []string
}

func (f *failingWriter) Write(p []byte) (int, error) {
	f.writes = append(f.writes, string(p))
	if len(f.writes) > f.ok {
		return 0, errors.New("client gone")
	}
	return len(p), nil
}

// Before the stream encoder became a type, a failed content_block_start
// left only the switch, not the loop; the loop's condition then caught the
// error. Now the error returns at once: nothing more is written.
func TestMessageStreamStopsWritingWhenOpeningABlockFails(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		ev   aiclient.Event
	}{
		{"text", aiclient.Event{Type: aiclient.EventText, Text: "hello"}},
		{"reasoning", aiclient.Event{Type: aiclient.EventReasoning, Text: "hmm", Signature: "sig"}},
		{"tool call", aiclient.Event{Type: aiclient.EventToolCall, ToolCall: aiclient.ToolCallDelta{ID: "t1", Name: "f", Arguments: "{}"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fw := &failingWriter{ok: 1} // message_start goes out; content_block_start fails
			m := &messageWriter{
				enc:       sse.NewEncoder(fw),
				req:       &aiclient.Request{Model: "m"},
				block:     -1,
				toolBlock: -1,
			}
			if err := m.event(tc.ev); err == nil {
				t.Fatal("event returned nil after a failed write, want the error")
			}
			if got, want := len(fw.writes), 2; got != want {
				t.Fatalf("writes = %d, want %d (message_start, then the failed content_block_start): %q", got, want, fw.writes)
			}
			if got := fw.writes[1]; !strings.Contains(got, "content_block_start") {
				t.Errorf("last write = %q, want the content_block_start", got)
			}
		})
	}
}

func TestMessageStreamWritesBlocksInOrder(t *testing.T) {
	t.Parallel()
	fw := &failingWriter{ok: 100}
	m := &messageWriter{
		enc:       sse.NewEncoder(fw),
		req:       &aiclient.Request{Model: "m"},
		block:     -1,
		toolBlock: -1,
		finish:    aiclient.FinishStop,
	}
	for _, ev := range []aiclient.Event{
		{Type: aiclient.EventStart, ID: "msg_1", Model: "claude"},
		{Type: aiclient.EventText, Text: "hi"},
		{Type: aiclient.EventToolCall, ToolCall: aiclient.ToolCallDelta{ID: "t1", Name: "f", Arguments: "{}"}},
	} {
		m.acc.Add(ev)
		if err := m.event(ev); err != nil {
			t.Fatalf("event(%s): %v", ev.Type, err)
		}
	}
	if err := m.end(aiclient.Usage{}); err != nil {
		t.Fatalf("end: %v", err)
	}
	var types []string
	for _, w := range fw.writes {
		typ, _, _ := strings.Cut(strings.TrimPrefix(w, "event: "), "\n")
		types = append(types, typ)
	}
	want := "message_start content_block_start content_block_delta content_block_stop content_block_start content_block_delta content_block_stop message_delta message_stop"
	if got := strings.Join(types, " "); got != want {
		t.Errorf("events = %s, want %s", got, want)
	}
}
