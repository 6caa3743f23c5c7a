package upstream

import (
	"context"
	"math/rand/v2"
	"sync"
	"sync/atomic"

	"github.com/portico-dev/portico/resilience"
)

// set is an immutable snapshot of the pool's instances with the balancer
// state built for it. Discovery swaps in a new set; balancer state (the
// round-robin position, smooth weights, the ring) starts over with it.
type set struct {
	list    []*instance
	weights []int // weights as of this snapshot
	cum     []int // cum[i] = weights[0] + ... + weights[i]
	total   int
	picker  picker
}

func newSet(list []*instance, b Balancer) *set {
	s := &set{list: list, weights: make([]int, len(list)), cum: make([]int, len(list))}
	for i, in := range list {
		w := int(in.weight.Load())
		s.weights[i] = w
		s.total += w
		s.cum[i] = s.total
	}
	switch b {
	case WeightedRoundRobin:
		s.picker = &smoothWRR{current: make([]int, len(list))}
	case LeastRequest:
		s.picker = leastRequest{}
	case Random:
		s.picker = random{}
	case ConsistentHash:
		s.picker = newRing(s)
	case PeakEWMA:
		s.picker = peakEWMA{}
	default:
		s.picker = &roundRobin{}
	}
	return s
}

// filter decides which instances a pick may return.
type filter struct {
	ctx   context.Context // the request's, for its circuit breakers
	now   int64           // unix nanoseconds
	tried *attempts       // instances already tried for this request, or nil
	skip  *instance       // an instance not to return, or nil
	// panic ignores health and ejection; fresh skips tried instances.
	panic, fresh bool
}

func (f filter) ok(in *instance) bool {
	if in == f.skip {
		return false
	}
	if !f.panic && (!in.available(f.now) || !resilience.Admits(f.ctx, in.host)) {
		return false
	}
	return !f.fresh || !f.tried.has(in)
}

// picker chooses an instance of s that passes f, or returns nil.
// key is the request's hash key and hasKey whether it has one.
type picker interface {
	pick(s *set, f filter, key uint64, hasKey bool) *instance
}

type roundRobin struct{ next atomic.Uint64 }

func (p *roundRobin) pick(s *set, f filter, _ uint64, _ bool) *instance {
	n := uint64(len(s.list))
	start := p.next.Add(1) - 1
	for i := range n {
		if in := s.list[(start+i)%n]; f.ok(in) {
			return in
		}
	}
	return nil
}

// smoothWRR is nginx's smooth weighted round robin: each pick adds every
// eligible instance's weight to its current value, takes the largest, and
// subtracts the eligible total from it.
type smoothWRR struct {
	mu      sync.Mutex
	current []int
}

func (p *smoothWRR) pick(s *set, f filter, _ uint64, _ bool) *instance {
	p.mu.Lock()
	defer p.mu.Unlock()
	best, total := -1, 0
	for i, in := range s.list {
		if !f.ok(in) {
			continue
		}
		p.current[i] += s.weights[i]
		total += s.weights[i]
		if best < 0 || p.current[i] > p.current[best] {
			best = i
		}
	}
	if best < 0 {
		return nil
	}
	p.current[best] -= total
	return s.list[best]
}

type random struct{}

func (random) pick(s *set, f filter, _ uint64, _ bool) *instance {
	return s.sample(f)
}

// sample draws an instance that passes f with probability proportional to
// its weight. It first draws from the whole set, which is O(log n) and
// almost always lands on an eligible instance, then falls back to drawing
// among the eligible ones only.
func (s *set) sample(f filter) *instance {
	if s.total <= 0 {
		return nil
	}
	for range 3 {
		x := rand.IntN(s.total)
		lo, hi := 0, len(s.cum)-1
		for lo < hi {
			mid := int(uint(lo+hi) >> 1)
			if s.cum[mid] > x {
				hi = mid
			} else {
				lo = mid + 1
			}
		}
		if in := s.list[lo]; f.ok(in) {
			return in
		}
	}
	sum := 0
	for i, in := range s.list {
		if f.ok(in) {
			sum += s.weights[i]
		}
	}
	if sum == 0 {
		return nil
	}
	x := rand.IntN(sum)
	for i, in := range s.list {
		if !f.ok(in) {
			continue
		}
		if x < s.weights[i] {
			return in
		}
		x -= s.weights[i]
	}
	return nil
}

// leastRequest is the power of two choices: draw two instances in
// proportion to weight and keep the one with fewer requests in flight per
// unit of weight (the first on a tie, which keeps an idle pool's
// distribution proportional to weight).
type leastRequest struct{}

func (leastRequest) pick(s *set, f filter, _ uint64, _ bool) *instance {
	a, b := s.sampleTwo(f)
	if b == nil {
		return a
	}
	// inFlight/weight, compared without division.
	la := a.inFlight.Load() * b.weight.Load()
	lb := b.inFlight.Load() * a.weight.Load()
	if lb < la {
		return b
	}
	return a
}

// sampleTwo draws two different instances that pass f, in proportion to
// weight. b is nil when only one passes, and both are nil when none does.
func (s *set) sampleTwo(f filter) (a, b *instance) {
	a = s.sample(f)
	if a == nil {
		return nil, nil
	}
	// The second draw is another instance, so that a busy instance is
	// never compared with itself.
	f.skip = a
	return a, s.sample(f)
}
