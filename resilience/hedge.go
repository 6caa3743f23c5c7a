package resilience

import (
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/failsafe-go/failsafe-go"
	"github.com/failsafe-go/failsafe-go/hedgepolicy"
)

// HedgeConfig configures [Hedge].
type HedgeConfig struct {
	// Delay is how long the first attempt may run before a hedged attempt
	// is sent; with Quantile, the delay used until enough latencies were
	// seen. It must be > 0.
	Delay time.Duration
	// Quantile, in (0, 1), sends the hedge once the first attempt has run
	// longer than this quantile of recent response times (for example
	// 0.95 for p95). By default, the fixed Delay is used.
	Quantile float64
	// MaxHedges is the number of extra attempts. By default, 1.
	MaxHedges int
	// Budget caps hedges to a fraction of requests. By default, each
	// transport has its own budget with the [BudgetConfig] defaults.
	Budget *Budget
	// IsFailure tells whether an attempt's outcome is a failure, which
	// does not win the race while another attempt may still succeed. By
	// default, connection errors, timeouts and 5xx responses are.
	IsFailure func(resp *http.Response, err error) bool
	// OnHedge is called when a hedged attempt is sent, with its number
	// (2 for the first hedge).
	OnHedge func(req *http.Request, attempt int)
	// OnFinish is called once for each request that could be hedged, when
	// it has its answer or its last failure and before RoundTrip returns,
	// with the number of hedged attempts sent and whether one of them gave
	// the answer.
	OnFinish func(req *http.Request, hedges int, hedgeWon bool)
}

// Hedge returns the hedging policy: an idempotent request (see
// [Idempotent]) that has not been answered after the delay is sent again,
// and the first outcome that is not a failure wins; the slower attempts
// are cancelled and their bodies closed. A failure (by default a
// connection error, a timeout or a 5xx) never wins while another attempt
// is in flight, and when every attempt in flight has failed the next
// hedge is sent at once. When all attempts fail, the last failure is
// returned. Other requests are sent once. It runs as failsafe-go's hedge
// policy. It panics if cfg is invalid; see [HedgeConfig.Validate].
func Hedge(cfg HedgeConfig) Policy {
	mustValid(cfg.Validate())
	if cfg.MaxHedges == 0 {
		cfg.MaxHedges = 1
	}
	if cfg.IsFailure == nil {
		cfg.IsFailure = defaultIsFailure
	}
	return policyFunc(func(p *plan) {
		p.once("Hedge")
		if p.retry != nil {
			panic("portico/resilience: NewTransport takes Retry or Hedge, not both")
		}
		p.hedge = &cfg
	})
}

// hedger tracks recent latencies to compute a quantile delay. It is
// Portico's because failsafe-go's quantile delay does not hedge at all
// until it has seen enough executions, where Portico hedges after Delay.
type hedger struct {
	cfg   *HedgeConfig
	mu    sync.Mutex
	ring  [256]time.Duration
	n     int
	delay time.Duration
}

const hedgeMinSamples = 20

func newHedger(cfg *HedgeConfig) *hedger { return &hedger{cfg: cfg, delay: cfg.Delay} }

func (h *hedger) current() time.Duration {
	if h.cfg.Quantile == 0 {
		return h.cfg.Delay
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.delay
}

func (h *hedger) observe(d time.Duration) {
	if h.cfg.Quantile == 0 {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.ring[h.n%len(h.ring)] = d
	h.n++
	if h.n >= hedgeMinSamples && h.n%16 == 0 {
		s := slices.Clone(h.ring[:min(h.n, len(h.ring))])
		slices.Sort(s)
		h.delay = max(s[int(h.cfg.Quantile*float64(len(s)))], time.Millisecond)
	}
}

// hedgePolicy is failsafe-go's hedge policy: it sends the hedges as the
// delay passes, returns the first outcome marked final and cancels the
// other attempts. Each attempt, under the [attempts] policy, decides
// whether its outcome is final, and fails over at once when it was the
// last in flight.
func (t *Transport) hedgePolicy() hedgepolicy.HedgePolicy[*try] {
	return hedgepolicy.NewBuilderWithDelayFunc[*try](func(failsafe.ExecutionAttempt[*try]) time.Duration {
		return t.hedging.current()
	}).
		WithMaxHedges(t.plan.hedge.MaxHedges).
		CancelIf(func(a *try, _ error) bool { return a != nil && a.final }).
		Build()
}
