package gateway

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httputil"
	"sync"
	"time"
)

// mirror copies a route's requests to a shadow upstream.
type mirror struct {
	spec   Mirror
	up     Upstream
	sem    chan struct{}
	wg     *sync.WaitGroup
	logger *slog.Logger
	// headers sets the gateway's headers on a copy, as on the primary
	// request (Gateway.upstreamHeaders).
	headers func(*route, *httputil.ProxyRequest)
}

func newMirror(spec Mirror, up Upstream, wg *sync.WaitGroup, logger *slog.Logger) *mirror {
	if spec.MaxConcurrent == 0 {
		spec.MaxConcurrent = 64
	}
	if spec.Timeout == 0 {
		spec.Timeout = 10 * time.Second
	}
	if spec.MaxBodyBytes == 0 {
		spec.MaxBodyBytes = 64 << 10
	}
	return &mirror{spec: spec, up: up, sem: make(chan struct{}, spec.MaxConcurrent), wg: wg, logger: logger}
}

// send starts a copy of r, unless the sample, the body or the concurrency
// bound rules it out. It never blocks on the shadow upstream.
func (m *mirror) send(rt *route, r *http.Request) {
	if m.spec.Percent > 0 && m.spec.Percent < 100 && rand.Float64()*100 >= m.spec.Percent {
		return
	}
	if r.Header.Get("Upgrade") != "" {
		return
	}
	var body []byte
	if r.Body != nil && r.Body != http.NoBody && r.ContentLength != 0 {
		if r.ContentLength < 0 || r.ContentLength > m.spec.MaxBodyBytes {
			return
		}
		var ok bool
		if body, ok = readBody(r); !ok {
			return
		}
	}
	select {
	case m.sem <- struct{}{}:
	default:
		m.logger.Debug("mirror dropped a copy: too many in flight", "route", rt.name, "upstream", m.spec.Upstream)
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), m.spec.Timeout)
	out := r.Clone(ctx)
	out.RequestURI = ""
	out.Body = http.NoBody
	out.ContentLength = 0
	out.GetBody = nil
	if body != nil {
		out.Body = io.NopCloser(bytes.NewReader(body))
		out.ContentLength = int64(len(body))
	}
	removeHopHeaders(out.Header)
	dropForwarding(out.Header)
	m.headers(rt, &httputil.ProxyRequest{In: r, Out: out})
	rt.outbound(r, out, m.spec.Upstream)
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		defer func() { <-m.sem }()
		defer cancel()
		resp, err := m.up.RoundTrip(out)
		if err != nil {
			m.logger.Debug("mirror copy failed", "route", rt.name, "upstream", m.spec.Upstream, "error", err)
			return
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
	}()
}
