package resilience_test

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/resilience"
)

// lateBody is a body that fails (or not) once read to its end.
type lateBody struct {
	io.Reader
	failed bool
}

func (b *lateBody) Close() error { return nil }
func (b *lateBody) Failed() bool { return b.failed }

// lateTransport answers 200 with a lateBody that fails as failed says.
func lateTransport(failed *bool) http.RoundTripper {
	return roundTripFunc(func(r *http.Request) (*http.Response, error) {
		return &http.Response{
			StatusCode: http.StatusOK,
			Header:     http.Header{},
			Request:    r,
			Body:       &lateBody{Reader: strings.NewReader("messages"), failed: *failed},
		}, nil
	})
}

func TestALateOutcomeCountsInTheBreakerWhenTheBodyEnds(t *testing.T) {
	t.Parallel()
	failed := true
	tr := resilience.NewTransport(lateTransport(&failed),
		resilience.CircuitBreaker(resilience.BreakerConfig{ConsecutiveFailures: 2, OpenFor: time.Hour}))
	call := func(readAll bool) error {
		req, _ := http.NewRequest(http.MethodGet, "http://late.test/", nil)
		resp, err := tr.RoundTrip(req)
		if err != nil {
			return err
		}
		if readAll {
			_, _ = io.Copy(io.Discard, resp.Body)
		}
		return resp.Body.Close()
	}
	// Closed before their end, failing bodies say nothing.
	for range 3 {
		if err := call(false); err != nil {
			t.Fatalf("closed early: %v", err)
		}
	}
	if got, want := tr.Breakers()[0].State, resilience.StateClosed; got != want {
		t.Fatalf("after bodies closed early: %v, want %v", got, want)
	}
	// A success read to its end breaks a failure series.
	for _, f := range []bool{true, false, true} {
		failed = f
		if err := call(true); err != nil {
			t.Fatalf("read to the end: %v", err)
		}
	}
	if got, want := tr.Breakers()[0].State, resilience.StateClosed; got != want {
		t.Fatalf("after failure, success, failure: %v, want %v", got, want)
	}
	failed = true
	if err := call(true); err != nil {
		t.Fatalf("second failure in a row: %v", err)
	}
	if got, want := tr.Breakers()[0].State, resilience.StateOpen; got != want {
		t.Errorf("after two failures in a row: %v, want %v", got, want)
	}
	if err := call(true); !errors.Is(err, resilience.ErrCircuitOpen) {
		t.Errorf("with the breaker open: %v, want ErrCircuitOpen", err)
	}
}
