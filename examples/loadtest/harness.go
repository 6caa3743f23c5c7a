package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// Target names, in the table's order.
const (
	bareTarget  = "bare ReverseProxy"
	routeTarget = "Portico, one route"
	chainTarget = "Portico, production chain"
	aiTarget    = "Portico, AI endpoint"
)

// target is one process measured under its workloads.
type target struct {
	name, key string
	// config is the gateway configuration; empty for the bare proxy.
	config    string
	workloads []workload
	// firstByte times a streamed call's first byte at one connection.
	firstByte bool
}

// targets are measured in this order in every run.
var targets = []target{
	{name: bareTarget, workloads: []workload{getLoad, postLoad, aiWhole, aiStreamed}, firstByte: true},
	{name: routeTarget, key: "route", config: routeConfig, workloads: []workload{getLoad, postLoad}},
	{name: chainTarget, key: "chain", config: chainConfig, workloads: []workload{getLoad, postLoad}},
	{name: aiTarget, key: "ai", config: aiConfig, workloads: []workload{aiWhole, aiStreamed}, firstByte: true},
}

// routeConfig is one plain route and no middleware; %[1]s is the
// upstream's address.
const routeConfig = `
upstreams:
  - {name: backend, instances: [{url: "http://%[1]s"}]}
routes:
  - {name: bench, prefix: /bench, upstream: backend}
`

// chainConfig is the production chain the README describes.
const chainConfig = `
middleware: [request_id, recover, client_ip, telemetry, access_log]
consumers:
  - {id: loadtest, api_keys: [{id: loadtest-1, secret: "` + apiKey + `"}]}
upstreams:
  - {name: backend, instances: [{url: "http://%[1]s"}]}
routes:
  - name: bench
    prefix: /bench
    upstream: backend
    policy:
      auth: {methods: [api_key]}
      rate_limit: {requests: 1000000, per: 1s, key: consumer}
      timeout: 10s
      retry: {attempts: 3, per_try: 5s}
      breaker: {failures: 5, delay: 10s}
`

// aiConfig serves the AI endpoint over the mock provider.
const aiConfig = `
consumers:
  - {id: loadtest, api_keys: [{id: loadtest-1, secret: "` + apiKey + `"}]}
ai:
  providers:
    - {name: mock, type: openai, base_url: "http://%[1]s/v1", api_key: provider-key}
  models:
    - {alias: bench, candidates: [{provider: mock, model: mock-1}]}
`

// measurement is one workload's figures on one target in one run.
type measurement struct {
	target, workload string
	perSecond        float64
	cpu, upstreamCPU time.Duration // per request
	failed           int64
	firstByte        time.Duration // streamed calls at one connection
}

// harness holds the processes shared by every run.
type harness struct {
	o        *options
	dir      string
	self, gw string
	up       *proc
	stuck    *stuckServer // the reload target's instance that is down
	// profiles are the CPU profiles the gateway targets wrote, with
	// -cpuprofile.
	profiles []string
}

// start builds the gateway (unless given) and starts the upstream.
func (h *harness) start(ctx context.Context) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	h.self, h.gw = self, h.o.gateway
	if h.gw == "" {
		h.gw = filepath.Join(h.dir, "gateway")
		fmt.Fprintln(os.Stderr, "building the example gateway")
		build := exec.CommandContext(ctx, "go", "build", "-o", h.gw, "github.com/portico-dev/portico/examples/gateway")
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			return fmt.Errorf("building the gateway (run from the module, or give -gateway): %w", err)
		}
	}
	if h.o.only["reload"] {
		if h.stuck, err = newStuckServer(); err != nil {
			return err
		}
	}
	h.up, err = startListening("upstream", command(ctx, h.o.pin, h.self, "upstream"))
	return err
}

func (h *harness) stop() {
	h.up.stop()
	if h.stuck != nil {
		h.stuck.close()
	}
}

// runOnce measures every target once.
func (h *harness) runOnce(ctx context.Context) ([]measurement, error) {
	var all []measurement
	for _, t := range targets {
		if t.key != "" && !h.o.only[t.key] || t.key == "" && !h.o.throughput() {
			continue
		}
		p, err := h.startTarget(ctx, t)
		if err != nil {
			return nil, err
		}
		ms, err := h.measure(ctx, t, p)
		p.stop()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", t.name, err)
		}
		all = append(all, ms...)
	}
	return all, nil
}

func (h *harness) startTarget(ctx context.Context, t target) (*proc, error) {
	if t.config == "" {
		args := []string{"bare", "http://" + h.up.addr}
		if h.o.verbose {
			args = append(args, "-v")
		}
		return startListening("bare", command(ctx, h.o.pin, h.self, args...))
	}
	file := filepath.Join(h.dir, "gateway.yaml")
	if err := os.WriteFile(file, fmt.Appendf(nil, t.config, h.up.addr), 0o600); err != nil {
		return nil, err
	}
	var extra []string
	if h.o.cpuProfile != "" {
		prof := filepath.Join(h.dir, fmt.Sprintf("%s-%d.pprof", t.key, len(h.profiles)))
		h.profiles = append(h.profiles, prof)
		extra = []string{"-cpuprofile", prof}
	}
	return startGateway(ctx, h.o.pin, h.gw, file, filepath.Join(h.dir, "gateway.log"), extra...)
}

// cpu returns the CPU time the target p and the upstream have used.
func (h *harness) cpu(p *proc) (target, upstream time.Duration, err error) {
	if target, err = cpuTime(p.cmd.Process.Pid); err != nil {
		return 0, 0, err
	}
	upstream, err = cpuTime(h.up.cmd.Process.Pid)
	return target, upstream, err
}

// measure drives each workload of t at p: a warm-up, then a measured
// window between two readings of the target's and the upstream's CPU time.
func (h *harness) measure(ctx context.Context, t target, p *proc) ([]measurement, error) {
	base := "http://" + p.addr
	var out []measurement
	for _, w := range t.workloads {
		c := newClient(h.o.conns)
		if h.o.warmup > 0 {
			if l := drive(ctx, c, base, w, h.o.conns, h.o.warmup); l.ok == 0 {
				return nil, fmt.Errorf("%s: no answer during the warm-up: %w", w.name, l.err())
			}
		}
		cpu0, up0, err := h.cpu(p)
		if err != nil {
			return nil, err
		}
		l := drive(ctx, c, base, w, h.o.conns, h.o.duration)
		cpu1, up1, err := h.cpu(p)
		if err != nil {
			return nil, err
		}
		c.CloseIdleConnections()
		if l.ok == 0 {
			return nil, fmt.Errorf("%s: no answer: %w", w.name, l.err())
		}
		if l.failed > 0 {
			fmt.Fprintf(os.Stderr, "%s, %s: %d failed, the first: %v\n", t.name, w.name, l.failed, l.firstErr)
		}
		out = append(out, measurement{target: t.name, workload: w.name, perSecond: float64(l.ok) / l.elapsed.Seconds(),
			cpu: (cpu1 - cpu0) / time.Duration(l.ok), upstreamCPU: (up1 - up0) / time.Duration(l.ok), failed: l.failed})
	}
	if t.firstByte {
		c := newClient(1)
		defer c.CloseIdleConnections()
		if _, err := firstByte(ctx, c, base, aiStreamed, 10); err != nil { // warm
			return nil, err
		}
		fb, err := firstByte(ctx, c, base, aiStreamed, h.o.firstByte)
		if err != nil {
			return nil, err
		}
		out = append(out, measurement{target: t.name, workload: "first byte", firstByte: fb})
	}
	return out, nil
}

// mergeProfiles merges the gateway targets' CPU profiles into one file,
// out, with go tool pprof: the profile examples/gateway/default.pgo is.
func (h *harness) mergeProfiles(ctx context.Context, out string) error {
	if len(h.profiles) == 0 {
		return errors.New("-cpuprofile: no gateway target ran")
	}
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, "go", append([]string{"tool", "pprof", "-proto"}, h.profiles...)...)
	cmd.Stdout, cmd.Stderr = f, os.Stderr
	err = cmd.Run()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("-cpuprofile: merging the profiles: %w", err)
	}
	fmt.Fprintf(os.Stderr, "wrote %s from %d gateway profiles\n", out, len(h.profiles))
	return nil
}
