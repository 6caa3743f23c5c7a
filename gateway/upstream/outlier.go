package upstream

import (
	"context"
	"errors"
	"math"
	"net/http"
	"slices"
	"time"

	"github.com/portico-dev/portico/resilience"
)

// observe feeds the outcome of one request, picked at start (unix
// nanoseconds), to the instance's counters, its latency estimate and
// passive outlier detection.
//
// With late set, the response's outcome is known only at the end of its
// body: a success is not counted yet (latency is), and [Pool.settleLate]
// counts the outcome when the body ends.
func (p *Pool) observe(ctx context.Context, in *instance, start int64, resp *http.Response, err error, late bool) {
	o := classify(ctx, resp, err)
	if o == serverError || o == connError {
		in.failures.Add(1)
	}
	if p.slowOn {
		in.pend.done(start)
	}
	if !p.clocked || (o == canceled && !p.track) {
		return
	}
	now := p.now().UnixNano()
	if p.track && in.lat.observe(now, float64(now-start), o) {
		seedPriors(p.cur.Load().list, now)
	}
	if p.od != nil && (!late || o != answered) {
		// A hedge that lost to an attempt sent before it had less time
		// than the winner took: it shows nothing about its speed.
		late := o == canceled && errors.Is(resilience.Abandoned(ctx), resilience.ErrHedgeLost) &&
			!attemptsFrom(ctx).triedAfter(in)
		p.detect(in, start, now, o, late)
	}
}

// settleLate counts the outcome of a request to in, picked at start,
// whose response body has just ended: failed when its status, known only
// then, is a failure of the upstream's. It does not judge speed: the time
// a body takes to end is the length of a stream, not the instance's.
func (p *Pool) settleLate(in *instance, start int64, failed bool) {
	o := answered
	if failed {
		o = serverError
		in.failures.Add(1)
	}
	if p.od != nil && p.clocked {
		p.detect(in, start, p.now().UnixNano(), o, true)
	}
}

// detect is passive outlier detection: it counts the outcomes of
// requests to in, picked at start and ended at now, and ejects in when
// they cross a threshold. A request the caller canceled counts only as
// slow, if it waited long enough to be; late (a hedge that lost to an
// earlier attempt) counts for nothing.
func (p *Pool) detect(in *instance, start, now int64, o outcome, late bool) {
	od := p.od
	d := time.Duration(now - start)
	slow := od.Slow != nil && !late && p.slow(in, d, now)
	if o == canceled && !slow {
		return
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	switch {
	case slow:
		in.consecSlow++
	case o != connError:
		// A quick response breaks a slow series; a quick transport error
		// says nothing about speed.
		in.consecSlow = 0
	}
	switch o {
	case answered:
		in.consec5xx, in.consecConn = 0, 0
	case serverError:
		in.consec5xx++
	case connError:
		in.consec5xx++
		in.consecConn++
	}
	if o == answered && !slow {
		if in.ejected(now) && start >= in.ejectedAt {
			// Picked while ejected (panic mode) and answered: it is back.
			// A request sent before the ejection proves nothing.
			in.ejectedUntil.Store(0)
			in.slowEjected.Store(false)
			in.lastEjectEnd = now
			p.log.Info("instance rejoined after a successful request", "instance", in.key)
		}
		return
	}
	reason := od.reason(in)
	if reason == "" || in.ejected(now) {
		return
	}
	if p.eject(in, now, reason, d) {
		in.consec5xx, in.consecConn, in.consecSlow = 0, 0, 0
	}
}

// reason returns why in's counters eject it, or "" if they do not. The
// caller holds in.mu.
func (od *OutlierDetection) reason(in *instance) string {
	switch {
	case od.ConsecutiveConnErrors > 0 && in.consecConn >= od.ConsecutiveConnErrors:
		return "conn_errors"
	case od.Consecutive5xx > 0 && in.consec5xx >= od.Consecutive5xx:
		return "5xx"
	case od.Slow != nil && in.consecSlow >= od.Slow.Consecutive:
		return "slow"
	}
	return ""
}

// slow reports whether a request to in that took d is slow: at least the
// threshold and, unless peers are not compared, at least PeerFactor times
// the median current latency of in's peers (see [Pool.peers]).
func (p *Pool) slow(in *instance, d time.Duration, now int64) bool {
	sl := p.od.Slow
	if d < sl.Threshold {
		return false
	}
	if sl.PeerFactor < 0 {
		return true
	}
	vs := p.peers(in, now)
	if len(vs) == 0 {
		return false
	}
	slices.Sort(vs)
	n := len(vs)
	return float64(d) >= sl.PeerFactor*(vs[(n-1)/2]+vs[n/2])/2
}

// peers returns the current latency (see [instance.current]) of each
// instance that in is compared with: the others that have been heard
// from, are healthy by active checks, and are not ejected for failing.
// An instance ejected for slowness stays a peer, so that while it is out
// the one still in can be found slower still and take its place.
func (p *Pool) peers(in *instance, now int64) []float64 {
	list := p.cur.Load().list
	vs := make([]float64, 0, len(list))
	for _, o := range list {
		if o == in || !o.lat.seen.Load() || !o.healthy.Load() || (o.ejected(now) && !o.slowEjected.Load()) {
			continue
		}
		vs = append(vs, o.current(now))
	}
	return vs
}

// current is how long the instance takes right now, as far as the pool
// can show: its latency estimate, or the wait of its oldest request still
// pending if that is longer. An instance whose estimate is low because it
// has not answered lately is not taken for fast while it keeps requests
// waiting.
func (in *instance) current(now int64) float64 {
	return max(in.lat.at(now), in.pend.age(now))
}

// eject ejects in, which took d to answer its last request, unless that
// would put more than MaxEjectedPercent of the pool out. At the cap, an
// instance ejected for slowness whose current latency is at most d over
// the peer factor (clearly faster than in) is readmitted to make room for
// in: a fast instance ejected by mistake must not shield a slow one. The
// caller holds in.mu.
func (p *Pool) eject(in *instance, now int64, reason string, d time.Duration) bool {
	od := p.od
	p.ejectMu.Lock()
	defer p.ejectMu.Unlock()
	s := p.cur.Load()
	ejected := 0
	for _, o := range s.list {
		if o.ejected(now) {
			ejected++
		}
	}
	allowed := max(1, len(s.list)*od.MaxEjectedPercent/100)
	if ejected >= allowed {
		o := p.replaceable(s.list, in, now, reason, d)
		if o == nil {
			p.log.Debug("ejection skipped: too many instances ejected", "instance", in.key, "ejected", ejected, "max_ejected_percent", od.MaxEjectedPercent)
			return false
		}
		// Only o's atomics are touched: its mutex may be held by a caller
		// waiting for ejectMu.
		o.ejectedUntil.Store(0)
		o.slowEjected.Store(false)
		p.log.Warn("instance readmitted: a slower one takes its place", "instance", o.key, "slower", in.key)
	}
	if in.lastEjectEnd != 0 && time.Duration(now-in.lastEjectEnd) >= od.MaxEjection {
		in.timesEjected = 0
	}
	in.timesEjected++
	ej := min(od.BaseEjection*time.Duration(in.timesEjected), od.MaxEjection)
	until := now + int64(ej)
	in.ejectedUntil.Store(until)
	in.slowEjected.Store(reason == "slow")
	in.ejectedAt = now
	in.lastEjectEnd = until
	in.ejections.Add(1)
	p.metrics.ejection(in, reason)
	p.log.Warn("instance ejected", "instance", in.key, "reason", reason, "for", ej)
	return true
}

// replaceable returns the ejected instance of list that in, about to be
// ejected for reason after a request that took d, may replace at the
// ejection cap: the fastest of those ejected for slowness whose current
// latency is at most d over the peer factor, or nil. Without the peer
// comparison (a negative PeerFactor), none is.
func (p *Pool) replaceable(list []*instance, in *instance, now int64, reason string, d time.Duration) *instance {
	if reason != "slow" || p.od.Slow.PeerFactor < 0 {
		return nil
	}
	factor := p.od.Slow.PeerFactor
	var best *instance
	bestCur := math.Inf(1)
	for _, o := range list {
		if o == in || !o.ejected(now) || !o.slowEjected.Load() {
			continue
		}
		if c := o.current(now); factor*c <= float64(d) && c < bestCur {
			best, bestCur = o, c
		}
	}
	return best
}
