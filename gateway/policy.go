package gateway

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"strconv"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/propagation"

	"github.com/portico-dev/portico/gateway/upstream"
	"github.com/portico-dev/portico/resilience"
)

// policyStatus maps an error from the upstream exchange to its status.
func policyStatus(err error) int {
	if errors.Is(err, upstream.ErrNoInstance) {
		return http.StatusServiceUnavailable
	}
	return resilience.HTTPStatus(err)
}

// retryAfter returns the Retry-After value an error asks for, in seconds.
func retryAfter(err error) (string, bool) {
	d, ok := resilience.RetryAfter(err)
	if !ok {
		return "", false
	}
	return strconv.Itoa(max(1, int(math.Ceil(d.Seconds())))), true
}

func levelFor(status int) slog.Level {
	if status == http.StatusBadGateway {
		return slog.LevelWarn
	}
	return slog.LevelInfo
}

// policyTransport wraps next with the route's policies and returns the
// names of the stages it added, outermost first, for /routes. Without a
// policy that needs one, next is returned as is. The policies that hold
// state (the circuit breakers, the bulkhead, the retry budget) are
// borrowed from the state under key, the route's identity and upstream:
// each is kept while its own settings are unchanged.
func (g *Gateway) policyTransport(key string, p Policy, next http.RoundTripper) (http.RoundTripper, []string) {
	c := g.cfg
	var inner []string
	if c.meter != nil || c.tracer != nil {
		next = clientTelemetry(next, c)
		inner = []string{"client_telemetry"}
	}
	var ps []resilience.Policy
	var stages []string
	if p.Timeout > 0 {
		ps = append(ps, resilience.OverallTimeout(p.Timeout))
		stages = append(stages, "timeout("+p.Timeout.String()+")")
	}
	if r := p.Retry; r != nil {
		ps = append(ps, resilience.Retry(resilience.RetryConfig{
			MaxAttempts: r.Attempts,
			BaseDelay:   r.Backoff,
			MaxDelay:    r.MaxBackoff,
			Statuses:    r.Statuses,
			Budget: keep(g, pieceKey("retry_budget", key), func() *resilience.Budget {
				return resilience.NewBudget(resilience.BudgetConfig{})
			}),
		}))
		stages = append(stages, fmt.Sprintf("retry(attempts=%d)", r.Attempts))
	}
	if b := p.Breaker; b != nil {
		ps = append(ps, keep(g, pieceKey("breaker", key, b), func() resilience.Policy {
			return resilience.CircuitBreaker(resilience.BreakerConfig{
				ConsecutiveFailures: b.Failures,
				OpenFor:             b.Delay,
				HalfOpenProbes:      b.Successes,
			})
		}))
		stages = append(stages, fmt.Sprintf("breaker(failures=%d)", or(b.Failures, resilience.DefaultBreakerFailures)))
	}
	if b := p.Bulkhead; b != nil {
		ps = append(ps, keep(g, pieceKey("bulkhead", key, b), func() resilience.Policy {
			return resilience.Bulkhead(resilience.BulkheadConfig{MaxConcurrent: b.MaxConcurrent, MaxWait: b.MaxWait})
		}))
		stages = append(stages, fmt.Sprintf("bulkhead(max=%d)", b.MaxConcurrent))
	}
	if r := p.Retry; r != nil && r.PerTry > 0 {
		ps = append(ps, resilience.Timeout(r.PerTry))
		stages = append(stages, "per_try_timeout("+r.PerTry.String()+")")
	}
	if len(ps) == 0 {
		return next, inner
	}
	if c.meter != nil {
		ps = append(ps, resilience.WithMeterProvider(c.meter))
	}
	return resilience.NewTransport(next, ps...), append(stages, inner...)
}

// clientTelemetry records a client span and the http.client.* metrics
// for every attempt, with the upstream's name as server.address, and
// propagates the trace to the upstream (W3C Trace Context and Baggage).
func clientTelemetry(next http.RoundTripper, c config) http.RoundTripper {
	opts := []otelhttp.Option{
		otelhttp.WithPropagators(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})),
		otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string { return r.Method + " " + r.URL.Host }),
	}
	if c.meter != nil {
		opts = append(opts, otelhttp.WithMeterProvider(c.meter))
	}
	if c.tracer != nil {
		opts = append(opts, otelhttp.WithTracerProvider(c.tracer))
	}
	return otelhttp.NewTransport(next, opts...)
}

func or[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}
