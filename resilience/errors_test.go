package resilience_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/failsafe-go/failsafe-go/budget"
	"github.com/failsafe-go/failsafe-go/bulkhead"
	"github.com/failsafe-go/failsafe-go/circuitbreaker"
	"github.com/failsafe-go/failsafe-go/retrypolicy"
	"github.com/failsafe-go/failsafe-go/timeout"

	"github.com/portico-dev/portico/resilience"
)

func TestHTTPStatus(t *testing.T) {
	t.Parallel()
	dialErr := &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", errors.New("connection refused"))}
	tests := []struct {
		name string
		err  error
		want int
	}{
		{name: "no error is 200", err: nil, want: 200},
		{name: "an open circuit is 503", err: &resilience.Error{Kind: resilience.ErrCircuitOpen}, want: 503},
		{name: "a full bulkhead is 503", err: &resilience.Error{Kind: resilience.ErrBulkheadFull}, want: 503},
		{name: "a full admission limit is 503", err: &resilience.Error{Kind: resilience.ErrLimitExceeded}, want: 503},
		{name: "a shed request is 503", err: &resilience.Error{Kind: resilience.ErrShed}, want: 503},
		{name: "a policy timeout is 504", err: &resilience.Error{Kind: resilience.ErrTimeout, Err: context.Canceled}, want: 504},
		{name: "a deadline is 504", err: fmt.Errorf("get: %w", context.DeadlineExceeded), want: 504},
		{name: "a network timeout is 504", err: &net.OpError{Op: "read", Err: timeoutErr{}}, want: 504},
		{name: "a caller cancellation is 499", err: context.Canceled, want: 499},
		{name: "a refused connection is 502", err: dialErr, want: 502},
		{name: "an unexpected EOF is 502", err: io.ErrUnexpectedEOF, want: 502},
		{name: "exhausted retries take their cause's status",
			err: &resilience.Error{Kind: resilience.ErrRetriesExceeded, Err: &resilience.Error{Kind: resilience.ErrTimeout}}, want: 504},
		{name: "an exhausted budget over a refused connection is 502",
			err: &resilience.Error{Kind: resilience.ErrBudgetExhausted, Err: dialErr}, want: 502},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := resilience.HTTPStatus(tt.err); got != tt.want {
				t.Fatalf("HTTPStatus(%v) = %d, want %d", tt.err, got, tt.want)
			}
		})
	}
}

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

func TestErrorMatchesItsSentinelAndUnwrapsToTheCause(t *testing.T) {
	t.Parallel()
	cause := io.ErrUnexpectedEOF
	err := fmt.Errorf("proxy: %w", &resilience.Error{Kind: resilience.ErrRetriesExceeded, Attempts: 3,
		Err: &resilience.Error{
			Kind:       resilience.ErrCircuitOpen,
			Key:        "api:80",
			RetryAfter: 7 * time.Second,
			Err:        cause,
		}})
	for _, target := range []error{resilience.ErrRetriesExceeded, resilience.ErrCircuitOpen, cause} {
		if !errors.Is(err, target) {
			t.Fatalf("errors.Is(%v, %v) = false", err, target)
		}
	}
	if errors.Is(err, resilience.ErrBulkheadFull) {
		t.Fatal("matched a sentinel it does not carry")
	}
	wantRetryAfter(t, err, 7*time.Second) // from the wrapped breaker error
	if _, ok := resilience.RetryAfter(cause); ok {
		t.Fatal("RetryAfter found a hint in a plain error")
	}
	want := "portico/resilience: retries exceeded: portico/resilience: circuit breaker open for api:80: unexpected EOF"
	if got := errors.Unwrap(err).Error(); got != want {
		t.Fatalf("message = %q, want %q", got, want)
	}
}

func TestARefusedConnectionIsRecognisedAsNeverSent(t *testing.T) {
	t.Parallel()
	// A closed port: the dial fails, so even a POST is retried (and fails
	// again), while a reset after the request was written is not.
	addr := closedAddr(t)
	var attempts int
	tr := resilience.NewTransport(newBase(t), fastRetry(resilience.RetryConfig{
		MaxAttempts: 3, OnRetry: func(e resilience.RetryEvent) {
			attempts = e.Attempt
			var oe *net.OpError
			if !errors.As(e.Err, &oe) {
				t.Errorf("retried error %v is not a *net.OpError", e.Err)
			} else if got, want := oe.Op, "dial"; got != want {
				t.Errorf("retried error op = %q, want %q", got, want)
			}
		},
	}))
	_, err := do(t, tr, http.MethodPost, "http://"+addr+"/orders", nil)
	if !errors.Is(err, resilience.ErrRetriesExceeded) {
		t.Errorf("err = %v, want ErrRetriesExceeded", err)
	}
	if got, want := attempts, 2; got != want {
		t.Errorf("last retry attempt = %d, want %d", got, want)
	}
}

func TestPolicyErrorsMatchFailsafeGosSentinels(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		kind     error
		failsafe error
		status   int
	}{
		{
			name:     "an open circuit matches circuitbreaker.ErrOpen",
			kind:     resilience.ErrCircuitOpen,
			failsafe: circuitbreaker.ErrOpen,
			status:   503,
		},
		{
			name:     "a full bulkhead matches bulkhead.ErrFull",
			kind:     resilience.ErrBulkheadFull,
			failsafe: bulkhead.ErrFull,
			status:   503,
		},
		{
			name:     "a timeout matches timeout.ErrExceeded",
			kind:     resilience.ErrTimeout,
			failsafe: timeout.ErrExceeded,
			status:   504,
		},
		{
			name:     "exhausted retries match retrypolicy.ErrExceeded",
			kind:     resilience.ErrRetriesExceeded,
			failsafe: retrypolicy.ErrExceeded,
			status:   502,
		},
		{
			name:     "an exhausted budget matches budget.ErrExceeded",
			kind:     resilience.ErrBudgetExhausted,
			failsafe: budget.ErrExceeded,
			status:   502,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if err := (&resilience.Error{Kind: tt.kind}); !errors.Is(err, tt.failsafe) {
				t.Errorf("errors.Is(%v, %v) = false", err, tt.failsafe)
			}
			if got := resilience.HTTPStatus(fmt.Errorf("upstream: %w", tt.failsafe)); got != tt.status {
				t.Errorf("HTTPStatus(%v) = %d, want %d", tt.failsafe, got, tt.status)
			}
		})
	}
}
