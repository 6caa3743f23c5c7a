package resilience_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"go.opentelemetry.io/otel/metric/noop"

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

// BenchmarkPolicies measures what retry, breaker, bulkhead and timeouts
// add to a round trip, with the network taken out.
func BenchmarkPolicies(b *testing.B) {
	tr := resilience.NewTransport(canned{},
		resilience.WithMeterProvider(noop.NewMeterProvider()),
		resilience.Retry(resilience.RetryConfig{}),
		resilience.CircuitBreaker(resilience.BreakerConfig{}),
		resilience.Bulkhead(resilience.BulkheadConfig{MaxConcurrent: 64}),
		resilience.Timeout(5*time.Second),
	)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://upstream.test/", nil)
	b.ReportAllocs()
	for b.Loop() {
		resp, err := tr.RoundTrip(req)
		if err != nil {
			b.Fatal(err)
		}
		resp.Body.Close()
	}
}
