package resilience

import (
	"math"
	"sync"
	"time"
)

// BudgetConfig configures a [Budget]. The zero value is usable.
type BudgetConfig struct {
	// Ratio is the fraction of requests that may be retried (or hedged)
	// within the window. By default, 0.2: at most one extra attempt per
	// five requests.
	Ratio float64
	// Min is the number of retries allowed within the window whatever the
	// request count, so a quiet client can still retry. By default, 10.
	Min int
	// Window is the sliding window requests and retries are counted over.
	// By default, 10 seconds.
	Window time.Duration
	// Now is the clock. By default, time.Now.
	Now func() time.Time
	// OnExhausted is called when the budget refuses a retry or a hedge.
	OnExhausted func()
}

// Budget caps retries and hedges to a fraction of requests, so that during
// an outage retries cannot multiply the load on the upstream: over any
// window, extra attempts stay below max(Min, Ratio × requests).
//
// A Budget is safe for concurrent use and may be shared by several
// transports (for example every route to one upstream).
type Budget struct {
	ratio  float64
	min    int
	onOut  func()
	slot   time.Duration
	now    func() time.Time
	mu     sync.Mutex
	start  int64 // index of the newest slot
	reqs   [budgetSlots]int
	extras [budgetSlots]int
}

const budgetSlots = 10

// NewBudget returns a budget. It panics if cfg is invalid; see
// [BudgetConfig.Validate].
func NewBudget(cfg BudgetConfig) *Budget {
	mustValid(cfg.Validate())
	if cfg.Ratio == 0 {
		cfg.Ratio = 0.2
	}
	if cfg.Min == 0 {
		cfg.Min = 10
	}
	if cfg.Window == 0 {
		cfg.Window = 10 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	slot := max(cfg.Window/budgetSlots, time.Millisecond)
	return &Budget{ratio: cfg.Ratio, min: cfg.Min, onOut: cfg.OnExhausted, slot: slot, now: cfg.Now, start: cfg.Now().UnixNano() / int64(slot)}
}

// advance drops the slots that fell out of the window. b.mu must be held.
func (b *Budget) advance() int {
	cur := b.now().UnixNano() / int64(b.slot)
	if d := cur - b.start; d > 0 {
		for i := int64(1); i <= min(d, budgetSlots); i++ {
			j := (b.start + i) % budgetSlots
			b.reqs[j], b.extras[j] = 0, 0
		}
		b.start = cur
	}
	return int(((b.start % budgetSlots) + budgetSlots) % budgetSlots)
}

// deposit records one request.
func (b *Budget) deposit() {
	b.mu.Lock()
	b.reqs[b.advance()]++
	b.mu.Unlock()
}

// withdraw asks for one extra attempt and reports whether it is allowed.
func (b *Budget) withdraw() bool {
	ok := b.take()
	if !ok && b.onOut != nil {
		b.onOut()
	}
	return ok
}

func (b *Budget) take() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	i := b.advance()
	var reqs, extras int
	for j := range budgetSlots {
		reqs += b.reqs[j]
		extras += b.extras[j]
	}
	allowed := max(b.min, int(math.Floor(b.ratio*float64(reqs))))
	if extras >= allowed {
		return false
	}
	b.extras[i]++
	return true
}
