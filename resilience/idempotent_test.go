package resilience_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portico-dev/portico/resilience"
)

// failOnce starts a server that answers 503 to its first request and
// "ok" to the others, and counts them.
func failOnce(t *testing.T) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if calls.Add(1) == 1 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ok"))
	}))
	t.Cleanup(srv.Close)
	return srv, &calls
}

// roundTrip sends one request with a body through policies to srv and
// returns the status and body of the answer.
func roundTrip(t *testing.T, srv *httptest.Server, req *http.Request, policies ...resilience.Option) (int, string) {
	t.Helper()
	next := http.DefaultTransport.(*http.Transport).Clone()
	t.Cleanup(next.CloseIdleConnections)
	resp, err := resilience.NewTransport(next, policies...).RoundTrip(req)
	if err != nil {
		t.Fatalf("%s: %v", req.Method, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Errorf("%s: reading the body: %v", req.Method, err)
	}
	return resp.StatusCode, string(body)
}

func TestRetryRepeatsAPOSTMarkedIdempotent(t *testing.T) {
	t.Parallel()
	for _, marked := range []bool{false, true} {
		srv, calls := failOnce(t)
		req, _ := http.NewRequest(http.MethodPost, srv.URL, strings.NewReader("x"))
		if marked {
			req = req.WithContext(resilience.WithIdempotent(req.Context()))
		}
		status, _ := roundTrip(t, srv, req, resilience.Retry(resilience.RetryConfig{BaseDelay: time.Millisecond}))
		want, wantCalls := http.StatusServiceUnavailable, int32(1)
		if marked {
			want, wantCalls = http.StatusOK, 2
		}
		if got := status; got != want {
			t.Errorf("marked=%v: status %d, want %d", marked, got, want)
		}
		if got := calls.Load(); got != wantCalls {
			t.Errorf("marked=%v: %d calls, want %d", marked, got, wantCalls)
		}
	}
}

// TestRetryUnderAnOverallTimeoutIsNotCanceledByTheDiscardedAttempt is the
// regression test of a retry that failed with "context canceled": the
// first attempt's response, discarded for the retry, ended the overall
// timeout's context that the retry runs in.
func TestRetryUnderAnOverallTimeoutIsNotCanceledByTheDiscardedAttempt(t *testing.T) {
	t.Parallel()
	for _, method := range []string{http.MethodGet, http.MethodPut} {
		srv, calls := failOnce(t)
		req, _ := http.NewRequest(method, srv.URL, strings.NewReader("x"))
		status, body := roundTrip(t, srv, req, resilience.OverallTimeout(time.Minute),
			resilience.Retry(resilience.RetryConfig{BaseDelay: time.Millisecond}))
		if got, want := status, http.StatusOK; got != want {
			t.Errorf("%s: status %d, want %d", method, got, want)
		}
		if got, want := body, "ok"; got != want {
			t.Errorf("%s: body %q, want %q", method, got, want)
		}
		if got, want := calls.Load(), int32(2); got != want {
			t.Errorf("%s: %d calls, want %d", method, got, want)
		}
	}
}
