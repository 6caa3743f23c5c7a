package resilience_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/resilience"
)

func TestWiringMistakesPanic(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		wire func()
	}{
		{name: "a policy given twice panics", wire: func() {
			resilience.NewTransport(nil, resilience.Timeout(time.Second), resilience.Timeout(time.Minute))
		}},
		{name: "retry with hedge panics", wire: func() {
			resilience.NewTransport(nil, resilience.Retry(resilience.RetryConfig{}), resilience.Hedge(resilience.HedgeConfig{Delay: time.Second}))
		}},
		{name: "a bulkhead without a size panics", wire: func() { resilience.Bulkhead(resilience.BulkheadConfig{}) }},
		{name: "a zero timeout panics", wire: func() { resilience.Timeout(0) }},
		{name: "a failure rate above one panics", wire: func() { resilience.CircuitBreaker(resilience.BreakerConfig{FailureRate: 2}) }},
		{name: "a fallback with nothing to answer panics", wire: func() { resilience.Fallback(resilience.FallbackConfig{}) }},
		{name: "a hedge without a delay panics", wire: func() { resilience.Hedge(resilience.HedgeConfig{}) }},
		{name: "a per-key admission limit without a key panics", wire: func() {
			resilience.Middleware(resilience.AdmissionConfig{PerKey: 3})
		}},
		{name: "load shedding without a limit panics", wire: func() {
			resilience.Middleware(resilience.AdmissionConfig{ShedAt: 0.8, Critical: func(*http.Request) bool { return true }})
		}},
		{name: "adaptive limits out of order panic", wire: func() {
			resilience.Middleware(resilience.AdmissionConfig{Adaptive: &resilience.AdaptiveConfig{MinLimit: 10, MaxLimit: 5}})
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			defer func() {
				msg, _ := recover().(string)
				if !strings.HasPrefix(msg, "portico/resilience: ") {
					t.Fatalf("recovered %q, want a portico/resilience panic", msg)
				}
			}()
			tt.wire()
		})
	}
}

func TestNilNextUsesTheDefaultTransport(t *testing.T) {
	t.Parallel()
	u := newUpstream(t, status(http.StatusAccepted))
	resp, err := do(t, resilience.NewTransport(nil, nil), http.MethodGet, u.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	readAll(t, resp)
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("status = %d", resp.StatusCode)
	}
}

func TestMiddlewareKeepsTheResponseWriterFlushable(t *testing.T) {
	t.Parallel()
	srv := admissionServer(t, resilience.AdmissionConfig{MaxConcurrent: 10}, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.Write([]byte("data: hi\n\n"))
		if err := http.NewResponseController(w).Flush(); err != nil {
			t.Errorf("flush through the middleware: %v", err)
		}
	})
	resp, err := srv.Client().Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, resp); got != "data: hi\n\n" {
		t.Fatalf("body = %q", got)
	}
}
