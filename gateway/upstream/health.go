package upstream

import (
	"context"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"sync"
	"time"
)

// healthLoop runs a round of checks at once, then one every Interval plus
// up to 10% of jitter, until ctx is done.
func (p *Pool) healthLoop(ctx context.Context) {
	defer p.wg.Done()
	// Checks get connections of their own, apart from traffic: a check
	// that times out never disturbs a request, and a pooled connection
	// never makes a dead instance look alive.
	rt := p.transport
	if t, ok := rt.(*http.Transport); ok {
		ct := t.Clone()
		ct.MaxIdleConnsPerHost = 1
		defer ct.CloseIdleConnections()
		rt = ct
	}
	client := &http.Client{
		Transport: rt,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		p.checkAll(ctx, client)
		p.markChecked()
		timer.Reset(jitter(p.hc.Interval))
	}
}

// jitter returns d plus a random 0–10% of d.
func jitter(d time.Duration) time.Duration {
	return d + rand.N(d/10+1)
}

func (p *Pool) checkAll(ctx context.Context, client *http.Client) {
	var wg sync.WaitGroup
	for _, in := range p.cur.Load().list {
		wg.Go(func() { p.checkOne(ctx, client, in) })
	}
	wg.Wait()
}

func (p *Pool) checkOne(ctx context.Context, client *http.Client, in *instance) {
	hc := p.hc
	cctx, cancel := context.WithTimeout(ctx, hc.Timeout)
	defer cancel()
	var (
		pass bool
		err  error
	)
	if hc.Probe != nil {
		err = hc.Probe(cctx, client.Transport, in.scheme+"://"+in.host)
		pass = err == nil
	} else {
		pass, err = p.checkHTTP(cctx, client, in)
	}
	if ctx.Err() != nil {
		return // the pool is closing: no verdict
	}
	p.metrics.healthCheck(ctx, in, pass)
	first := !in.hcSeen
	in.hcSeen = true
	if pass {
		in.hcFail = 0
		in.hcPass++
		if !in.healthy.Load() && in.hcPass >= hc.HealthyThreshold {
			in.healthy.Store(true)
			p.log.Info("instance healthy", "instance", in.key)
		}
		return
	}
	in.hcPass = 0
	in.hcFail++
	// An instance's first check decides at once: a pool that is new, or
	// an instance just discovered, takes no traffic to an instance found
	// down, rather than UnhealthyThreshold rounds of it.
	if in.healthy.Load() && (first || in.hcFail >= hc.UnhealthyThreshold) {
		in.healthy.Store(false)
		p.log.Warn("instance unhealthy", "instance", in.key, "error", err)
	}
}

// checkHTTP is the HTTP check of in: a GET of Path, which passes when
// its status does.
func (p *Pool) checkHTTP(ctx context.Context, client *http.Client, in *instance) (bool, error) {
	hc := p.hc
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, in.scheme+"://"+in.host+hc.Path, nil)
	if err != nil {
		return false, err
	}
	req.Host = hc.Host
	req.Header.Set("User-Agent", "portico-health-check")
	resp, err := client.Do(req)
	if err != nil {
		return false, err
	}
	_, _ = io.CopyN(io.Discard, resp.Body, maxHealthBodyDiscard)
	resp.Body.Close()
	return hc.passes(resp.StatusCode), nil
}

func (hc *HealthCheck) passes(status int) bool {
	if len(hc.ExpectStatus) == 0 {
		return status >= 200 && status < 400
	}
	return slices.Contains(hc.ExpectStatus, status)
}
