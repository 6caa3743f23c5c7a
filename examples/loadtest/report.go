package main

import (
	"fmt"
	"io"
	"slices"
	"time"
)

// figures are the medians over runs of one workload on one target.
type figures struct {
	perSecond        float64
	cpu, upstreamCPU time.Duration
	firstByte        time.Duration
	failed           int64
	ok               bool
}

// medians returns the median figures of target and workload in ms.
func medians(ms []measurement, target, workload string) figures {
	var rate []float64
	var cpu, up, fb []time.Duration
	var f figures
	for _, m := range ms {
		if m.target != target || m.workload != workload {
			continue
		}
		rate = append(rate, m.perSecond)
		cpu, up, fb = append(cpu, m.cpu), append(up, m.upstreamCPU), append(fb, m.firstByte)
		f.failed += m.failed
	}
	if len(rate) == 0 {
		return f
	}
	return figures{perSecond: median(rate), cpu: median(cpu), upstreamCPU: median(up), firstByte: median(fb), failed: f.failed, ok: true}
}

func median[T float64 | time.Duration](v []T) T {
	slices.Sort(v)
	return v[len(v)/2]
}

// report prints the tables: the proxy workloads, then the AI endpoint's.
func report(w io.Writer, o *options, ms []measurement) error {
	out := &printer{w: w}
	pinned := "not pinned (taskset missing, -pin=false, or fewer than 2 CPUs)"
	if o.pin {
		pinned = "load generator on CPU 0, targets and upstream on CPU 1 (taskset)"
	}
	out.printf("\n%d CPUs, %s; %d connections; %v warm-up and %v measured per workload; median of %d run(s).\n",
		o.cpus, pinned, o.conns, o.warmup, o.duration, o.runs)
	out.printf("CPU is the target process's user+system time per request; upstream CPU is the upstream's (and mock provider's).\n")
	out.printf("Ratios are to the bare ReverseProxy in the same run: throughput (higher is better) and CPU per request (lower is better).\n")

	out.printf("\n")
	out.printf("| target | GET req/s | x bare | CPU µs/req | x bare | upstream µs/req | POST 1 KiB req/s | x bare | CPU µs/req | x bare | upstream µs/req |\n")
	out.printf("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, t := range []string{bareTarget, routeTarget, chainTarget} {
		if !measured(ms, t, getLoad.name) {
			continue
		}
		out.printf("| %s |", t)
		for _, w := range []string{getLoad.name, postLoad.name} {
			cells(out, medians(ms, t, w), medians(ms, bareTarget, w))
		}
		out.printf("\n")
	}

	out.printf("\n")
	out.printf("| target (POST /v1/chat/completions) | non-stream req/s | x bare | CPU µs/req | x bare | upstream µs/req | stream req/s | x bare | CPU µs/req | x bare | upstream µs/req | first byte p50, stream, 1 conn | added |\n")
	out.printf("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, t := range []string{bareTarget, aiTarget} {
		if !measured(ms, t, aiWhole.name) {
			continue
		}
		name := t
		if t == bareTarget {
			name += " (no translation)"
		}
		out.printf("| %s |", name)
		for _, w := range []string{aiWhole.name, aiStreamed.name} {
			cells(out, medians(ms, t, w), medians(ms, bareTarget, w))
		}
		fb, base := medians(ms, t, "first byte"), medians(ms, bareTarget, "first byte")
		out.printf(" %s | %+.2f ms |\n", ms2(fb.firstByte), float64(fb.firstByte-base.firstByte)/float64(time.Millisecond))
	}
	for _, t := range []string{bareTarget, routeTarget, chainTarget, aiTarget} {
		for _, w := range []string{getLoad.name, postLoad.name, aiWhole.name, aiStreamed.name} {
			if f := medians(ms, t, w); f.failed > 0 {
				out.printf("\n%s, %s: %d requests failed (see the log above).", t, w, f.failed)
			}
		}
	}
	out.printf("\n")
	return out.err
}

// measured reports whether ms hold a figure of workload on target.
func measured(ms []measurement, target, workload string) bool {
	return medians(ms, target, workload).ok
}

// cells prints one workload's five cells of f against the bare proxy's b.
func cells(out *printer, f, b figures) {
	if !f.ok {
		out.printf(" | | | | |")
		return
	}
	out.printf(" %.0f | %.2f | %.1f | %.2f | %.1f |", f.perSecond, f.perSecond/b.perSecond,
		us(f.cpu), us(f.cpu)/us(b.cpu), us(f.upstreamCPU))
}

func us(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

func ms2(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond)) }

// printer writes formatted text and keeps the first error.
type printer struct {
	w   io.Writer
	err error
}

func (p *printer) printf(format string, args ...any) {
	if p.err == nil {
		_, p.err = fmt.Fprintf(p.w, format, args...)
	}
}
