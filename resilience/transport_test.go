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

func TestValidateNamesTheFieldAndTheFix(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  error
		want []string
	}{
		{name: "a negative attempt count names MaxAttempts",
			err: resilience.RetryConfig{MaxAttempts: -1}.Validate(), want: []string{"RetryConfig.MaxAttempts is -1", "use 0 for the default"}},
		{name: "a failure rate of 150% names FailureRate",
			err: resilience.BreakerConfig{FailureRate: 1.5}.Validate(), want: []string{"BreakerConfig.FailureRate is 1.5", "(0, 1]"}},
		{name: "a bulkhead of zero names MaxConcurrent",
			err: resilience.BulkheadConfig{}.Validate(), want: []string{"BulkheadConfig.MaxConcurrent is 0"}},
		{name: "every invalid field is reported",
			err:  resilience.HedgeConfig{Quantile: 2, MaxHedges: -1}.Validate(),
			want: []string{"HedgeConfig.Delay", "HedgeConfig.Quantile is 2", "HedgeConfig.MaxHedges is -1"}},
		{name: "an adaptive part is validated with its admission config",
			err:  resilience.AdmissionConfig{Adaptive: &resilience.AdaptiveConfig{MinLimit: 50}}.Validate(),
			want: []string{"min 50, initial 20, max 200", "MinLimit <= InitialLimit"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if tt.err == nil {
				t.Fatal("Validate accepted an invalid config")
			}
			for _, w := range tt.want {
				if !strings.Contains(tt.err.Error(), w) {
					t.Fatalf("error %q does not mention %q", tt.err, w)
				}
			}
		})
	}
	valid := []error{
		resilience.RetryConfig{}.Validate(), resilience.BreakerConfig{}.Validate(), resilience.HedgeConfig{Delay: 1}.Validate(),
		resilience.BulkheadConfig{MaxConcurrent: 1}.Validate(), resilience.FallbackConfig{Status: 200}.Validate(),
		resilience.BudgetConfig{}.Validate(), resilience.AdmissionConfig{}.Validate(), resilience.AdaptiveConfig{}.Validate(),
	}
	for i, err := range valid {
		if err != nil {
			t.Fatalf("default config %d rejected: %v", i, err)
		}
	}
}
