package upstream

import (
	"context"
	"errors"
	"math"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/portico-dev/portico/resilience"
)

// The peak-EWMA estimate's constants (see "Latency-aware balancing" in
// the package documentation).
const (
	// ewmaDecay is the time constant of the estimate: after t without
	// news, what it knew weighs exp(-t/ewmaDecay), as in Finagle and
	// Linkerd.
	ewmaDecay = 10 * time.Second
	// defaultPrior is the estimate of every instance until one of them
	// has been heard from.
	defaultPrior = 30 * time.Millisecond
	// minEstimate is the floor of an estimate, so that requests in flight
	// always weigh, even on an instance idle for long.
	minEstimate = time.Microsecond
)

// outcome is what one request to an instance showed.
type outcome uint8

const (
	answered    outcome = iota // a response below 500
	serverError                // a 5xx response
	connError                  // a transport error or an attempt cut short, not by the caller
	canceled                   // the caller gave up
)

// classify tells what a round trip's result says about the instance.
func classify(ctx context.Context, resp *http.Response, err error) outcome {
	switch {
	case err != nil && errors.Is(context.Cause(ctx), context.Canceled):
		// The caller gave up, or a resilience.Transport above ended the
		// attempt, which failsafe-go does without a cause. An attempt cut
		// by its per-try or overall timeout counts against the instance,
		// as does a context canceled with a cause of its own; a hedge that
		// lost, like a caller that gave up, shows only how long it waited.
		if errors.Is(resilience.Abandoned(ctx), resilience.ErrTimeout) {
			return connError
		}
		return canceled
	case err != nil:
		return connError
	case resp.StatusCode >= http.StatusInternalServerError:
		return serverError
	}
	return answered
}

// latency is an instance's peak-EWMA latency estimate, in nanoseconds.
// Reads (two per pick) are lock-free: two atomic loads and an exp.
// Updates (one per response) are serialized by mu. A read that sees the
// value of one update and the stamp of the next is off by the decay of
// the time between them, which a balancing heuristic can afford.
type latency struct {
	mu    sync.Mutex
	bits  atomic.Uint64 // math.Float64bits of the estimate as of stamp
	stamp atomic.Int64  // unix nanoseconds of the last update; 0 for the prior
	seen  atomic.Bool   // a request has ended (other than canceled) since it joined
}

func (l *latency) init() { l.bits.Store(math.Float64bits(float64(defaultPrior))) }

// at returns the estimate at now (unix nanoseconds): the stored value
// decayed toward zero for the time since it was stored, so that an
// instance left alone after a slow spell is tried again. The prior does
// not decay until an instance has been heard from.
func (l *latency) at(now int64) float64 {
	v := math.Float64frombits(l.bits.Load())
	if st := l.stamp.Load(); st != 0 && now > st {
		v *= math.Exp(-float64(now-st) / float64(ewmaDecay))
	}
	return max(v, float64(minEstimate))
}

// observe folds in a request that ended at now, rtt nanoseconds after its
// pick, and reports whether it is the first the instance has seen end.
//
// An answer takes the estimate up to its latency at once if it is higher
// (the peak), and otherwise pulls it down by the share of a decay period
// since the last update. A server error or a cancellation never lowers
// the estimate: it only shows the instance took at least rtt. A transport
// error doubles it, at least, so that an instance refusing connections at
// once does not look like the fastest.
func (l *latency) observe(now int64, rtt float64, o outcome) (first bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	first = !l.seen.Load()
	cur := l.at(now)
	next := rtt
	switch {
	case o == answered && first:
		// The first answer replaces the prior outright.
	case o == answered && rtt < cur:
		w := 1.0
		if st := l.stamp.Load(); st != 0 && now > st {
			w = math.Exp(-float64(now-st) / float64(ewmaDecay))
		}
		next = cur + rtt*(1-w)
	case o == connError:
		next = max(rtt, 2*cur)
	case o != answered:
		next = max(rtt, cur)
	}
	l.bits.Store(math.Float64bits(next))
	l.stamp.Store(now)
	if o != canceled {
		l.seen.Store(true)
	}
	return first && o != canceled
}

// seed sets an instance not yet heard from to v at now, unless it has
// been heard from in the meantime.
func (l *latency) seed(v float64, now int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.seen.Load() {
		return
	}
	l.bits.Store(math.Float64bits(v))
	l.stamp.Store(now)
}

// seedPriors gives every instance of list not yet heard from the median
// estimate of those that have been, so that an instance that joins is
// taken for a typical one: not flooded for looking fast, nor starved for
// looking slow. With none heard from, the instances keep defaultPrior.
func seedPriors(list []*instance, now int64) {
	m, ok := medianLatency(list, now, func(in *instance) bool { return in.lat.seen.Load() })
	if !ok {
		return
	}
	for _, in := range list {
		if !in.lat.seen.Load() {
			in.lat.seed(m, now)
		}
	}
}

// medianLatency returns the median estimate at now of the instances of
// list that keep accepts, and false if it accepts none.
func medianLatency(list []*instance, now int64, keep func(*instance) bool) (float64, bool) {
	vs := make([]float64, 0, len(list))
	for _, in := range list {
		if keep(in) {
			vs = append(vs, in.lat.at(now))
		}
	}
	if len(vs) == 0 {
		return 0, false
	}
	slices.Sort(vs)
	n := len(vs)
	return (vs[(n-1)/2] + vs[n/2]) / 2, true
}

// cost is the latency the instance is expected to give the next request
// at now: its estimate times the requests already in flight, plus one.
func (in *instance) cost(now int64) float64 {
	return in.lat.at(now) * float64(in.inFlight.Load()+1)
}

// peakEWMA is the power of two choices over expected latency: draw two
// instances in proportion to weight and keep the one with the lower cost
// per unit of weight (the first on a tie).
type peakEWMA struct{}

func (peakEWMA) pick(s *set, f filter, _ uint64, _ bool) *instance {
	a, b := s.sampleTwo(f)
	if b == nil {
		return a
	}
	// cost/weight, compared without division.
	if b.cost(f.now)*float64(a.weight.Load()) < a.cost(f.now)*float64(b.weight.Load()) {
		return b
	}
	return a
}
