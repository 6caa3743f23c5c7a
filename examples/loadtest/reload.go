package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// reloadConfig is a gateway with the pieces a reload could disturb: a
// health-checked pool with one instance that never answers (%[2]s), limits,
// a quota, a cache, idempotency, retries, a breaker and a bulkhead. %[1]s
// is the upstream's address; %[3]d, the version, is the one value a
// reload changes (a response header).
const reloadConfig = `
upstreams:
  - name: svc
    instances: [{url: "http://%[1]s"}, {url: "http://%[2]s"}]
    health_check: {path: /health, interval: 1s, timeout: 200ms}
    outlier: {consecutive_5xx: 5}
routes:
  - name: api
    prefix: /api
    upstream: svc
    response_headers: {set: {X-Version: "%[3]d"}}
    policy:
      timeout: 5s
      retry: {attempts: 2, per_try: 1s}
      breaker: {failures: 50}
      bulkhead: {max_concurrent: 500}
      rate_limit: {requests: 100000, key: ip}
      quota: {limit: 100000000, key: ip}
      idempotency: {}
  - name: cached
    prefix: /cached
    upstream: svc
    response_headers: {set: {X-Version: "%[3]d"}}
    policy: {cache: {ttl: 1m}}
`

// reloadVersionHeader carries the configuration's version in answers.
const reloadVersionHeader = "X-Version"

// phase is what one phase of the reload workload measured.
type phase struct {
	latencies sorted // of the answered requests
	// nearReload are the latencies of the answered requests sent within
	// nearReload after the harness signalled a reload: those a reload
	// could delay, compared with the rest of the same phase.
	nearReload sorted
	failed     int
	firstErr   error
	// version is the highest configuration version an answer carried.
	version int
	// reloads is how many reloads the gateway reported in the phase.
	reloads int
	// cpu is the gateway process's CPU time (user and system) in the
	// phase.
	cpu time.Duration
}

// nearReload is how long after a reload signal a request counts as
// near it: a reload's build and swap take about a millisecond.
const nearReload = 50 * time.Millisecond

// sorted are latencies in ascending order.
type sorted []time.Duration

// quantile returns the q-quantile (0 < q <= 1): the smallest latency at
// least a fraction q of requests did not exceed.
func (s sorted) quantile(q float64) time.Duration {
	n := len(s)
	if n == 0 {
		return 0
	}
	i := int(math.Ceil(q*float64(n))) - 1
	return s[min(max(i, 0), n-1)]
}

// quantile returns the q-quantile (0 < q <= 1) of the phase's latencies.
func (p phase) quantile(q float64) time.Duration { return p.latencies.quantile(q) }

func (p phase) slowest() time.Duration { return p.quantile(1) }

// reloadRun is one run of the reload workload: a steady phase, then one
// with a reload every interval.
type reloadRun struct {
	// direct is the same load sent straight to the upstream, no gateway
	// in between: the slowest-over-p99 the machine gives by itself.
	direct            phase
	steady, reloading phase
	// builds and warms are how long each reload's build and warm-up
	// took, as the gateway logged them (wall time).
	builds, warms []time.Duration
}

// ratio is the slowest request during reloads over the steady p99.
func (r reloadRun) ratio() float64 {
	return float64(r.reloading.slowest()) / float64(r.steady.quantile(0.99))
}

// cpuPerReload is the gateway's CPU time in the phase with reloads over
// the steady phase's, per reload: what a reload costs the process, at
// the kernel's 10 ms tick resolution and within the variation of the
// requests' own CPU time.
func (r reloadRun) cpuPerReload() time.Duration {
	if r.reloading.reloads == 0 {
		return 0
	}
	return (r.reloading.cpu - r.steady.cpu) / time.Duration(r.reloading.reloads)
}

// steadyRatio is the steady phase's own slowest over its p99: what the
// machine's noise and the gateway without reloads give.
func (r reloadRun) steadyRatio() float64 {
	return float64(r.steady.slowest()) / float64(r.steady.quantile(0.99))
}

// directRatio is the direct phase's slowest over its own p99: what the
// machine's noise alone gives, with no gateway at all.
func (r reloadRun) directRatio() float64 {
	return float64(r.direct.slowest()) / float64(r.direct.quantile(0.99))
}

// reloadTarget is what the reload workload drives: where the gateway
// listens, how to make it reload version v of its file, and how many
// reloads it has reported so far.
type reloadTarget struct {
	base string
	// unversioned answers carry no configuration version (the upstream
	// itself, measured directly).
	unversioned bool
	reload      func(v int) error
	reloads     func() int
	// cpu returns the CPU time the gateway process has used so far.
	cpu func() (time.Duration, error)
}

// openLoop sends rate requests a second to t for d, each on its own
// goroutine whatever the others are doing (three in four to /api/items,
// one to /cached/items), and times each from sending to the end of its
// answer. every > 0 reloads the gateway every so often meanwhile, with
// versions from *version on.
func openLoop(ctx context.Context, c *http.Client, t reloadTarget, rate int, d, every time.Duration, version *int) phase {
	var (
		mu      sync.Mutex
		p       phase
		wg      sync.WaitGroup
		sent    []time.Time // of each answered request, beside p.latencies
		reloads []time.Time // when each reload was signalled
	)
	record := func(at time.Time, took time.Duration, v int, err error) {
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			if p.failed++; p.firstErr == nil {
				p.firstErr = err
			}
			return
		}
		p.latencies = append(p.latencies, took)
		sent = append(sent, at)
		p.version = max(p.version, v)
	}
	reloads0 := t.reloads()
	cpu0, cpuErr := t.cpu()
	stop := make(chan struct{})
	var reloader sync.WaitGroup
	if every > 0 {
		reloader.Go(func() {
			tick := time.NewTicker(every)
			defer tick.Stop()
			for {
				select {
				case <-stop:
					return
				case <-tick.C:
				}
				*version++
				mu.Lock()
				reloads = append(reloads, time.Now())
				mu.Unlock()
				if err := t.reload(*version); err != nil {
					record(time.Time{}, 0, 0, fmt.Errorf("reload %d: %w", *version, err))
				}
			}
		})
	}
	// Request i is sent at start + i/rate, late if the generator fell
	// behind, never skipped: a stall is not allowed to thin the load.
	interval := time.Second / time.Duration(rate)
	start := time.Now()
	for i := 0; ctx.Err() == nil; i++ {
		at := start.Add(time.Duration(i) * interval)
		if at.Sub(start) >= d {
			break
		}
		if wait := time.Until(at); wait > 0 {
			select {
			case <-ctx.Done():
			case <-time.After(wait):
			}
		}
		path := "/api/items"
		if i%4 == 0 {
			path = "/cached/items"
		}
		wg.Go(func() {
			start := time.Now()
			v, err := get(ctx, c, t.base+path, !t.unversioned)
			record(start, time.Since(start), v, err)
		})
	}
	close(stop)
	reloader.Wait()
	wg.Wait()
	p.reloads = t.reloads() - reloads0
	if cpu1, err := t.cpu(); err == nil && cpuErr == nil {
		p.cpu = cpu1 - cpu0
	}
	p.nearReload = nearReloads(p.latencies, sent, reloads)
	slices.Sort(p.latencies)
	return p
}

// nearReloads returns, sorted, the latencies of the requests sent within
// nearReload after one of the reloads (signalled in time order).
func nearReloads(latencies []time.Duration, sent, reloads []time.Time) sorted {
	var near sorted
	for i, at := range sent {
		// The last reload signalled at or before at.
		j, _ := slices.BinarySearchFunc(reloads, at, func(r, at time.Time) int { return r.Compare(at) })
		if j < len(reloads) && reloads[j].Equal(at) {
			j++
		}
		if j > 0 && at.Sub(reloads[j-1]) < nearReload {
			near = append(near, latencies[i])
		}
	}
	slices.Sort(near)
	return near
}

// get makes one GET, reads its answer to the end and returns the
// configuration version the answer carries, when versioned.
func get(ctx context.Context, c *http.Client, url string, versioned bool) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	res, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	if _, err := io.Copy(io.Discard, res.Body); err != nil {
		return 0, err
	}
	if res.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("GET %s: status %d", url, res.StatusCode)
	}
	if !versioned {
		return 0, nil
	}
	v, err := strconv.Atoi(res.Header.Get(reloadVersionHeader))
	if err != nil {
		return 0, fmt.Errorf("GET %s: %s %q: %w", url, reloadVersionHeader, res.Header.Get(reloadVersionHeader), err)
	}
	return v, nil
}

// measureReloads measures the same load sent straight to direct (when
// its base is set), then warms t up and measures a steady phase and a
// phase with a reload every o.reloadEvery, each o.phase long.
func measureReloads(ctx context.Context, o *options, direct, t reloadTarget) reloadRun {
	c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1024, DisableCompression: true}, Timeout: 30 * time.Second}
	defer c.CloseIdleConnections()
	version := 0
	var r reloadRun
	if direct.base != "" {
		if o.warmup > 0 {
			openLoop(ctx, c, direct, o.rate, o.warmup, 0, &version)
		}
		r.direct = openLoop(ctx, c, direct, o.rate, o.phase, 0, &version)
	}
	if o.warmup > 0 {
		openLoop(ctx, c, t, o.rate, o.warmup, 0, &version)
	}
	r.steady = openLoop(ctx, c, t, o.rate, o.phase, 0, &version)
	r.reloading = openLoop(ctx, c, t, o.rate, o.phase, o.reloadEvery, &version)
	return r
}

// stuckServer accepts connections and never answers them: the pool's
// instance that is down, which a pool forgetting its health would send
// requests to.
type stuckServer struct {
	l     net.Listener
	mu    sync.Mutex
	conns []net.Conn
	done  sync.WaitGroup
}

func newStuckServer() (*stuckServer, error) {
	var lc net.ListenConfig
	l, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &stuckServer{l: l}
	s.done.Go(func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.conns = append(s.conns, c)
			s.mu.Unlock()
		}
	})
	return s, nil
}

func (s *stuckServer) addr() string { return s.l.Addr().String() }

func (s *stuckServer) close() {
	_ = s.l.Close()
	s.done.Wait()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.conns {
		_ = c.Close()
	}
}

// writeAtomically replaces file with data by renaming a new file over
// it, so that the gateway's file watcher never reads half a file.
func writeAtomically(file string, data []byte) error {
	tmp := file + ".new"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, file)
}

// reloadOnce starts the gateway on reloadConfig and measures it under
// the reload workload, reloading it by rewriting its file and sending it
// SIGHUP.
func (h *harness) reloadOnce(ctx context.Context) (reloadRun, error) {
	file := filepath.Join(h.dir, "reload.yaml")
	logFile := filepath.Join(h.dir, "reload.log")
	configOf := func(v int) []byte { return fmt.Appendf(nil, reloadConfig, h.up.addr, h.stuck.addr(), v) }
	if err := writeAtomically(file, configOf(0)); err != nil {
		return reloadRun{}, err
	}
	p, err := startGateway(ctx, h.o.pin, h.gw, file, logFile)
	if err != nil {
		return reloadRun{}, err
	}
	defer p.stop()
	t := reloadTarget{
		base: "http://" + p.addr,
		reload: func(v int) error {
			if err := writeAtomically(file, configOf(v)); err != nil {
				return err
			}
			return p.cmd.Process.Signal(syscall.SIGHUP)
		},
		reloads: func() int { return countLines(logFile, `"msg":"configuration reloaded"`) },
		cpu:     func() (time.Duration, error) { return cpuTime(p.cmd.Process.Pid) },
	}
	direct := reloadTarget{
		base:        "http://" + h.up.addr,
		unversioned: true,
		reloads:     func() int { return 0 },
		cpu:         func() (time.Duration, error) { return cpuTime(h.up.cmd.Process.Pid) },
	}
	r := measureReloads(ctx, h.o, direct, t)
	r.builds, r.warms = reloadTimes(logFile)
	if n := countLines(logFile, `"msg":"configuration rejected`); n > 0 {
		return r, fmt.Errorf("the gateway rejected %d reloads; see %s (-keep)", n, logFile)
	}
	return r, ctx.Err()
}

// reloadTimes returns how long each reload's build and warm-up took,
// from the "configuration reloaded" records of the gateway's JSON log.
func reloadTimes(file string) (builds, warms []time.Duration) {
	b, _ := os.ReadFile(file)
	for line := range bytes.Lines(b) {
		var rec struct {
			Msg   string        `json:"msg"`
			Build time.Duration `json:"build"`
			Warm  time.Duration `json:"warm"`
		}
		if json.Unmarshal(line, &rec) != nil || rec.Msg != "configuration reloaded" {
			continue
		}
		builds, warms = append(builds, rec.Build), append(warms, rec.Warm)
	}
	return builds, warms
}

// countLines counts the lines of file holding s.
func countLines(file, s string) int {
	b, _ := os.ReadFile(file)
	n := 0
	for line := range bytes.Lines(b) {
		if bytes.Contains(line, []byte(s)) {
			n++
		}
	}
	return n
}
