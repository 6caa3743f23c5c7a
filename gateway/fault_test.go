package gateway_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portico-dev/portico/gateway"
	"github.com/portico-dev/portico/gateway/upstream"
	"github.com/portico-dev/portico/internal/problem"
)

// The faults an instance can be put in.
const (
	healthy int32 = iota
	resetting
	late
	unavailable
)

// loadID is the header carrying each test request's number, so that an
// instance can say which requests met its fault.
const loadID = "X-Load-ID"

// faulty is an upstream instance on a fixed loopback address that can be
// killed, revived and made to misbehave.
type faulty struct {
	name string
	addr string
	mode atomic.Int32
	work atomic.Int64 // how long a healthy answer takes; none by default
	busy atomic.Int32 // requests taking work to answer
	hits atomic.Int64 // load requests received (health checks aside)
	mu   sync.Mutex
	srv  *http.Server
	wg   sync.WaitGroup
	// met holds the requests, by load ID, that arrived while the instance
	// misbehaved, with the fault each met.
	met map[int64]int32
}

func (f *faulty) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	mode := f.mode.Load()
	if r.Header.Get(loadID) != "" {
		f.hits.Add(1)
	}
	if id, err := strconv.ParseInt(r.Header.Get(loadID), 10, 64); err == nil && mode != healthy {
		f.mu.Lock()
		f.met[id] = mode
		f.mu.Unlock()
	}
	switch mode {
	case resetting:
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			if tc, ok := conn.(*net.TCPConn); ok {
				_ = tc.SetLinger(0) // close with RST
			}
			conn.Close()
		}
		return
	case late:
		select {
		case <-time.After(2 * time.Second):
		case <-r.Context().Done():
			return
		}
	case unavailable:
		problem.Error(w, r, http.StatusServiceUnavailable, "draining")
		return
	case healthy:
		if d := time.Duration(f.work.Load()); d > 0 {
			f.busy.Add(1)
			defer f.busy.Add(-1)
			select {
			case <-time.After(d):
			case <-r.Context().Done():
				return
			}
		}
	}
	w.Header().Set("X-Instance", f.name)
	io.WriteString(w, "ok")
}

// metFault reports the fault the request numbered id met at f, if any.
func (f *faulty) metFault(id int64) (int32, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	mode, ok := f.met[id]
	return mode, ok
}

func (f *faulty) start(t *testing.T) {
	t.Helper()
	addr := f.addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	var l net.Listener
	var err error
	for deadline := time.Now().Add(10 * time.Second); ; {
		if l, err = net.Listen("tcp", addr); err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("relisten %s: %v", addr, err)
	}
	f.addr = l.Addr().String()
	srv := &http.Server{Handler: f}
	f.mu.Lock()
	f.srv = srv
	if f.met == nil {
		f.met = map[int64]int32{}
	}
	f.mu.Unlock()
	f.wg.Add(1)
	go func() { defer f.wg.Done(); _ = srv.Serve(l) }()
}

func (f *faulty) kill() {
	f.mu.Lock()
	srv := f.srv
	f.srv = nil
	f.mu.Unlock()
	if srv != nil {
		srv.Close()
	}
	f.wg.Wait()
}

type outcome struct {
	id     int64
	method string
	phase  string
	start  time.Time
	end    time.Time
	status int
	ctype  string
	err    error
}

func (o outcome) failed() bool { return o.err != nil || o.status != http.StatusOK }

// span is a stretch of time a failure may be blamed on.
type span struct{ from, to time.Time }

// overlaps reports whether the request was in flight during s.
func (s span) overlaps(o outcome) bool { return o.start.Before(s.to) && o.end.After(s.from) }

// load sends a GET and a POST every 10 ms, each numbered in the loadID
// header, and records every outcome with the phase it was sent in.
type load struct {
	url    string
	client *http.Client
	ids    atomic.Int64
	phase  atomic.Value
	stop   chan struct{}
	once   sync.Once
	wg     sync.WaitGroup
	mu     sync.Mutex
	done   []outcome
}

func startLoad(t *testing.T, url string) *load {
	l := &load{url: url, stop: make(chan struct{}),
		client: &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}}
	t.Cleanup(l.client.CloseIdleConnections)
	t.Cleanup(func() { l.finish() }) // if the test stops early
	l.phase.Store("warm-up")
	l.wg.Go(func() {
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-l.stop:
				return
			case <-tick.C:
			}
			l.wg.Go(func() { l.send(http.MethodGet) })
			l.wg.Go(func() { l.send(http.MethodPost) })
		}
	})
	return l
}

func (l *load) send(method string) {
	o := outcome{
		id:     l.ids.Add(1),
		method: method,
		phase:  l.phase.Load().(string),
		start:  time.Now(),
	}
	req, _ := http.NewRequest(method, l.url+"/work", strings.NewReader("payload"))
	req.Header.Set(loadID, strconv.FormatInt(o.id, 10))
	resp, err := l.client.Do(req)
	if err != nil {
		o.err = err
	} else {
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		o.status, o.ctype = resp.StatusCode, resp.Header.Get("Content-Type")
	}
	o.end = time.Now()
	l.mu.Lock()
	l.done = append(l.done, o)
	l.mu.Unlock()
}

// finish stops the load and returns every outcome once all are answered.
func (l *load) finish() []outcome {
	l.once.Do(func() { close(l.stop) })
	l.wg.Wait()
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.done
}

// timeline is what happened during the test, to attribute failures to.
type timeline struct {
	a, b *faulty
	// t0 is when the load began.
	t0 time.Time
	// kills are the single-instance kills, from the call until the
	// instance was gone.
	kills []span
	// cut is how many requests the instance was answering when killed.
	cut int32
	// outage runs from both instances going down until the first request
	// sent after they came back succeeded.
	outage span
	// back is when both instances listened again.
	back time.Time
}

// blame names the fault a failed request is attributed to, or returns ""
// when no fault excuses the failure: then it counts against the goal.
//
// Only the outage of both instances excuses a failed GET: GETs are
// retried on the other instance, whatever one instance does. A POST is
// not retried once it may have reached an instance, so it may also fail
// when it met a misbehaving instance (the instance names it), or when it
// was in flight as an instance was killed.
func (tl *timeline) blame(o outcome) string {
	if tl.outage.overlaps(o) {
		return "both down"
	}
	if o.method != http.MethodPost {
		return ""
	}
	for _, f := range []*faulty{tl.a, tl.b} {
		if mode, ok := f.metFault(o.id); ok {
			return faultName(mode)
		}
	}
	for _, k := range tl.kills {
		if k.overlaps(o) {
			return "in flight at the kill"
		}
	}
	return ""
}

func faultName(mode int32) string {
	return map[int32]string{resetting: "resetting", late: "late", unavailable: "unavailable"}[mode]
}

// TestFaults drives two instances through a kill, connection resets, 2 s
// latency and 503s (one instance at a time), then takes both down for 3 s.
// Every failed request is attributed to a fault or counted against the
// goal: no GET fails while one instance is healthy, no POST fails unless
// it reached the bad instance (or was in flight when it was killed), and
// each fault is revealed by a few POSTs at most.
func TestFaults(t *testing.T) {
	// The test holds the gateway to latency bounds (500ms per try,
	// recovery within 0.5s) that the race detector's slowdown breaks.
	timingBound(t, "20 seconds")
	a, b := &faulty{name: "a"}, &faulty{name: "b"}
	a.start(t)
	b.start(t)
	t.Cleanup(func() { a.kill(); b.kill() })
	pool, logs := faultGateway(t, a, b, defaultFaults)
	l := startLoad(t, pool.url)
	tl := &timeline{a: a, b: b, t0: time.Now()}

	settle := func(name string) {
		l.phase.Store(name)
		time.Sleep(time.Second)
	}
	fault := func(name string, begin, end func()) {
		l.phase.Store(name)
		begin()
		time.Sleep(2 * time.Second)
		end()
		settle("recovering from " + name)
		// Back to normal: both instances healthy before the next fault.
		waitFor(t, 20*time.Second, pool.healthy)
	}
	settle("warm-up")
	fault("killed", func() {
		// Killed while answering, so that the kill cuts requests off.
		a.work.Store(int64(50 * time.Millisecond))
		waitFor(t, 20*time.Second, func() bool { return a.busy.Load() >= 2 })
		at := time.Now()
		tl.cut = a.busy.Load()
		a.kill()
		tl.kills = append(tl.kills, span{at, time.Now()})
		a.work.Store(0)
	}, func() { a.start(t) })
	for _, f := range []struct {
		in   *faulty
		mode int32
	}{{a, resetting}, {b, late}, {a, unavailable}} {
		fault(faultName(f.mode), func() { f.in.mode.Store(f.mode) }, func() { f.in.mode.Store(healthy) })
	}
	l.phase.Store("both down")
	tl.outage.from = time.Now()
	a.kill()
	b.kill()
	time.Sleep(3 * time.Second)
	a.start(t)
	b.start(t)
	tl.back = time.Now()
	l.phase.Store("back")
	time.Sleep(time.Second)
	results := l.finish()

	defer func() {
		if t.Failed() {
			t.Logf("gateway log:\n%s", logs())
		}
	}()
	checkFaults(t, tl, results)
}

// timingBound skips a fault test in -short mode and under the race
// detector, whose slowdown breaks its latency bounds, and runs it in
// parallel with the other tests.
func timingBound(t *testing.T, runs string) {
	t.Helper()
	if testing.Short() {
		t.Skip("runs for about " + runs)
	}
	if raceEnabled {
		t.Skip("timing-bound; run without -race")
	}
	t.Parallel()
}

// faultPool is the gateway under test and what the test reads of it.
type faultPool struct {
	url  string
	pool *upstream.Pool
}

// ejected reports whether the instance with url is ejected.
func (p faultPool) ejected(url string) bool {
	for _, s := range p.pool.Status() {
		if s.URL == url {
			return s.Ejected
		}
	}
	return false
}

// healthy reports whether every instance is healthy and in rotation.
func (p faultPool) healthy() bool {
	for _, s := range p.pool.Status() {
		if !s.Healthy || s.Ejected {
			return false
		}
	}
	return true
}

// faultSetup is what a fault test's gateway balances and retries with.
type faultSetup struct {
	balancer upstream.Balancer
	outlier  *upstream.OutlierDetection // nil: no outlier detection
	policy   gateway.Policy
	// passive leaves out the active health checks (every 250ms), so that
	// only the balancer, outlier detection and the policy keep traffic
	// off a bad instance.
	passive bool
}

// defaultFaults is TestFaults' setup: least-request balancing, health
// checks, ejection after two failures in a row, and three tries of 500ms
// each.
var defaultFaults = faultSetup{
	balancer: upstream.LeastRequest, // a slow instance piles up requests in flight and is passed over
	outlier:  &upstream.OutlierDetection{Consecutive5xx: 2, ConsecutiveConnErrors: 2, BaseEjection: 2 * time.Second},
	policy: gateway.Policy{Timeout: 5 * time.Second,
		Retry: &gateway.Retry{
			Attempts:   3,
			PerTry:     500 * time.Millisecond,
			Backoff:    5 * time.Millisecond,
			MaxBackoff: 20 * time.Millisecond,
		}},
}

// faultGateway starts a gateway in front of a and b with setup. It
// returns the gateway and its log.
func faultGateway(t *testing.T, a, b *faulty, setup faultSetup) (faultPool, func() string) {
	t.Helper()
	tr := upstream.NewTransport(nil)
	t.Cleanup(tr.CloseIdleConnections)
	var logs strings.Builder
	var mu sync.Mutex
	logger := slog.New(slog.NewTextHandler(writerFunc(func(p []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return logs.Write(p)
	}), nil))
	var hc *upstream.HealthCheck
	if !setup.passive {
		hc = &upstream.HealthCheck{
			Path:               "/healthz",
			Interval:           250 * time.Millisecond,
			Timeout:            250 * time.Millisecond,
			HealthyThreshold:   1,
			UnhealthyThreshold: 2,
		}
	}
	pool, err := upstream.New(upstream.Config{
		Name:        "svc",
		Instances:   []upstream.Instance{{URL: "http://" + a.addr}, {URL: "http://" + b.addr}},
		Balancer:    setup.balancer,
		Transport:   tr,
		HealthCheck: hc,
		Outlier:     setup.outlier,
		Logger:      logger,
	})
	if err != nil {
		t.Fatal(err)
	}
	g, gw := newGateway(t, gateway.WithLogger(logger), gateway.WithUpstream(pool),
		gateway.WithRoute(gateway.Route{Prefix: "/", Upstream: "svc", Policy: setup.policy}))
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	g.Start(ctx)
	return faultPool{url: gw.URL, pool: pool}, func() string {
		mu.Lock()
		defer mu.Unlock()
		return logs.String()
	}
}

// tally counts a phase's requests of one method.
type tally struct{ sent, failed, excused int }

// checkFaults attributes every failure and holds the gateway to the goal.
func checkFaults(t *testing.T, tl *timeline, results []outcome) {
	// The first request sent after the instances came back that succeeded
	// ends the outage.
	var firstOK time.Time
	for _, o := range results {
		if !o.failed() && !o.start.Before(tl.back) && (firstOK.IsZero() || o.start.Before(firstOK)) {
			firstOK = o.start
		}
	}
	if firstOK.IsZero() {
		t.Fatal("no request succeeded after the instances came back")
	}
	tl.outage.to = firstOK
	perPhase := map[string]map[string]tally{} // phase -> method -> tally
	blamed := map[string]map[string]int{}     // fault -> method -> failures attributed to it
	var unexcused []outcome
	for _, o := range results {
		if perPhase[o.phase] == nil {
			perPhase[o.phase] = map[string]tally{}
		}
		c := perPhase[o.phase][o.method]
		c.sent++
		if o.failed() {
			c.failed++
			checkFailure(t, o)
			if fault := tl.blame(o); fault != "" {
				c.excused++
				if blamed[fault] == nil {
					blamed[fault] = map[string]int{}
				}
				blamed[fault][o.method]++
			} else {
				unexcused = append(unexcused, o)
			}
		}
		perPhase[o.phase][o.method] = c
	}
	for _, p := range []string{"warm-up", "killed", "recovering from killed", "resetting", "recovering from resetting",
		"late", "recovering from late", "unavailable", "recovering from unavailable", "both down", "back"} {
		t.Logf("%-28s GET %+v  POST %+v", p, perPhase[p][http.MethodGet], perPhase[p][http.MethodPost])
	}
	reportUnexcused(t, tl, unexcused)
	checkRevealed(t, tl, results, blamed)
	t.Logf("the kill cut off %d requests in flight; %d POSTs failed with it (a GET may not)",
		tl.cut, blamed["in flight at the kill"][http.MethodPost])
	if blamed["both down"][http.MethodGet] == 0 {
		t.Error("no GET failed while both instances were down: the outage was not exercised")
	}
	t.Logf("traffic resumed %v after the instances came back", firstOK.Sub(tl.back).Round(time.Millisecond))
	if d := firstOK.Sub(tl.back); d > 500*time.Millisecond {
		t.Errorf("traffic resumed %v after the instances came back; want within 0.5s", d)
	}
}

// checkFailure holds a failed request to its form: a 502/503/504 problem,
// never a dropped connection.
func checkFailure(t *testing.T, o outcome) {
	t.Helper()
	if o.err != nil {
		t.Errorf("%s #%d during %q: the connection failed: %v", o.method, o.id, o.phase, o.err)
		return
	}
	if !slices.Contains([]int{502, 503, 504}, o.status) {
		t.Errorf("%s #%d during %q: failed with %d, want 502, 503 or 504", o.method, o.id, o.phase, o.status)
	}
	if got, want := o.ctype, problem.ContentType; got != want {
		t.Errorf("%s #%d during %q: Content-Type %q, want %q", o.method, o.id, o.phase, got, want)
	}
}

// reportUnexcused fails the test for each phase and method with failures
// no fault explains, listing a few of them.
func reportUnexcused(t *testing.T, tl *timeline, unexcused []outcome) {
	type key struct{ phase, method string }
	var order []key
	by := map[key][]outcome{}
	for _, o := range unexcused {
		k := key{o.phase, o.method}
		if by[k] == nil {
			order = append(order, k)
		}
		by[k] = append(by[k], o)
	}
	for _, k := range order {
		fails := by[k]
		var sample []string
		for _, o := range fails[:min(len(fails), 3)] {
			sample = append(sample, fmt.Sprintf("#%d sent at +%v, answered %d after %v", o.id,
				o.start.Sub(tl.t0).Round(time.Millisecond), o.status, o.end.Sub(o.start).Round(time.Millisecond)))
		}
		t.Errorf("%d %ss sent during %q failed with no fault to blame: %s",
			len(fails), k.method, k.phase, strings.Join(sample, "; "))
	}
}

// revealing is how many POSTs may reach a misbehaving instance before it
// is taken out of rotation: least-request balancing passes over an
// instance whose requests pile up, two failures in a row eject it, and
// health checks (every 250ms, 250ms timeout) catch a slow one.
const revealing = 5

// checkRevealed holds each misbehaving instance to the few POSTs that
// reveal its fault, and checks that each fault was met at all.
func checkRevealed(t *testing.T, tl *timeline, results []outcome, blamed map[string]map[string]int) {
	met := map[string]map[string]int{} // fault -> method -> requests that met it
	for _, o := range results {
		for _, f := range []*faulty{tl.a, tl.b} {
			if mode, ok := f.metFault(o.id); ok {
				if met[faultName(mode)] == nil {
					met[faultName(mode)] = map[string]int{}
				}
				met[faultName(mode)][o.method]++
			}
		}
	}
	for _, mode := range []int32{resetting, late, unavailable} {
		name := faultName(mode)
		gets, posts := met[name][http.MethodGet], met[name][http.MethodPost]
		t.Logf("%-12s met by %d GETs and %d POSTs; %d POSTs failed", name, gets, posts, blamed[name][http.MethodPost])
		if gets+posts == 0 {
			t.Errorf("no request reached the instance while it was %s: the fault was not exercised", name)
		}
		if posts > revealing {
			t.Errorf("%d POSTs reached the instance while it was %s: it was not taken out of rotation", posts, name)
		}
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

func waitFor(t *testing.T, d time.Duration, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in time")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
