package resilience_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"go.opentelemetry.io/otel/metric/noop"

	"github.com/portico-dev/portico/resilience"
)

// TestARoundTripAllocatesWithinItsCount guards the cost of the policies
// per request: each row's count is what a successful round trip allocates
// (the in-memory upstream's response included), with a margin of two.
// Running every call through failsafe.Executor once took retry, breaker,
// bulkhead and timeout together from 11 allocations to 33. It does not
// run in parallel: allocations are counted for the whole process.
func TestARoundTripAllocatesWithinItsCount(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector changes what allocates")
	}
	tests := []struct {
		name     string
		policies []resilience.Option
		max      float64
	}{
		{"without policies", nil, 1 + 2},
		{"with a retry", []resilience.Option{resilience.Retry(resilience.RetryConfig{})}, 3 + 2},
		{"with a breaker", []resilience.Option{resilience.CircuitBreaker(resilience.BreakerConfig{})}, 3 + 2},
		{"with a bulkhead", []resilience.Option{resilience.Bulkhead(resilience.BulkheadConfig{MaxConcurrent: 4})}, 4 + 2},
		{"with a timeout", []resilience.Option{resilience.Timeout(time.Hour)}, 11 + 2},
		{"with a retry, a breaker, a bulkhead and a timeout", []resilience.Option{
			resilience.Retry(resilience.RetryConfig{}),
			resilience.CircuitBreaker(resilience.BreakerConfig{}),
			resilience.Bulkhead(resilience.BulkheadConfig{MaxConcurrent: 4}),
			resilience.Timeout(time.Hour),
		}, 11 + 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := resilience.NewTransport(canned{}, append(tt.policies, resilience.WithMeterProvider(noop.NewMeterProvider()))...)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://upstream.test/", nil)
			allocs := testing.AllocsPerRun(100, func() {
				resp, err := tr.RoundTrip(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
			})
			if allocs > tt.max {
				t.Errorf("a round trip allocates %v times, want at most %v", allocs, tt.max)
			}
		})
	}
}
