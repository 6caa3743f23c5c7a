package upstream

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/portico-dev/portico/resilience"
)

// ErrNoInstance is returned by [Pool.RoundTrip] when the pool has no
// instance at all, for example because DNS discovery has resolved nothing
// yet. (When instances exist but none is healthy, the pool picks among all
// of them instead; see "Panic mode" in the package documentation.)
var ErrNoInstance = errors.New("portico/upstream: no instance")

// Pool is a set of instances of one upstream service. It is an
// [http.RoundTripper]: each RoundTrip picks an available instance (per the
// balancer), points the request's URL scheme and host at it (keeping the
// path and query), sends it through the pool's transport and feeds the
// outcome to passive outlier detection. A retrying transport wrapped around
// a Pool therefore picks afresh on every attempt, and with [TrackAttempts]
// prefers an instance not yet tried for the request.
//
// The outgoing Host header: if the caller has set req.Host to something
// other than req.URL.Host (a route that overrides Host), it is kept;
// otherwise req.Host is cleared so that the instance's host is sent.
//
// A Pool is safe for concurrent use. Call [Pool.Start] to begin health
// checks and discovery, and [Pool.Close] to stop them.
type Pool struct {
	name      string
	balancer  Balancer
	hasher    hasher
	sticky    bool
	cookie    string
	cookieTTL time.Duration
	secure    bool
	transport http.RoundTripper
	own       *http.Transport // closed on Close; nil when shared or the caller's
	log       *slog.Logger
	now       func() time.Time
	hc        *HealthCheck      // normalized copy, or nil
	od        *OutlierDetection // normalized copy, or nil
	dns       *DNSConfig        // normalized copy, or nil
	metrics   *metrics
	// track keeps each instance's latency estimate (PeakEWMA, Slow);
	// clocked reads the clock at each pick and response (track, od).
	track, clocked bool
	// slowOn keeps each instance's pending requests (slow ejection).
	slowOn bool

	cur     atomic.Pointer[set]
	ejectMu sync.Mutex // serializes ejection decisions (MaxEjectedPercent)

	lifeMu  sync.Mutex
	started bool
	closed  bool
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	checked chan struct{} // closed once the first round of health checks is done
}

// New validates cfg and returns a pool. Errors name the offending field,
// as in `instances[1].url: "10.0.0.1" has no scheme; use http://10.0.0.1`.
// Static instances are available at once; DNS instances appear when
// [Pool.Start] resolves the name.
func New(cfg Config) (*Pool, error) {
	if err := validate(&cfg); err != nil {
		return nil, err
	}
	p := &Pool{
		name:      cfg.Name,
		balancer:  cfg.Balancer,
		hasher:    newHasher(cfg.HashOn, cfg.ClientIP),
		sticky:    cfg.HashOn.Sticky,
		cookie:    cfg.HashOn.Cookie,
		cookieTTL: cfg.HashOn.CookieTTL,
		secure:    cfg.HashOn.CookieSecure,
		transport: cfg.Transport,
		log:       cfg.Logger,
		now:       cfg.Now,
		hc:        cfg.HealthCheck,
		od:        cfg.Outlier,
		dns:       cfg.DNS,
		checked:   make(chan struct{}),
	}
	if p.hc == nil {
		close(p.checked)
	}
	if p.balancer == "" {
		p.balancer = RoundRobin
	}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	p.log = p.log.With("upstream", p.name)
	if p.now == nil {
		p.now = time.Now
	}
	p.track = p.balancer == PeakEWMA || (p.od != nil && p.od.Slow != nil)
	p.clocked = p.track || p.od != nil
	p.slowOn = p.od != nil && p.od.Slow != nil
	switch {
	case p.transport != nil:
	case cfg.TLS != nil:
		p.own = NewTransport(cfg.TLS)
		p.transport = p.own
	default:
		p.transport = sharedTransport()
	}
	list := make([]*instance, 0, len(cfg.Instances))
	for _, in := range cfg.Instances {
		scheme, host, key, _ := parseInstanceURL(in.URL)
		list = append(list, newInstance(key, scheme, host, in.Weight))
	}
	p.cur.Store(newSet(list, p.balancer))
	m, err := newMetrics(p, cfg.MeterProvider)
	if err != nil {
		return nil, fmt.Errorf("meter_provider: %w", err)
	}
	p.metrics = m
	return p, nil
}

// markChecked records that the first round of health checks is over.
func (p *Pool) markChecked() {
	p.lifeMu.Lock()
	defer p.lifeMu.Unlock()
	select {
	case <-p.checked:
	default:
		close(p.checked)
	}
}

// Name returns the pool's name.
func (p *Pool) Name() string { return p.name }

// Start starts the active health checks and DNS discovery, if configured.
// The first DNS lookup happens before Start returns (bounded by
// DNSConfig.Timeout), so that the pool has instances as soon as it can.
// Start is idempotent; the goroutines stop when ctx is done or
// [Pool.Close] is called. Starting a closed pool does nothing.
func (p *Pool) Start(ctx context.Context) {
	p.lifeMu.Lock()
	defer p.lifeMu.Unlock()
	if p.started || p.closed {
		return
	}
	p.started = true
	ctx, p.cancel = context.WithCancel(ctx)
	if p.dns != nil {
		p.discover(ctx)
		p.wg.Add(1)
		go p.discoveryLoop(ctx)
	}
	if p.hc != nil {
		p.wg.Add(1)
		go p.healthLoop(ctx)
	}
}

// Close stops every goroutine the pool started and waits for them, closes
// the idle connections of a transport the pool created itself, and
// unregisters the pool's metric callbacks. It is idempotent and always
// returns nil. A closed pool still serves RoundTrip with its last state.
func (p *Pool) Close() error {
	p.lifeMu.Lock()
	if p.closed {
		p.lifeMu.Unlock()
		return nil
	}
	p.closed = true
	if p.cancel != nil {
		p.cancel()
	}
	p.lifeMu.Unlock()
	p.wg.Wait()
	p.markChecked()
	if p.own != nil {
		p.own.CloseIdleConnections()
	}
	p.metrics.close()
	return nil
}

// Warm waits until the pool's first round of active health checks has
// finished, so that a pool about to take traffic (a gateway's, before a
// reload swaps it in) knows which instances are down instead of assuming
// them all up. It returns nil at once for a pool without health checks or
// one already checked, and ctx's error if ctx ends first. Call it after
// [Pool.Start]; a pool closed before its first round returns nil.
func (p *Pool) Warm(ctx context.Context) error {
	select {
	case <-p.checked:
		return nil
	default:
	}
	select {
	case <-p.checked:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Ready reports whether the pool can take traffic: it has at least one
// instance and, when health checks are configured, at least one of them
// is healthy.
func (p *Pool) Ready() bool {
	s := p.cur.Load()
	if len(s.list) == 0 {
		return false
	}
	if p.hc == nil {
		return true
	}
	for _, in := range s.list {
		if in.healthy.Load() {
			return true
		}
	}
	return false
}

// Status returns a snapshot of every instance, in the pool's order.
func (p *Pool) Status() []InstanceStatus {
	s := p.cur.Load()
	now := p.now().UnixNano()
	out := make([]InstanceStatus, len(s.list))
	for i, in := range s.list {
		out[i] = in.status(now, p.track)
	}
	return out
}

// RoundTrip sends req to an instance of the pool. It implements
// [http.RoundTripper]; see [Pool] for how the instance is chosen and how
// the request is rewritten. Transport errors are returned as the transport
// returned them; with no instance at all the error wraps [ErrNoInstance].
func (p *Pool) RoundTrip(req *http.Request) (*http.Response, error) {
	s := p.cur.Load()
	if len(s.list) == 0 {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, fmt.Errorf("upstream %q: %w", p.name, ErrNoInstance)
	}
	ctx := req.Context()
	in, start, cookieV := p.choose(s, req)
	if err := resilience.Instance(ctx, in.host); err != nil {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, err
	}

	// One allocation holds the outgoing request, its URL and the body
	// wrapper of its response.
	ob := &outbound{req: *req, url: *req.URL}
	out := &ob.req
	out.URL = &ob.url
	out.URL.Scheme, out.URL.Host = in.scheme, in.host
	if req.Host == req.URL.Host {
		out.Host = ""
	}

	in.inFlight.Add(1)
	in.requests.Add(1)
	if p.slowOn {
		in.pend.add(start)
	}
	resp, err := p.transport.RoundTrip(out)
	var late resilience.LateOutcome
	if err == nil && resp.StatusCode < http.StatusInternalServerError {
		late, _ = resp.Body.(resilience.LateOutcome)
	}
	p.observe(ctx, in, start, resp, err, late != nil)
	if err != nil {
		in.inFlight.Add(-1)
		return nil, err
	}
	if cookieV != "" {
		c := &http.Cookie{Name: p.cookie, Value: cookieV, Path: "/", HttpOnly: true, Secure: p.secure, SameSite: http.SameSiteLaxMode}
		if p.cookieTTL > 0 {
			c.MaxAge = int(p.cookieTTL / time.Second)
		}
		resp.Header.Add("Set-Cookie", c.String())
	}
	if resp.StatusCode == http.StatusSwitchingProtocols || resp.Body == nil || resp.Body == http.NoBody {
		// An upgraded connection's body is the connection itself (an
		// io.ReadWriteCloser the proxy relies on): leave it unwrapped.
		in.inFlight.Add(-1)
		return resp, nil
	}
	ob.body.ReadCloser, ob.body.in = resp.Body, in
	resp.Body = &ob.body
	if late != nil {
		resp.Body = &lateBody{trackedBody: &ob.body, late: late, p: p, start: start}
	}
	return resp, nil
}

// choose picks the instance for req, and returns the time of the pick
// (unix nanoseconds, 0 unless the pool is clocked) and the sticky-session
// key it made up, if any.
func (p *Pool) choose(s *set, req *http.Request) (in *instance, now int64, cookieV string) {
	var (
		key    uint64
		hasKey bool
	)
	if p.balancer == ConsistentHash {
		k := p.hasher.key(req)
		if k == "" && p.sticky {
			k = newStickyKey()
			cookieV = k
		}
		if k != "" {
			key, hasKey = hashString(k), true
		}
	}
	tried := attemptsFrom(req.Context())
	in, now = p.pick(req.Context(), s, tried, key, hasKey)
	tried.add(in)
	return in, now, cookieV
}

// pick chooses an instance: an available one not yet tried for this
// request, else an available one, else (panic mode) any untried one, else
// any one. It returns nil only for an empty set, and the time of the pick.
func (p *Pool) pick(ctx context.Context, s *set, tried *attempts, key uint64, hasKey bool) (*instance, int64) {
	f := filter{ctx: ctx, tried: tried}
	if p.clocked {
		// Only outlier detection ejects and only latency estimates decay;
		// without them, skip reading the clock.
		f.now = p.now().UnixNano()
	}
	fresh := !tried.empty()
	for _, m := range [...]struct{ panic, fresh bool }{{false, true}, {false, false}, {true, true}, {true, false}} {
		if m.fresh && !fresh {
			continue
		}
		f.panic, f.fresh = m.panic, m.fresh
		if in := s.picker.pick(s, f, key, hasKey); in != nil {
			if m.panic {
				p.metrics.panicPick()
			}
			return in, f.now
		}
	}
	return nil, f.now
}

func newStickyKey() string {
	var b [stickyCookieKeyLength / 2]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// outbound is what RoundTrip allocates per request.
type outbound struct {
	req  http.Request
	url  url.URL
	body trackedBody
}

// trackedBody ends the in-flight count of a request when its response body
// is read to the end or closed, whichever comes first.
type trackedBody struct {
	io.ReadCloser
	in   *instance
	done atomic.Bool
}

func (b *trackedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil {
		b.release()
	}
	return n, err
}

func (b *trackedBody) Close() error {
	err := b.ReadCloser.Close()
	b.release()
	return err
}

// lateBody is the trackedBody of a response whose outcome is known only
// at the end of its body (a [resilience.LateOutcome]): at io.EOF it feeds
// that outcome to the instance's failure count and outlier detection, and
// it forwards Failed to the circuit breaker above.
type lateBody struct {
	*trackedBody
	late  resilience.LateOutcome
	p     *Pool
	start int64
	ended atomic.Bool
}

func (b *lateBody) Read(buf []byte) (int, error) {
	n, err := b.trackedBody.Read(buf)
	if errors.Is(err, io.EOF) && b.ended.CompareAndSwap(false, true) {
		b.p.settleLate(b.in, b.start, b.late.Failed())
	}
	return n, err
}

// Failed implements [resilience.LateOutcome].
func (b *lateBody) Failed() bool { return b.late.Failed() }

func (b *trackedBody) release() {
	if b.done.CompareAndSwap(false, true) {
		b.in.inFlight.Add(-1)
	}
}
