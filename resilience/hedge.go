package resilience

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"sync"
	"time"
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
	// OnHedge is called when a hedged attempt is sent.
	OnHedge func(req *http.Request, attempt int)
}

// Hedge returns the hedging policy: an idempotent request (see
// [Idempotent]) that has not been answered after the delay is sent again,
// and the first response wins; the slower attempts are cancelled and
// their bodies closed. Other requests are sent once. It panics if cfg is
// invalid; see [HedgeConfig.Validate].
func Hedge(cfg HedgeConfig) Policy {
	mustValid(cfg.Validate())
	if cfg.MaxHedges == 0 {
		cfg.MaxHedges = 1
	}
	return policyFunc(func(p *plan) {
		p.once("Hedge")
		if p.retry != nil {
			panic("portico/resilience: NewTransport takes Retry or Hedge, not both")
		}
		p.hedge = &cfg
	})
}

// hedger tracks recent latencies to compute a quantile delay.
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

type outcome struct {
	resp *http.Response
	err  error
	i    int
}

// hedge sends the request, then hedged copies after the delay; the first
// response wins.
func (t *Transport) hedge(ctx context.Context, req *http.Request, body *replay) (*http.Response, error) {
	h := t.hedging
	if !Idempotent(req) || !body.again() {
		return t.attempt(ctx, req, body, 1)
	}
	t.budget.deposit()
	total := h.cfg.MaxHedges + 1
	results := make(chan outcome, total)
	cancels := make([]context.CancelFunc, 0, total)
	start := time.Now()
	launch := func() {
		i := len(cancels)
		actx, cancel := context.WithCancel(ctx)
		cancels = append(cancels, cancel)
		go func() {
			resp, err := t.attempt(actx, req, body, i+1) //nolint:bodyclose // the winner's caller closes it; losers are discarded below
			results <- outcome{resp, err, i}
		}()
	}
	launch()
	timer := time.NewTimer(h.current())
	defer timer.Stop()
	pending := 1
	var last outcome
	won := false
	for !won && pending > 0 {
		select {
		case o := <-results:
			pending--
			last = o
			if o.err == nil {
				won = true
				if o.i == 0 {
					h.observe(time.Since(start))
				}
				break
			}
			// The only attempt in flight failed: hedge at once rather than
			// wait, since next may pick a healthy instance.
			if pending == 0 && len(cancels) < total && ctx.Err() == nil &&
				!errors.Is(o.err, ErrCircuitOpen) && !errors.Is(o.err, ErrBulkheadFull) && t.budget.withdraw() {
				launch()
				pending++
				t.metrics.hedge(ctx, req.URL.Host)
				if h.cfg.OnHedge != nil {
					h.cfg.OnHedge(req, len(cancels))
				}
			}
		case <-timer.C:
			if len(cancels) < total && ctx.Err() == nil {
				if !t.budget.withdraw() {
					t.metrics.reject(ctx, "budget", req.URL.Host)
					break
				}
				launch()
				pending++
				t.metrics.hedge(ctx, req.URL.Host)
				if h.cfg.OnHedge != nil {
					h.cfg.OnHedge(req, len(cancels))
				}
				if len(cancels) < total {
					timer.Reset(h.current())
				}
			}
		}
	}
	for i, cancel := range cancels {
		if !won || i != last.i {
			cancel()
		}
	}
	if pending > 0 {
		go func() { // collect the losers
			for range pending {
				if o := <-results; o.resp != nil {
					discard(o.resp)
				}
			}
		}()
	}
	if !won {
		return nil, t.ctxErr(ctx, last.err)
	}
	onClose(last.resp, cleanup{cancel: cancels[last.i]})
	return last.resp, nil
}
