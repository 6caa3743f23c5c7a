package upstream

import (
	"context"
	"errors"
	"net/http"
	"time"
)

// observe feeds the outcome of one request, picked at start (unix
// nanoseconds), to the instance's counters and to passive outlier
// detection.
func (p *Pool) observe(ctx context.Context, in *instance, start int64, resp *http.Response, err error) {
	var connErr, serverErr bool
	switch {
	case err != nil:
		if errors.Is(context.Cause(ctx), context.Canceled) {
			// The caller gave up; that says nothing about the instance.
			// A context cancelled with another cause, such as a retrying
			// transport's per-attempt timeout, did not give up: the
			// instance was too slow, and that counts against it.
			return
		}
		connErr, serverErr = true, true
	case resp.StatusCode >= http.StatusInternalServerError:
		serverErr = true
	}
	if serverErr {
		in.failures.Add(1)
	}
	od := p.od
	if od == nil {
		return
	}
	now := p.now().UnixNano()
	in.mu.Lock()
	defer in.mu.Unlock()
	if !serverErr {
		in.consec5xx, in.consecConn = 0, 0
		if in.ejected(now) && start >= in.ejectedAt {
			// Picked while ejected (panic mode) and answered: it is back.
			// A request sent before the ejection proves nothing.
			in.ejectedUntil.Store(0)
			in.lastEjectEnd = now
			p.log.Info("instance rejoined after a successful request", "instance", in.key)
		}
		return
	}
	in.consec5xx++
	if connErr {
		in.consecConn++
	}
	var reason string
	switch {
	case od.ConsecutiveConnErrors > 0 && in.consecConn >= od.ConsecutiveConnErrors:
		reason = "conn_errors"
	case od.Consecutive5xx > 0 && in.consec5xx >= od.Consecutive5xx:
		reason = "5xx"
	default:
		return
	}
	if in.ejected(now) {
		return
	}
	if p.eject(in, now, reason) {
		in.consec5xx, in.consecConn = 0, 0
	}
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
