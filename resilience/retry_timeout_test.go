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

// TestRetryUnderAnOverallTimeoutIsNotCanceledByTheDiscardedAttempt is the
// regression test of a retry that failed with "context canceled": the
// first attempt's response, discarded for the retry, ended the overall
// timeout's context that the retry runs in.
func TestRetryUnderAnOverallTimeoutIsNotCanceledByTheDiscardedAttempt(t *testing.T) {
	t.Parallel()
	for _, method := range []string{http.MethodGet, http.MethodPut} {
		var calls atomic.Int32
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			if calls.Add(1) == 1 {
				w.WriteHeader(http.StatusServiceUnavailable)
				return
			}
			_, _ = w.Write([]byte("ok"))
		}))
		tr := resilience.NewTransport(http.DefaultTransport.(*http.Transport).Clone(),
			resilience.OverallTimeout(time.Minute),
			resilience.Retry(resilience.RetryConfig{BaseDelay: time.Millisecond}))
		req, _ := http.NewRequest(method, srv.URL, strings.NewReader("x"))
		resp, err := tr.RoundTrip(req)
		if err != nil {
			t.Fatalf("%s: %v", method, err)
		}
		body := new(strings.Builder)
		_, err = io.Copy(body, resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Errorf("%s: reading the body: %v", method, err)
		}
		if got, want := resp.StatusCode, http.StatusOK; got != want {
			t.Errorf("%s: status %d, want %d", method, got, want)
		}
		if got, want := body.String(), "ok"; got != want {
			t.Errorf("%s: body %q, want %q", method, got, want)
		}
		if got, want := calls.Load(), int32(2); got != want {
			t.Errorf("%s: %d calls, want %d", method, got, want)
		}
		tr.CloseIdleConnections()
		srv.Close()
	}
}
