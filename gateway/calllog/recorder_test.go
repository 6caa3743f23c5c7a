package calllog_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portico-dev/portico/gateway/calllog"
)

func flush(t *testing.T, r *calllog.Recorder) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := r.Flush(ctx); err != nil {
		t.Fatalf("Flush: %v", err)
	}
}

func closeRecorder(t *testing.T, r *calllog.Recorder) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := r.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

func TestRecorderHandsEveryRecordToEverySinkInOrder(t *testing.T) {
	t.Parallel()
	a, b := calllog.NewRing(1000), calllog.NewRing(1000)
	rec := calllog.NewRecorder(calllog.RecorderConfig{Sinks: []calllog.Sink{a, b}, Batch: 7})
	defer closeRecorder(t, rec)
	for i := range 500 {
		if !rec.Record(&calllog.Record{Status: 200, Retries: i}) {
			t.Fatalf("record %d dropped with an empty queue", i)
		}
	}
	flush(t, rec)
	for _, ring := range []*calllog.Ring{a, b} {
		got := ring.Query(calllog.Filter{Limit: 1000})
		if len(got) != 500 {
			t.Fatalf("sink holds %d records, want 500", len(got))
		}
		for i, r := range got {
			if r.Retries != 499-i {
				t.Fatalf("record %d has Retries %d, want %d (newest first)", i, r.Retries, 499-i)
			}
		}
	}
	if got, want := rec.Written(), uint64(500); got != want {
		t.Errorf("Written = %d, want %d", got, want)
	}
	if got, want := rec.Dropped(), uint64(0); got != want {
		t.Errorf("Dropped = %d, want %d", got, want)
	}
}

func TestRecorderNeverBlocksAndCountsDropsWhenTheSinkIsStuck(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	stuck := calllog.SinkFunc(func(context.Context, []calllog.Record) error { <-release; return nil })
	rec := calllog.NewRecorder(calllog.RecorderConfig{Sinks: []calllog.Sink{stuck}, Buffer: 10, Batch: 1})
	done := make(chan int)
	go func() {
		accepted := 0
		for range 1000 {
			if rec.Record(&calllog.Record{Status: 200}) {
				accepted++
			}
		}
		done <- accepted
	}()
	var accepted int
	select {
	case accepted = <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("Record blocked while the sink was stuck")
	}
	// One record may be held by the stuck sink, ten in the queue.
	if accepted > 11 {
		t.Errorf("accepted %d, want at most 11", accepted)
	}
	if got, want := rec.Dropped(), uint64(1000-accepted); got != want {
		t.Errorf("Dropped = %d, want the %d not accepted", got, want)
	}
	close(release)
	closeRecorder(t, rec)
	if rec.Record(&calllog.Record{}) {
		t.Error("Record accepted a record after Close")
	}
}

func TestRecorderLogsSinkErrorsAndKeepsGoing(t *testing.T) {
	t.Parallel()
	var logs syncBuffer
	ring := calllog.NewRing(10)
	failing := calllog.SinkFunc(func(context.Context, []calllog.Record) error { return errors.New("disk full") })
	rec := calllog.NewRecorder(calllog.RecorderConfig{
		Sinks:  []calllog.Sink{failing, ring},
		Logger: slog.New(slog.NewJSONHandler(&logs, nil)),
	})
	defer closeRecorder(t, rec)
	rec.Record(&calllog.Record{Status: 201})
	flush(t, rec)
	if ring.Len() != 1 {
		t.Errorf("the healthy sink got %d records, want 1", ring.Len())
	}
	if !strings.Contains(logs.String(), "disk full") {
		t.Errorf("sink error not logged: %q", logs.String())
	}
}

func TestCloseWritesWhatIsQueued(t *testing.T) {
	t.Parallel()
	ring := calllog.NewRing(100)
	rec := calllog.NewRecorder(calllog.RecorderConfig{Sinks: []calllog.Sink{ring}})
	for range 50 {
		rec.Record(&calllog.Record{})
	}
	closeRecorder(t, rec)
	if ring.Len() != 50 {
		t.Errorf("after Close the sink holds %d records, want 50", ring.Len())
	}
	flush(t, rec) // Flush after Close returns at once
}

func TestSlogSinkWritesOneLinePerCallWithItsFields(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	sink := calllog.Slog(slog.New(slog.NewJSONHandler(&buf, nil)))
	err := sink.Write(context.Background(), []calllog.Record{
		{
			Tenant:    "acme",
			Consumer:  "billing",
			API:       "orders",
			Route:     "/orders/{id}",
			Method:    "GET",
			Status:    200,
			RequestID: "r1",
		},
		{
			Tenant:       "acme",
			Status:       502,
			Error:        "upstream",
			Upstream:     "10.0.0.1:80",
			Retries:      2,
			Model:        "gpt",
			InputTokens:  3,
			OutputTokens: 4,
			RequestID:    "r2",
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("got %d lines, want 2: %s", len(lines), buf.String())
	}
	var first, second map[string]any
	_ = json.Unmarshal([]byte(lines[0]), &first)
	_ = json.Unmarshal([]byte(lines[1]), &second)
	for key, want := range map[string]any{"tenant": "acme", "route": "/orders/{id}", "level": "INFO", "request_id": "r1"} {
		if got := first[key]; got != want {
			t.Errorf("first line %s = %v, want %v", key, got, want)
		}
	}
	for key, want := range map[string]any{"level": "WARN", "error": "upstream", "retries": 2.0, "output_tokens": 4.0} {
		if got := second[key]; got != want {
			t.Errorf("second line %s = %v, want %v", key, got, want)
		}
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
