package resilience_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"go.opentelemetry.io/otel/metric/noop"

	"github.com/portico-dev/portico/internal/cputime"
	"github.com/portico-dev/portico/resilience"
)

// BenchmarkTransport compares a bare http.Transport with the same
// transport behind retry, breaker, bulkhead and timeouts, over a healthy
// loopback upstream.
func BenchmarkTransport(b *testing.B) {
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		io.WriteString(w, "ok")
	}))
	defer upstream.Close()
	// As in a server, the caller's context can be cancelled.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	run := func(b *testing.B, rt http.RoundTripper) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, upstream.URL, nil)
		b.ReportAllocs()
		b.ResetTimer()
		b.Cleanup(cputime.PerOp(b))
		for b.Loop() {
			resp, err := rt.RoundTrip(req)
			if err != nil {
				b.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	}
	b.Run("bare", func(b *testing.B) {
		base := &http.Transport{}
		defer base.CloseIdleConnections()
		run(b, base)
	})
	b.Run("resilient", func(b *testing.B) {
		base := &http.Transport{}
		defer base.CloseIdleConnections()
		tr := resilience.NewTransport(base,
			resilience.WithMeterProvider(noop.NewMeterProvider()),
			resilience.Retry(resilience.RetryConfig{}),
			resilience.CircuitBreaker(resilience.BreakerConfig{}),
			resilience.Bulkhead(resilience.BulkheadConfig{MaxConcurrent: 64}),
			resilience.Timeout(5*time.Second),
		)
		run(b, tr)
	})
}

// canned answers without any network, to isolate the policies' cost.
type canned struct{}

func (canned) RoundTrip(req *http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: http.StatusOK, Body: http.NoBody, Request: req}, nil
}

// roundTrips sends GETs through rt until the benchmark ends, reporting
// allocations and process CPU per round trip.
func roundTrips(b *testing.B, rt http.RoundTripper) {
	b.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://upstream.test/", nil)
	b.ReportAllocs()
	b.Cleanup(cputime.PerOp(b))
	for b.Loop() {
		resp, err := rt.RoundTrip(req)
		if err != nil {
			b.Fatal(err)
		}
		resp.Body.Close()
	}
}

// BenchmarkPolicies measures what retry, breaker, bulkhead and timeouts
// add to a round trip, with the network taken out.
func BenchmarkPolicies(b *testing.B) {
	roundTrips(b, resilience.NewTransport(canned{},
		resilience.WithMeterProvider(noop.NewMeterProvider()),
		resilience.Retry(resilience.RetryConfig{}),
		resilience.CircuitBreaker(resilience.BreakerConfig{}),
		resilience.Bulkhead(resilience.BulkheadConfig{MaxConcurrent: 64}),
		resilience.Timeout(5*time.Second),
	))
}

// BenchmarkPolicy measures each policy on its own, and the route policies
// of a gateway (an overall timeout, retries with a per-attempt timeout,
// a breaker), with the network taken out.
func BenchmarkPolicy(b *testing.B) {
	for _, c := range []struct {
		name     string
		policies []resilience.Option
	}{
		{"none", nil},
		{"retry", []resilience.Option{resilience.Retry(resilience.RetryConfig{})}},
		{"breaker", []resilience.Option{resilience.CircuitBreaker(resilience.BreakerConfig{})}},
		{"bulkhead", []resilience.Option{resilience.Bulkhead(resilience.BulkheadConfig{MaxConcurrent: 64})}},
		{"timeout", []resilience.Option{resilience.Timeout(5 * time.Second)}},
		{"overall", []resilience.Option{resilience.OverallTimeout(5 * time.Second)}},
		{"hedge", []resilience.Option{resilience.Hedge(resilience.HedgeConfig{Delay: time.Second})}},
		{"fallback", []resilience.Option{resilience.Fallback(resilience.FallbackConfig{Status: http.StatusServiceUnavailable})}},
		{"route", []resilience.Option{
			resilience.OverallTimeout(5 * time.Second),
			resilience.Retry(resilience.RetryConfig{MaxAttempts: 2}),
			resilience.Timeout(time.Second),
			resilience.CircuitBreaker(resilience.BreakerConfig{}),
		}},
	} {
		b.Run(c.name, func(b *testing.B) {
			policies := append([]resilience.Option{resilience.WithMeterProvider(noop.NewMeterProvider())}, c.policies...)
			roundTrips(b, resilience.NewTransport(canned{}, policies...))
		})
	}
}
