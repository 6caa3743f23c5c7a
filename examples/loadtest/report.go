package main

import (
	"fmt"
	"io"
	"slices"
	"strings"
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

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// durations lists ds in milliseconds.
func durations(ds []time.Duration) string {
	s := make([]string, len(ds))
	for i, d := range ds {
		s[i] = fmt.Sprintf("%.2f", ms(d))
	}
	return strings.Join(s, ", ") + " ms"
}

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

// reportReloads prints the reload workload's table: each run's steady
// phase and phase with reloads, then the medians and the worst over the
// runs, and the acceptance figure, the slowest request during reloads
// over the steady p99.
func reportReloads(w io.Writer, o *options, runs []reloadRun) error {
	out := &printer{w: w}
	pinned := "not pinned"
	if o.pin {
		pinned = "load generator on CPU 0, gateway and upstream on CPU 1 (taskset)"
	}
	out.printf("\nReloads under load: %d CPUs, %s; %d req/s open loop (GET, 3 in 4 to a route with every stateful policy, 1 in 4 to a cached one);\n",
		o.cpus, pinned, o.rate)
	out.printf("%v steady, then %v with the file rewritten (one header value changed) and SIGHUP every %v; %d run(s).\n",
		o.phase, o.phase, o.reloadEvery, len(runs))
	out.printf("÷ steady p99 is the phase's slowest request over the steady phase's p99; the steady row shows the noise without reloads,\n")
	out.printf("the direct row the machine's own (the same load straight to the upstream, no gateway; its ratio is over its own p99).\n\n")
	out.printf("| run | phase | requests | failed | reloads | gateway CPU | p50 | p99 | p99.9 | slowest | ÷ steady p99 |\n")
	out.printf("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	row := func(run, name string, p phase, ratio float64) {
		out.printf("| %s | %s | %d | %d | %d | %.0f ms | %s | %s | %s | %s | %.1f× |\n", run, name, len(p.latencies), p.failed, p.reloads,
			ms(p.cpu), ms2(p.quantile(0.5)), ms2(p.quantile(0.99)), ms2(p.quantile(0.999)), ms2(p.slowest()), ratio)
	}
	for i, r := range runs {
		row(fmt.Sprint(i+1), "direct", r.direct, r.directRatio())
		row(fmt.Sprint(i+1), "steady", r.steady, r.steadyRatio())
		row(fmt.Sprint(i+1), "reloads", r.reloading, r.ratio())
	}
	if len(runs) == 0 {
		return out.err
	}
	for _, s := range []struct {
		name  string
		pick  func([]time.Duration) time.Duration
		fpick func([]float64) float64
	}{{"median", median[time.Duration], median[float64]}, {"worst", slices.Max[[]time.Duration], slices.Max[[]float64]}} {
		for _, ph := range []struct {
			name  string
			of    func(reloadRun) phase
			ratio func(reloadRun) float64
		}{
			{"direct", func(r reloadRun) phase { return r.direct }, reloadRun.directRatio},
			{"steady", func(r reloadRun) phase { return r.steady }, reloadRun.steadyRatio},
			{"reloads", func(r reloadRun) phase { return r.reloading }, reloadRun.ratio},
		} {
			var n, failed, reloads []float64
			var q [5][]time.Duration
			var ratios []float64
			for _, r := range runs {
				p := ph.of(r)
				n, failed, reloads = append(n, float64(len(p.latencies))), append(failed, float64(p.failed)), append(reloads, float64(p.reloads))
				for j, x := range []float64{0.5, 0.99, 0.999, 1} {
					q[j] = append(q[j], p.quantile(x))
				}
				q[4] = append(q[4], p.cpu)
				ratios = append(ratios, ph.ratio(r))
			}
			out.printf("| %s | %s | %.0f | %.0f | %.0f | %.0f ms | %s | %s | %s | %s | %.1f× |\n", s.name, ph.name,
				s.fpick(n), s.fpick(failed), s.fpick(reloads), ms(s.pick(q[4])),
				ms2(s.pick(q[0])), ms2(s.pick(q[1])), ms2(s.pick(q[2])), ms2(s.pick(q[3])), s.fpick(ratios))
		}
	}
	reloadSummary(out, runs)
	for i, r := range runs {
		for _, p := range []phase{r.steady, r.reloading} {
			if p.failed > 0 {
				out.printf("\nrun %d: %d requests failed, the first: %v", i+1, p.failed, p.firstErr)
			}
		}
	}
	out.printf("\n")
	return out.err
}

// reloadSummary prints the reload figures over all runs: the acceptance
// ratios, the requests near a reload, the CPU per reload and the build
// and warm-up times.
func reloadSummary(out *printer, runs []reloadRun) {
	var ratios, tails, floor []float64
	for _, r := range runs {
		ratios = append(ratios, r.ratio())
		tails = append(tails, float64(r.reloading.quantile(0.999))/float64(r.steady.quantile(0.999)))
		floor = append(floor, r.directRatio())
	}
	out.printf("\nSlowest request during reloads ÷ steady p99: median %.1f×, worst %.1f×; p99.9 during reloads ÷ steady p99.9: median %.1f×, worst %.1f×.\n",
		median(slices.Clone(ratios)), slices.Max(ratios), median(slices.Clone(tails)), slices.Max(tails))
	out.printf("With no gateway at all, the slowest request ÷ p99 of the same load: median %.1f×, worst %.1f×.\n",
		median(slices.Clone(floor)), slices.Max(floor))
	var near, nearMax []time.Duration
	var nearN []float64
	for _, r := range runs {
		near, nearMax = append(near, r.reloading.nearReload.quantile(0.99)), append(nearMax, r.reloading.nearReload.quantile(1))
		nearN = append(nearN, float64(len(r.reloading.nearReload)))
	}
	out.printf("Requests sent within %v after a reload signal (median %.0f a run): p99 median %s, worst %s; slowest median %s, worst %s.\n",
		nearReload, median(nearN), ms2(median(slices.Clone(near))), ms2(slices.Max(near)), ms2(median(slices.Clone(nearMax))), ms2(slices.Max(nearMax)))
	var perReload []time.Duration
	for _, r := range runs {
		perReload = append(perReload, r.cpuPerReload())
	}
	out.printf("Gateway CPU per reload (phase with reloads minus steady, over the reloads; 10 ms /proc ticks, and the requests' own CPU varies): median %s, of %s.\n",
		ms2(median(slices.Clone(perReload))), durations(perReload))
	var builds, warms []time.Duration
	for _, r := range runs {
		builds, warms = append(builds, r.builds...), append(warms, r.warms...)
	}
	if len(builds) > 0 {
		out.printf("Reload build (read, parse, build; wall time, from the gateway's log) over %d reloads: median %s, slowest %s; warm-up: median %s, slowest %s.\n",
			len(builds), ms2(median(slices.Clone(builds))), ms2(slices.Max(builds)), ms2(median(slices.Clone(warms))), ms2(slices.Max(warms)))
	}
}
