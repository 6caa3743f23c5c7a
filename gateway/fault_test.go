package gateway_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
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

// faulty is an upstream instance on a fixed loopback address that can be
// killed, revived and made to misbehave.
type faulty struct {
	name string
	addr string
	mode atomic.Int32
	// badPOSTs counts the POSTs that arrived while the instance misbehaved.
	badPOSTs atomic.Int64
	mu       sync.Mutex
	srv      *http.Server
	wg       sync.WaitGroup
}

func (f *faulty) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	mode := f.mode.Load()
	if mode != healthy && r.Method == http.MethodPost {
		f.badPOSTs.Add(1)
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
	}
	w.Header().Set("X-Instance", f.name)
	io.WriteString(w, "ok")
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
	method string
	phase  string
	start  time.Time
	end    time.Time
	status int
	ctype  string
	err    error
}

// TestFaults drives two instances through a kill, connection resets, 2 s
// latency and 503s (one instance at a time), then takes both down for 3 s.
func TestFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("runs for about 20 seconds")
	}
	if raceEnabled {
		// The test holds the gateway to latency bounds (500ms per try,
		// recovery within 0.5s) that the race detector's slowdown breaks.
		t.Skip("timing-bound; run without -race")
	}
	t.Parallel()
	a, b := &faulty{name: "a"}, &faulty{name: "b"}
	a.start(t)
	b.start(t)
	t.Cleanup(func() { a.kill(); b.kill() })

	tr := upstream.NewTransport(nil)
	t.Cleanup(tr.CloseIdleConnections)
	pool, err := upstream.New(upstream.Config{
		Name:        "svc",
		Instances:   []upstream.Instance{{URL: "http://" + a.addr}, {URL: "http://" + b.addr}},
		Balancer:    upstream.LeastRequest, // a slow instance piles up requests in flight and is passed over
		Transport:   tr,
		HealthCheck: &upstream.HealthCheck{Path: "/healthz", Interval: 250 * time.Millisecond, Timeout: 250 * time.Millisecond, HealthyThreshold: 1, UnhealthyThreshold: 2},
		Outlier:     &upstream.OutlierDetection{Consecutive5xx: 2, ConsecutiveConnErrors: 2, BaseEjection: 2 * time.Second},
	})
	if err != nil {
		t.Fatal(err)
	}
	var logs strings.Builder
	var logMu sync.Mutex
	logger := slog.New(slog.NewTextHandler(writerFunc(func(p []byte) (int, error) {
		logMu.Lock()
		defer logMu.Unlock()
		return logs.Write(p)
	}), nil))
	g, gw := newGateway(t, gateway.WithLogger(logger), gateway.WithUpstream(pool), gateway.WithRoute(gateway.Route{Prefix: "/", Upstream: "svc",
		Policy: gateway.Policy{Timeout: 5 * time.Second,
			Retry: &gateway.Retry{Attempts: 3, PerTry: 500 * time.Millisecond, Backoff: 5 * time.Millisecond, MaxBackoff: 20 * time.Millisecond}}}))
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	g.Start(ctx)

	var phase atomic.Value
	phase.Store("warm-up")
	var mu sync.Mutex
	var results []outcome
	client := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	t.Cleanup(client.CloseIdleConnections)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	// A constant rate: a GET and a POST every 10 ms.
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			for _, m := range []string{http.MethodGet, http.MethodPost} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					o := outcome{method: m, phase: phase.Load().(string), start: time.Now()}
					req, _ := http.NewRequest(m, gw.URL+"/work", strings.NewReader("payload"))
					resp, err := client.Do(req)
					if err != nil {
						o.err = err
					} else {
						io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
						o.status, o.ctype = resp.StatusCode, resp.Header.Get("Content-Type")
					}
					o.end = time.Now()
					mu.Lock()
					results = append(results, o)
					mu.Unlock()
				}()
			}
		}
	}()

	settle := func(name string) {
		phase.Store(name)
		time.Sleep(time.Second)
	}
	begun := map[string]time.Time{} // when each fault was fully in place
	fault := func(name string, begin, end func()) {
		phase.Store(name)
		begin()
		begun[name] = time.Now()
		time.Sleep(2 * time.Second)
		end()
		settle("recovering from " + name)
		// Back to normal: both instances healthy before the next fault.
		waitFor(t, 20*time.Second, func() bool {
			for _, s := range pool.Status() {
				if !s.Healthy || s.Ejected {
					return false
				}
			}
			return true
		})
	}
	settle("warm-up")
	fault("killed", a.kill, func() { a.start(t) })
	badPOSTs := map[string]int64{}
	misbehave := func(name string, f *faulty, mode int32) {
		before := f.badPOSTs.Load()
		fault(name, func() { f.mode.Store(mode) }, func() { f.mode.Store(healthy) })
		badPOSTs[name] = f.badPOSTs.Load() - before
	}
	misbehave("resetting", a, resetting)
	misbehave("late", b, late)
	misbehave("unavailable", a, unavailable)
	phase.Store("both down")
	bothDown := time.Now()
	a.kill()
	b.kill()
	time.Sleep(3 * time.Second)
	phase.Store("back")
	back := time.Now()
	a.start(t)
	b.start(t)
	time.Sleep(time.Second)
	close(stop)
	wg.Wait()

	mu.Lock()
	defer mu.Unlock()
	defer func() {
		if t.Failed() {
			logMu.Lock()
			t.Logf("gateway log:\n%s", logs.String())
			logMu.Unlock()
		}
	}()
	perPhase := map[string]map[string][2]int{} // phase -> method -> [sent, failed]
	firstOK := time.Time{}
	for _, o := range results {
		failed := o.err != nil || o.status != http.StatusOK
		if o.end.After(bothDown) && o.phase != "back" {
			o.phase = "both down" // caught by the outage
		}
		if failed && o.phase == "killed" && o.start.Before(begun["killed"]) {
			o.phase = "in flight at the kill"
		}
		// A request sent before a fault began and answered after it was in
		// flight when the fault began: it may fail, whatever its phase says.
		for name, at := range begun {
			if failed && name != "killed" && o.start.Before(at) && o.end.After(at) {
				o.phase = "in flight at the start of " + name
			}
		}
		if perPhase[o.phase] == nil {
			perPhase[o.phase] = map[string][2]int{}
		}
		c := perPhase[o.phase][o.method]
		c[0]++
		if failed {
			c[1]++
		}
		perPhase[o.phase][o.method] = c
		if !failed {
			if o.phase == "back" && (firstOK.IsZero() || o.start.Before(firstOK)) {
				firstOK = o.start
			}
			continue
		}
		// Every failure is a 502/503/504 problem, never a dropped connection.
		if o.err != nil {
			t.Errorf("%s during %q: the connection failed: %v", o.method, o.phase, o.err)
			continue
		}
		if (o.status != 502 && o.status != 503 && o.status != 504) || o.ctype != problem.ContentType {
			t.Errorf("%s during %q: failed with %d %q, want a 502/503/504 problem", o.method, o.phase, o.status, o.ctype)
		}
	}
	for _, p := range []string{"warm-up", "in flight at the kill", "killed", "resetting", "late", "unavailable", "both down", "back"} {
		t.Logf("%-12s GET %v  POST %v  ([sent failed])", p, perPhase[p][http.MethodGet], perPhase[p][http.MethodPost])
	}
	for _, p := range []string{"warm-up", "killed", "recovering from killed", "resetting", "recovering from resetting",
		"late", "recovering from late", "unavailable", "recovering from unavailable"} {
		if n := perPhase[p][http.MethodGet][1]; n > 0 {
			t.Errorf("%d GETs failed during %q", n, p)
		}
	}
	if n := perPhase["killed"][http.MethodPost][1]; n > 0 {
		t.Errorf("%d POSTs sent after the kill failed; none may", n)
	}
	// A POST is not retried once sent (it may have had an effect), so the
	// POSTs that reached the misbehaving instance before it was taken out
	// of rotation may fail, and no others. Those are the few that reveal the
	// fault: least-request balancing passes over an instance whose requests
	// pile up, two failures in a row eject it, and health checks (every
	// 250ms, 250ms timeout) catch a slow one.
	const revealing = 5
	for _, p := range []string{"resetting", "late", "unavailable"} {
		sent := perPhase[p][http.MethodPost][0]
		failed := perPhase[p][http.MethodPost][1] + perPhase["recovering from "+p][http.MethodPost][1]
		if int64(failed) > badPOSTs[p] {
			t.Errorf("%d POSTs failed during %q but only %d reached the bad instance", failed, p, badPOSTs[p])
		}
		if badPOSTs[p] > revealing {
			t.Errorf("%d of %d POSTs during %q reached the bad instance: it was not taken out of rotation", badPOSTs[p], sent, p)
		}
		t.Logf("%-12s %d POSTs reached the bad instance", p, badPOSTs[p])
	}
	for _, p := range []string{"warm-up", "recovering from killed"} {
		if n := perPhase[p][http.MethodPost][1]; n > 0 {
			t.Errorf("%d POSTs failed during %q", n, p)
		}
	}
	if firstOK.IsZero() {
		t.Fatal("no request succeeded after the instances came back")
	}
	t.Logf("traffic resumed %v after the instances came back", firstOK.Sub(back).Round(time.Millisecond))
	if d := firstOK.Sub(back); d > 500*time.Millisecond {
		t.Errorf("traffic resumed %v after the instances came back; want within 0.5s", d)
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
