// Command loadtest measures what the example gateway costs next to a bare
// httputil.ReverseProxy, on one machine, in one run.
//
//	make bench-load
//	go run ./examples/loadtest -duration 8s -runs 3
//
// It builds the example gateway (examples/gateway), starts a loopback
// upstream that is also a mock OpenAI-compatible provider, and measures,
// one target process at a time:
//
//   - bare: an httputil.ReverseProxy given what the gateway has (the
//     gateway's tuned transport, upstream.NewTransport, and a pool of copy
//     buffers);
//   - one route: the gateway with one plain route and no middleware;
//   - production chain: request_id, recover, client_ip, telemetry and
//     access_log, then API key, rate limit, timeout, retry and breaker;
//   - AI: POST /v1/chat/completions, whole and streamed, through the
//     gateway's AI endpoint to the mock provider (the bare proxy forwards
//     the same request untranslated).
//
// For each it prints requests per second and the target process's CPU
// time per request (from /proc), both as ratios to the bare proxy, and
// the time a streamed answer's first byte takes at one connection. With
// taskset on a machine of two or more CPUs, the load generator runs on
// CPU 0 and the targets and the upstream on CPU 1. See README.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) > 1 {
		// The processes the harness starts are this program in a role.
		switch os.Args[1] {
		case "upstream":
			exit(serveUpstream(os.Stdout))
			return
		case "bare":
			if len(os.Args) < 3 {
				exit(errors.New("usage: loadtest bare UPSTREAM_URL"))
			}
			exit(serveBare(os.Stdout, os.Args[2], len(os.Args) > 3 && os.Args[3] == "-v"))
			return
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	o, err := parseOptions(os.Args[1:], os.Stderr)
	if err != nil {
		exit(err)
	}
	if err := pinSelf(o); err != nil {
		exit(err)
	}
	exit(run(ctx, o, os.Stdout))
}

func exit(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadtest:", err)
		os.Exit(1)
	}
}

// options are the command-line settings.
type options struct {
	duration, warmup time.Duration
	conns, runs      int
	firstByte        int
	gateway          string
	cpuProfile       string
	pin              bool
	keep             bool
	verbose          bool
	cpus             int
	only             map[string]bool
	// The reload workload's settings.
	rate               int
	phase, reloadEvery time.Duration
}

// throughput reports whether a target measured against the bare proxy
// was asked for.
func (o *options) throughput() bool { return o.only["route"] || o.only["chain"] || o.only["ai"] }

func parseOptions(args []string, stderr io.Writer) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("loadtest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.DurationVar(&o.duration, "duration", 3*time.Second, "measured time per target and workload")
	fs.DurationVar(&o.warmup, "warmup", time.Second, "unmeasured load before each measurement")
	fs.IntVar(&o.conns, "conns", 32, "connections the load generator keeps busy")
	fs.IntVar(&o.runs, "runs", 1, "runs over all targets; the table shows each figure's median")
	fs.IntVar(&o.firstByte, "first-byte", 200, "streamed calls, one at a time, timed to their first byte")
	fs.StringVar(&o.gateway, "gateway", "", "a gateway binary built from examples/gateway; by default, built with go build")
	fs.StringVar(&o.cpuProfile, "cpuprofile", "", "write the gateway targets' CPU profiles, merged, to this file (make pgo writes examples/gateway/default.pgo)")
	fs.BoolVar(&o.pin, "pin", true, "pin the load generator to CPU 0 and the targets to CPU 1 with taskset, when there are 2 CPUs or more")
	fs.BoolVar(&o.keep, "keep", false, "keep the work directory (configurations and logs)")
	fs.BoolVar(&o.verbose, "v", false, "let the bare proxy log its errors")
	only := fs.String("targets", "route,chain,ai", "the gateway targets to measure: route, chain, ai (beside the bare proxy), reload")
	fs.IntVar(&o.rate, "rate", 400, "reload target: requests a second, sent whatever the answers")
	fs.DurationVar(&o.phase, "phase", 10*time.Second, "reload target: the length of the steady phase and of the phase with reloads")
	fs.DurationVar(&o.reloadEvery, "reload-every", 400*time.Millisecond, "reload target: time between reloads")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	switch {
	case o.duration <= 0:
		return nil, errors.New("-duration must be positive")
	case o.warmup < 0:
		return nil, errors.New("-warmup must not be negative")
	case o.conns < 1:
		return nil, errors.New("-conns must be at least 1")
	case o.runs < 1:
		return nil, errors.New("-runs must be at least 1")
	case o.firstByte < 1:
		return nil, errors.New("-first-byte must be at least 1")
	case o.rate < 1:
		return nil, errors.New("-rate must be at least 1")
	case o.phase <= 0:
		return nil, errors.New("-phase must be positive")
	case o.reloadEvery <= 0:
		return nil, errors.New("-reload-every must be positive")
	}
	o.only = map[string]bool{}
	for _, t := range strings.Split(*only, ",") {
		if t = strings.TrimSpace(t); t == "" {
			continue
		}
		if t != "route" && t != "chain" && t != "ai" && t != "reload" {
			return nil, fmt.Errorf("-targets: %q is not a target; use route, chain, ai or reload", t)
		}
		o.only[t] = true
	}
	o.pin = o.pin && canPin()
	o.cpus = cpus()
	return o, nil
}

// run measures every target o.runs times and prints the table to out.
func run(ctx context.Context, o *options, out io.Writer) error {
	dir, err := os.MkdirTemp("", "portico-loadtest-")
	if err != nil {
		return err
	}
	if o.keep {
		fmt.Fprintln(os.Stderr, "work directory:", dir)
	} else {
		defer func() { _ = os.RemoveAll(dir) }()
	}
	h := &harness{o: o, dir: dir}
	if err := h.start(ctx); err != nil {
		return err
	}
	defer h.stop()
	var all []measurement
	var reloads []reloadRun
	for r := range o.runs {
		fmt.Fprintf(os.Stderr, "run %d of %d\n", r+1, o.runs)
		ms, err := h.runOnce(ctx)
		if err != nil {
			return err
		}
		all = append(all, ms...)
		if o.only["reload"] {
			rr, err := h.reloadOnce(ctx)
			if err != nil {
				return fmt.Errorf("reload: %w", err)
			}
			reloads = append(reloads, rr)
		}
	}
	if o.cpuProfile != "" {
		if err := h.mergeProfiles(ctx, o.cpuProfile); err != nil {
			return err
		}
	}
	if o.throughput() {
		if err := report(out, o, all); err != nil {
			return err
		}
	}
	if o.only["reload"] {
		return reportReloads(out, o, reloads)
	}
	return nil
}
