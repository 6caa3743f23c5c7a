package wire_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/portico-dev/portico/aiclient"
	"github.com/portico-dev/portico/aiclient/internal/wire"
	"github.com/portico-dev/portico/resilience"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestTransportFailuresBecomeRetryableErrors(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now: the connection is refused
	c := &wire.Common{Provider: "openai", APIKey: "sk-abcdef", Custom: true}
	c.Build()
	_, err = c.Do(context.Background(), http.MethodPost, "http://"+addr+"/v1/chat", []byte(`{}`), nil, "gpt", nil)
	var e *aiclient.Error
	if !errors.As(err, &e) {
		t.Fatalf("got %v, want an *aiclient.Error", err)
	}
	if got, want := e.Kind, aiclient.KindServer; got != want {
		t.Errorf("Kind = %s, want %s", got, want)
	}
	if got, want := e.Code, "transport"; got != want {
		t.Errorf("Code = %q, want %q", got, want)
	}
	if got, want := e.Model, "gpt"; got != want {
		t.Errorf("Model = %q, want %q", got, want)
	}
	if !e.Retryable {
		t.Error("Retryable = false, want true")
	}
}

func TestACanceledContextIsReturnedAsIs(t *testing.T) {
	t.Parallel()
	c := &wire.Common{Provider: "openai"}
	c.Build()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := c.Do(ctx, http.MethodGet, "http://127.0.0.1:1/", nil, nil, "m", nil)
	var e *aiclient.Error
	if !errors.Is(err, context.Canceled) {
		t.Errorf("got %v, want context.Canceled", err)
	}
	if errors.As(err, &e) {
		t.Errorf("got %v, want no *aiclient.Error", err)
	}
}

func TestRedactRemovesTheKey(t *testing.T) {
	t.Parallel()
	c := &wire.Common{APIKey: "sk-live-123456"}
	if got, want := c.Redact("bad key sk-live-123456 given"), "bad key [redacted] given"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func TestStreamErrorIsARetryableInterruption(t *testing.T) {
	t.Parallel()
	e := wire.StreamError("anthropic", "claude", nil)
	if got, want := e.Status, http.StatusOK; got != want {
		t.Errorf("Status = %d, want %d", got, want)
	}
	if got, want := e.Code, "stream_interrupted"; got != want {
		t.Errorf("Code = %q, want %q", got, want)
	}
	if !e.Retryable {
		t.Error("Retryable = false, want true")
	}
	if e.Err == nil {
		t.Error("Err = nil, want the cause")
	}
}

func TestProviderSpecificHintsDriveTheRetryPolicy(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			w.Header().Set("x-ratelimit-remaining-requests", "0")
			w.Header().Set("x-ratelimit-reset-requests", "25ms")
			w.WriteHeader(http.StatusTooManyRequests)
			w.Write([]byte(`{"error":{"message":"slow down"}}`))
			return
		}
		w.Write([]byte(`{}`))
	}))
	defer srv.Close()
	var delays []time.Duration
	c := &wire.Common{Provider: "openai", Custom: true, Policies: []resilience.Policy{resilience.Retry(resilience.RetryConfig{
		MaxAttempts: 2, RetryNonIdempotent: true,
		OnRetry: func(ev resilience.RetryEvent) { delays = append(delays, ev.Delay) },
	})}}
	c.Build()
	res, err := c.Do(context.Background(), http.MethodPost, srv.URL, []byte(`{}`), nil, "m", func(*http.Response, []byte) *aiclient.Error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if got, want := delays, []time.Duration{25 * time.Millisecond}; !slices.Equal(got, want) {
		t.Errorf("delays %v, want one retry after the 25ms reset: %v", got, want)
	}
	if got, want := calls.Load(), int32(2); got != want {
		t.Errorf("%d calls, want %d", got, want)
	}
}

func TestABodyHintIsReadWithoutLosingTheBody(t *testing.T) {
	t.Parallel()
	body := `{"error":{"retry":"40ms"}}`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusTooManyRequests)
		w.Write([]byte(body))
	}))
	defer srv.Close()
	c := &wire.Common{Provider: "gcp.gemini", Custom: true, BodyHint: func(b []byte) time.Duration {
		if strings.Contains(string(b), "40ms") {
			return 40 * time.Millisecond
		}
		return 0
	}}
	c.Build()
	var seen string
	_, err := c.Do(context.Background(), http.MethodPost, srv.URL, []byte(`{}`), nil, "m", func(res *http.Response, b []byte) *aiclient.Error {
		seen = string(b)
		return &aiclient.Error{Message: "limited"}
	})
	var e *aiclient.Error
	if !errors.As(err, &e) {
		t.Fatalf("got %v, want an *aiclient.Error", err)
	}
	if got, want := e.RetryAfter, 40*time.Millisecond; got != want {
		t.Errorf("RetryAfter = %v, want %v", got, want)
	}
	if got, want := seen, body; got != want {
		t.Errorf("body seen %q, want %q", got, want)
	}
}

// TestAQueueTakenAsItIsFilledDoesNotGrow checks that a queue whose events
// are taken one by one as they are pushed, as a stream read ahead of each
// event (Buffered) is, reuses its array rather than growing with the
// stream.
func TestAQueueTakenAsItIsFilledDoesNotGrow(t *testing.T) {
	var q wire.Queue
	ev := aiclient.Event{Type: aiclient.EventText, Text: "a"}
	q.Push(ev)
	q.Pop()
	allocs := testing.AllocsPerRun(5, func() {
		for range 1000 {
			q.Push(ev)
			if _, ok := q.Pop(); !ok {
				t.Fatal("the queue lost an event")
			}
		}
	})
	if got, want := allocs, 0.0; got != want {
		t.Errorf("%v allocations for 1000 events, want %v", got, want)
	}
}
