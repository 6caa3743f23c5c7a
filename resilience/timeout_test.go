package resilience_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portico-dev/portico/resilience"
)

func TestTimeouts(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		policies []resilience.Option
		deadline time.Duration
		wantErr  error
	}{
		{name: "a per-attempt timeout fails a hanging attempt with ErrTimeout",
			policies: []resilience.Option{resilience.Timeout(30 * time.Millisecond)}, wantErr: resilience.ErrTimeout},
		{
			name:     "the caller's deadline wins over a longer timeout",
			policies: []resilience.Option{resilience.Timeout(time.Hour)},
			deadline: 30 * time.Millisecond,
			wantErr:  context.DeadlineExceeded,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			u := newUpstream(t, hang)
			tr := resilience.NewTransport(newBase(t), tt.policies...)
			ctx := context.Background()
			if tt.deadline > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.deadline)
				defer cancel()
			}
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u.URL, nil)
			_, err := tr.RoundTrip(req)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if resilience.HTTPStatus(err) != http.StatusGatewayTimeout {
				t.Fatalf("HTTPStatus = %d, want 504", resilience.HTTPStatus(err))
			}
			if u.hits.Load() > 1 {
				t.Fatalf("upstream saw %d attempts without a retry policy", u.hits.Load())
			}
		})
	}
}

func TestOverallTimeoutBoundsEveryRetry(t *testing.T) {
	t.Parallel()
	// The first attempt fails at once, so that a retry comes before the
	// overall timeout however late a loaded machine fires the timers (a
	// 30ms per-attempt timer and a 1s overall one may fire together); the
	// later attempts hang until a timeout cuts them.
	u := newUpstream(t, func(n int64, w http.ResponseWriter, r *http.Request) {
		if n == 1 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		hang(n, w, r)
	})
	var retries atomic.Int64
	tr := resilience.NewTransport(newBase(t),
		resilience.OverallTimeout(time.Second),
		resilience.Timeout(30*time.Millisecond),
		fastRetry(resilience.RetryConfig{MaxAttempts: 1_000_000, OnRetry: func(resilience.RetryEvent) { retries.Add(1) }}))
	_, err := do(t, tr, http.MethodGet, u.URL, nil)
	if !errors.Is(err, resilience.ErrTimeout) {
		t.Fatalf("err = %v, want ErrTimeout", err)
	}
	if got, want := resilience.HTTPStatus(err), http.StatusGatewayTimeout; got != want {
		t.Errorf("HTTPStatus = %d, want %d", got, want)
	}
	if retries.Load() == 0 {
		t.Fatal("no retry before the overall timeout")
	}
}

func TestTimeoutDoesNotCutAStreamingBody(t *testing.T) {
	t.Parallel()
	proceed := make(chan struct{})
	var once sync.Once
	t.Cleanup(func() { once.Do(func() { close(proceed) }) })
	u := newUpstream(t, func(_ int64, w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "data: one\n\n")
		http.NewResponseController(w).Flush()
		select {
		case <-proceed:
		case <-r.Context().Done():
			return
		}
		io.WriteString(w, "data: two\n\n")
	})
	const limit = time.Second // generous for headers on a loaded machine
	tr := resilience.NewTransport(newBase(t), resilience.Timeout(limit), resilience.OverallTimeout(limit))
	resp, err := do(t, tr, http.MethodGet, u.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, len("data: one\n\n"))
	if _, err := io.ReadFull(resp.Body, buf); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * limit) // past both timeouts, mid-stream
	once.Do(func() { close(proceed) })
	if rest := readAll(t, resp); rest != "data: two\n\n" {
		t.Fatalf("rest of the stream = %q", rest)
	}
}

// roundTripFunc adapts a function to http.RoundTripper.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// A timer that fires as the headers arrive used to be seen before its
// function had recorded the cause, and the transport returned neither a
// response nor an error.
func TestATimeoutFiringAsHeadersArriveNeverReturnsNothing(t *testing.T) {
	t.Parallel()
	const timeout = 200 * time.Microsecond
	next := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		deadline := time.Now().Add(timeout)
		for time.Now().Before(deadline) {
			// Spin to return right when the timer fires.
		}
		return &http.Response{
			StatusCode: http.StatusOK,
			Body:       http.NoBody,
			Header:     http.Header{},
			Request:    r,
		}, nil
	})
	for _, policy := range []resilience.Option{resilience.Timeout(timeout), resilience.OverallTimeout(timeout)} {
		tr := resilience.NewTransport(next, policy)
		for range 300 {
			req, _ := http.NewRequest(http.MethodGet, "http://upstream.test/", nil)
			resp, err := tr.RoundTrip(req)
			if resp == nil && err == nil {
				t.Fatal("RoundTrip returned neither a response nor an error")
			}
			if err != nil && !errors.Is(err, resilience.ErrTimeout) {
				t.Fatalf("err = %v, want ErrTimeout", err)
			}
			if resp != nil {
				resp.Body.Close()
			}
		}
	}
}
