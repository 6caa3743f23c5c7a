package upstream

import (
	"slices"
	"sync"
)

// pending keeps the pick times (unix nanoseconds) of an instance's
// requests still waiting for their answer, so that slow-response ejection
// knows how long an instance has kept requests waiting right now: an
// instance with a request pending for 500ms is not demonstrably faster
// than one that answered in 100ms, whatever its estimate says. The starts
// are kept sorted, oldest first; picks come in about that order, so an
// insertion is almost always an append.
type pending struct {
	mu     sync.Mutex
	starts []int64
}

// add records a request picked at start.
func (p *pending) add(start int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	i := len(p.starts)
	for i > 0 && p.starts[i-1] > start {
		i--
	}
	p.starts = slices.Insert(p.starts, i, start)
}

// done forgets a request picked at start.
func (p *pending) done(start int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if i, ok := slices.BinarySearch(p.starts, start); ok {
		p.starts = slices.Delete(p.starts, i, i+1)
	}
}

// age returns how long the oldest pending request has waited at now, in
// nanoseconds, or 0 with none pending.
func (p *pending) age(now int64) float64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.starts) == 0 || now <= p.starts[0] {
		return 0
	}
	return float64(now - p.starts[0])
}
