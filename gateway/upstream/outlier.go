package upstream

import (
	"context"
	"net/http"
	"time"
)

// observe feeds the outcome of one request, picked at start (unix
// nanoseconds), to the instance's counters, its latency estimate and
// passive outlier detection.
func (p *Pool) observe(ctx context.Context, in *instance, start int64, resp *http.Response, err error) {
	o := classify(ctx, resp, err)
	if o == serverError || o == connError {
		in.failures.Add(1)
	}
	if !p.clocked || (o == canceled && !p.track) {
		return
	}
	now := p.now().UnixNano()
	if p.track && in.lat.observe(now, float64(now-start), o) {
		seedPriors(p.cur.Load().list, now)
	}
	if p.od != nil {
		p.detect(in, start, now, o)
	}
}

// detect is passive outlier detection: it counts the outcomes of
// requests to in, picked at start and ended at now, and ejects in when
// they cross a threshold. A request the caller canceled counts only as
// slow, if it waited long enough to be.
func (p *Pool) detect(in *instance, start, now int64, o outcome) {
	od := p.od
	slow := od.Slow != nil && p.slow(in, time.Duration(now-start), now)
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
			in.lastEjectEnd = now
			p.log.Info("instance rejoined after a successful request", "instance", in.key)
		}
		return
	}
	reason := od.reason(in)
	if reason == "" || in.ejected(now) {
		return
	}
	if p.eject(in, now, reason) {
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
// the median estimate of the other available instances that have been
// heard from.
func (p *Pool) slow(in *instance, d time.Duration, now int64) bool {
	sl := p.od.Slow
	if d < sl.Threshold {
		return false
	}
	if sl.PeerFactor < 0 {
		return true
	}
	peers, ok := medianLatency(p.cur.Load().list, now, func(o *instance) bool {
		return o != in && o.lat.seen.Load() && o.available(now)
	})
	return ok && float64(d) >= sl.PeerFactor*peers
}

// eject ejects in unless that would put more than MaxEjectedPercent of the
// pool out. The caller holds in.mu.
func (p *Pool) eject(in *instance, now int64, reason string) bool {
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
		p.log.Debug("ejection skipped: too many instances ejected", "instance", in.key, "ejected", ejected, "max_ejected_percent", od.MaxEjectedPercent)
		return false
	}
	if in.lastEjectEnd != 0 && time.Duration(now-in.lastEjectEnd) >= od.MaxEjection {
		in.timesEjected = 0
	}
	in.timesEjected++
	d := min(od.BaseEjection*time.Duration(in.timesEjected), od.MaxEjection)
	until := now + int64(d)
	in.ejectedUntil.Store(until)
	in.ejectedAt = now
	in.lastEjectEnd = until
	in.ejections.Add(1)
	p.metrics.ejection(in, reason)
	p.log.Warn("instance ejected", "instance", in.key, "reason", reason, "for", d)
	return true
}
