package resilience

import (
	"fmt"
	"time"

	"go.opentelemetry.io/otel/metric"
)

// Option configures a [Transport]: a [Policy], or a setting that is not
// one, such as [WithMeterProvider].
type Option interface {
	apply(p *plan)
}

// Policy is one piece of a [Transport]'s behaviour, built by [Retry],
// [Hedge], [CircuitBreaker], [Bulkhead], [Timeout], [OverallTimeout] or
// [Fallback]. Policies are applied in a fixed order whatever the order
// they are given in; see the package documentation.
type Policy interface {
	Option
	policy()
}

// plan is what NewTransport assembles from the policies.
type plan struct {
	fallback *FallbackConfig
	retry    *RetryConfig
	hedge    *HedgeConfig
	breaker  *BreakerConfig
	bulkhead *BulkheadConfig
	breakers *breakers     // the CircuitBreaker policy's, shared by its transports
	bulks    *bulkheads    // the Bulkhead policy's, shared by its transports
	attempt  time.Duration // per-attempt timeout
	overall  time.Duration
	meter    metric.MeterProvider
	seen     map[string]bool
}

func (p *plan) once(name string) {
	if p.seen[name] {
		panic(fmt.Sprintf("portico/resilience: %s given twice to NewTransport", name))
	}
	p.seen[name] = true
}

type policyFunc func(p *plan)

func (f policyFunc) apply(p *plan) { f(p) }

func (policyFunc) policy() {}

// Timeout bounds each attempt, its wait for a bulkhead slot included: if
// the upstream has not answered with response headers within d, the
// attempt is cancelled and fails with [ErrTimeout] (and may be retried).
// Once headers arrive, the body streams for as long as the caller's
// context allows, so server-sent events and large downloads are not cut
// off. It runs as failsafe-go's timeout policy. It panics if d <= 0.
func Timeout(d time.Duration) Policy {
	if d <= 0 {
		panic("portico/resilience: Timeout needs a duration > 0")
	}
	return policyFunc(func(p *plan) { p.once("Timeout"); p.attempt = d })
}

// OverallTimeout bounds the whole round trip, every retry, hedge and
// backoff included, up to the response headers of the attempt that wins;
// it fails with [ErrTimeout], which a [Fallback] may still replace. A
// shorter deadline on the caller's context always wins. It runs as
// failsafe-go's timeout policy. It panics if d <= 0.
func OverallTimeout(d time.Duration) Policy {
	if d <= 0 {
		panic("portico/resilience: OverallTimeout needs a duration > 0")
	}
	return policyFunc(func(p *plan) { p.once("OverallTimeout"); p.overall = d })
}

// WithMeterProvider is not a policy in the chain: it sets the OpenTelemetry
// meter provider the [Transport] reports its metrics to. By default, the
// global provider (otel.GetMeterProvider) is used.
func WithMeterProvider(mp metric.MeterProvider) Option {
	return optionFunc(func(p *plan) { p.meter = mp })
}

// optionFunc is an [Option] that is not a [Policy].
type optionFunc func(p *plan)

func (f optionFunc) apply(p *plan) { f(p) }
