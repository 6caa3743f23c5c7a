package gateway

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/portico-dev/portico/gateway/calllog"
	"github.com/portico-dev/portico/gateway/internal/fields"
	"github.com/portico-dev/portico/resilience"
)

// Hedge sends a request that has not been answered after Delay once more,
// to another instance of the upstream than the attempts already in flight,
// and answers with the first response that is not a failure; the slower
// attempts are canceled. It is "The Tail at Scale"'s hedged request, on
// [resilience.Hedge]: a slow instance costs a request Delay, not its
// timeout.
//
// Only requests that may be sent twice are hedged: those with an
// idempotent method (GET, HEAD, OPTIONS, PUT, DELETE, TRACE) and those
// with an Idempotency-Key header. A connection error, a timeout or a 5xx
// never wins while another attempt is in flight, and when every attempt in
// flight has failed the next one is sent at once. Hedges are capped at
// Budget of the route's requests, so they cannot multiply the load of an
// upstream in trouble.
//
// With [Retry] too, requests that may be hedged are hedged and not
// retried (a hedge that fails over is their retry, with up to MaxExtra
// extra attempts), and the others are retried as Retry says; PerTry
// bounds every attempt of both. The route's breakers and the upstream
// pool see every attempt, a hedge as any other: an attempt cut by PerTry
// counts against its instance, one that lost the race only as slow as it
// waited.
type Hedge struct {
	// Delay is when the hedge is sent: a fixed duration ("50ms"), or a
	// percentile of the route's recent response times ("p95"). If zero,
	// p95.
	Delay HedgeDelay `yaml:"delay"`
	// MaxExtra is the number of extra attempts a request may get. If
	// zero, 1.
	MaxExtra int `yaml:"max_extra"`
	// Budget is the largest share of the route's requests that get an
	// extra attempt, over a sliding 10 s window (at least 10 hedges are
	// always allowed in it), in (0, 1]. If zero, 0.1.
	Budget float64 `yaml:"budget"`
}

// The defaults of [Hedge], which its fields document.
const (
	// defaultHedgeQuantile is the percentile of recent response times
	// after which a hedge is sent, unless Hedge.Delay says otherwise.
	defaultHedgeQuantile = 0.95
	// defaultHedgeStartDelay is the delay of a percentile hedge until the
	// route has seen enough responses to compute the percentile.
	defaultHedgeStartDelay = 50 * time.Millisecond
	// defaultHedgeBudget is the default Hedge.Budget.
	defaultHedgeBudget = 0.1
)

// HedgeDelay is when a hedge is sent: after a fixed duration, or once
// the first attempt has run longer than a quantile of the route's recent
// response times. In the config file it is written "50ms" or "p95".
type HedgeDelay struct {
	// After is the fixed delay. With Quantile, it is the delay used until
	// the route has seen enough responses (20); if zero then, 50ms.
	After time.Duration
	// Quantile, in (0, 1), sends the hedge after this quantile of the
	// route's recent response times, such as 0.95 for p95.
	Quantile float64
}

// UnmarshalText reads a duration, such as "50ms", or a percentile, such
// as "p95" or "p99.9".
func (d *HedgeDelay) UnmarshalText(b []byte) error {
	s := string(b)
	if rest, ok := strings.CutPrefix(s, "p"); ok {
		p, err := strconv.ParseFloat(rest, 64)
		if err != nil || p <= 0 || p >= 100 {
			return fmt.Errorf("%q is not a percentile; use p followed by a number between 0 and 100, like \"p95\"", s)
		}
		*d = HedgeDelay{Quantile: p / 100}
		return nil
	}
	after, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("%q is neither a duration, like \"50ms\", nor a percentile, like \"p95\"", s)
	}
	*d = HedgeDelay{After: after}
	return nil
}

// MarshalText writes the delay as [HedgeDelay.UnmarshalText] reads it.
func (d HedgeDelay) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// String returns "p95" for a quantile and the duration otherwise.
func (d HedgeDelay) String() string {
	if d.Quantile > 0 {
		return "p" + strconv.FormatFloat(d.Quantile*100, 'f', -1, 64)
	}
	return d.After.String()
}

// checkHedge validates a route's hedge policy.
func checkHedge(errs fields.Collector, h *Hedge) {
	if h.Delay.After < 0 {
		errs.Addf("hedge.delay", "must not be negative, got %s", h.Delay.After)
	}
	if q := h.Delay.Quantile; q < 0 || q >= 1 {
		errs.Addf("hedge.delay", "the quantile must be between 0 and 1, like 0.95 for p95, got %v", q)
	}
	if h.MaxExtra < 0 {
		errs.Addf("hedge.max_extra", "must not be negative, got %d", h.MaxExtra)
	}
	if b := h.Budget; b < 0 || b > 1 {
		errs.Addf("hedge.budget", "must be a share of the requests between 0 and 1, like 0.05, got %v", b)
	}
}

// delay returns h.Delay with its default applied.
func (h *Hedge) delay() HedgeDelay {
	d := h.Delay
	if d.After == 0 && d.Quantile == 0 {
		d.Quantile = defaultHedgeQuantile
	}
	return d
}

// hedgeConfig is the resilience policy for h; budget is the route's hedge
// budget, kept across reloads. With records, each hedged request's call
// record gets its hedges.
func hedgeConfig(h *Hedge, budget *resilience.Budget, records bool) resilience.HedgeConfig {
	d := h.delay()
	if d.Quantile > 0 && d.After == 0 {
		d.After = defaultHedgeStartDelay
	}
	cfg := resilience.HedgeConfig{
		Delay:     d.After,
		Quantile:  d.Quantile,
		MaxHedges: h.MaxExtra,
		Budget:    budget,
	}
	if records {
		cfg.OnFinish = recordHedges
	}
	return cfg
}

// hedgeStage is the route stage's name for /routes.
func hedgeStage(h *Hedge) string {
	return fmt.Sprintf("hedge(delay=%s, max_extra=%d)", h.delay(), max(h.MaxExtra, 1))
}

// recordHedges notes a hedged request's hedges in its call record, if
// one is kept. It runs before the transport returns, on the goroutine
// that called it: the proxy's, which is the request's.
func recordHedges(req *http.Request, hedges int, won bool) {
	if rec := calllog.FromContext(req.Context()); rec != nil {
		rec.Hedges += hedges
		rec.HedgeWon = rec.HedgeWon || won
	}
}

// resilientTransport is what policyTransport returns when the route has
// a resilience policy: a *resilience.Transport or a splitTransport.
type resilientTransport interface {
	http.RoundTripper
	Breakers() []resilience.BreakerState
	Close() error
}

// splitTransport sends the requests that may be hedged through one
// transport and the others through another: a route with both Hedge and
// Retry. Both share the route's breakers and bulkhead.
type splitTransport struct {
	hedged, other *resilience.Transport
	closed        atomic.Bool
}

// RoundTrip implements http.RoundTripper.
func (s *splitTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if resilience.Idempotent(req) {
		return s.hedged.RoundTrip(req)
	}
	return s.other.RoundTrip(req)
}

// Breakers returns the breakers both transports share.
func (s *splitTransport) Breakers() []resilience.BreakerState { return s.hedged.Breakers() }

// Close stops both transports' metric callbacks.
func (s *splitTransport) Close() error {
	if !s.closed.CompareAndSwap(false, true) {
		return nil
	}
	return errors.Join(s.hedged.Close(), s.other.Close())
}

// CloseIdleConnections closes the idle connections below.
func (s *splitTransport) CloseIdleConnections() { s.hedged.CloseIdleConnections() }
