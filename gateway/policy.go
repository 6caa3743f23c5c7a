package gateway

import (
	"cmp"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"strconv"

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
// state (the circuit breakers, the bulkhead, the retry and hedge budgets)
// are borrowed from the state under key, the route's identity and
// upstream: each is kept while its own settings are unchanged. A route
// with both Retry and Hedge gets two transports that share the breakers
// and the bulkhead (see [Hedge]). With records, the transport notes its
// hedges in the request's call record: it must then be called from the
// request's own goroutine, as the proxy does (a composed route's parallel
// calls do not).
func (g *Gateway) policyTransport(key string, p Policy, next http.RoundTripper, records bool) (http.RoundTripper, []string) {
	c := g.cfg
	var inner []string
	if c.meter != nil || c.tracer != nil {
		next = clientTelemetry(next, c)
		inner = []string{"client_telemetry"}
	}
	var outer, around []resilience.Option
	var stages, after []string
	if p.Timeout > 0 {
		outer = append(outer, resilience.OverallTimeout(p.Timeout))
		stages = append(stages, "timeout("+p.Timeout.String()+")")
	}
	var retry, hedge resilience.Policy
	if r := p.Retry; r != nil {
		retry = resilience.Retry(resilience.RetryConfig{
			MaxAttempts: r.Attempts,
			BaseDelay:   r.Backoff,
			MaxDelay:    r.MaxBackoff,
			Statuses:    r.Statuses,
			Budget: keep(g, pieceKey("retry_budget", key), func() *resilience.Budget {
				return resilience.NewBudget(resilience.BudgetConfig{})
			}),
		})
		stages = append(stages, fmt.Sprintf("retry(attempts=%d)", r.Attempts))
	}
	if h := p.Hedge; h != nil {
		budget := keep(g, pieceKey("hedge_budget", key, h.Budget), func() *resilience.Budget {
			return resilience.NewBudget(resilience.BudgetConfig{Ratio: cmp.Or(h.Budget, defaultHedgeBudget)})
		})
		hedge = resilience.Hedge(hedgeConfig(h, budget, records))
		stages = append(stages, hedgeStage(h))
	}
	if b := p.Breaker; b != nil {
		around = append(around, keep(g, pieceKey("breaker", key, b), func() resilience.Policy {
			return resilience.CircuitBreaker(resilience.BreakerConfig{
				ConsecutiveFailures: b.Failures,
				OpenFor:             b.Delay,
				HalfOpenProbes:      b.Successes,
			})
		}))
		after = append(after, fmt.Sprintf("breaker(failures=%d)", cmp.Or(b.Failures, resilience.DefaultBreakerFailures)))
	}
	if b := p.Bulkhead; b != nil {
		around = append(around, keep(g, pieceKey("bulkhead", key, b), func() resilience.Policy {
			return resilience.Bulkhead(resilience.BulkheadConfig{MaxConcurrent: b.MaxConcurrent, MaxWait: b.MaxWait})
		}))
		after = append(after, fmt.Sprintf("bulkhead(max=%d)", b.MaxConcurrent))
	}
	if r := p.Retry; r != nil && r.PerTry > 0 {
		around = append(around, resilience.Timeout(r.PerTry))
		after = append(after, "per_try_timeout("+r.PerTry.String()+")")
	}
	if c.meter != nil {
		around = append(around, resilience.WithMeterProvider(c.meter))
	}
	stages = append(append(stages, after...), inner...)
	transport := func(middle resilience.Policy) *resilience.Transport {
		return resilience.NewTransport(next, append(append(append([]resilience.Option(nil), outer...), middle), around...)...)
	}
	switch {
	case hedge != nil && retry != nil:
		return &splitTransport{hedged: transport(hedge), other: transport(retry)}, stages
	case hedge != nil:
		return transport(hedge), stages
	case retry != nil:
		return transport(retry), stages
	case len(outer) == 0 && len(after) == 0:
		return next, inner
	}
	return transport(nil), stages
}
