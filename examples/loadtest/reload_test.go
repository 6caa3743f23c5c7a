package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/gateway"
	"github.com/portico-dev/portico/gateway/config"
)

// TestTheReloadTargetMeasuresBothPhasesAndReloads runs the reload
// workload, briefly, against the reload configuration served in-process
// by a config.Reloader whose log goes to a file, as the example
// gateway's does: the harness's own reloads are what the phase with
// reloads counts, and the answers carry the new versions. It checks that
// the workload works, not how fast the gateway is.
func TestTheReloadTargetMeasuresBothPhasesAndReloads(t *testing.T) {
	t.Parallel()
	up := newUpstreamServer(t)
	stuck, err := newStuckServer()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stuck.close)
	dir := t.TempDir()
	file, logFile := filepath.Join(dir, "reload.yaml"), filepath.Join(dir, "reload.log")
	configOf := func(v int) []byte {
		return fmt.Appendf(nil, reloadConfig, strings.TrimPrefix(up.URL, "http://"), stuck.addr(), v)
	}
	if err := writeAtomically(file, configOf(0)); err != nil {
		t.Fatal(err)
	}
	logs, err := os.Create(logFile)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = logs.Close() })
	rl, err := config.NewReloader(config.ReloadConfig{
		Path:    file,
		Options: []gateway.Option{gateway.WithLogger(discard())},
		Logger:  slog.New(slog.NewJSONHandler(logs, nil)),
		Drain:   5 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(rl)
	t.Cleanup(func() {
		srv.Close()
		if err := rl.Close(); err != nil {
			t.Errorf("closing the reloader: %v", err)
		}
	})
	target := reloadTarget{
		base: srv.URL,
		reload: func(v int) error {
			if err := writeAtomically(file, configOf(v)); err != nil {
				return err
			}
			return rl.Reload(context.Background())
		},
		reloads: func() int { return countLines(logFile, `"msg":"configuration reloaded"`) },
		cpu:     func() (time.Duration, error) { return cpuTime(os.Getpid()) },
	}
	o := &options{
		rate:        100,
		warmup:      100 * time.Millisecond,
		phase:       600 * time.Millisecond,
		reloadEvery: 100 * time.Millisecond,
	}
	direct := reloadTarget{
		base:        up.URL,
		unversioned: true,
		reloads:     func() int { return 0 },
		cpu:         func() (time.Duration, error) { return cpuTime(os.Getpid()) },
	}
	r := measureReloads(context.Background(), o, direct, target)
	r.builds, r.warms = reloadTimes(logFile)

	for _, p := range []struct {
		name string
		p    phase
	}{{"direct", r.direct}, {"steady", r.steady}, {"with reloads", r.reloading}} {
		if p.p.failed != 0 {
			t.Errorf("%s: %d requests failed, the first: %v", p.name, p.p.failed, p.p.firstErr)
		}
		if len(p.p.latencies) == 0 {
			t.Errorf("%s: no request answered", p.name)
		}
	}
	if len(r.reloading.nearReload) == 0 {
		t.Errorf("no request of the phase with reloads counted as sent within %v after one", nearReload)
	}
	if got, want := len(r.steady.nearReload), 0; got != want {
		t.Errorf("%d requests of the steady phase counted as near a reload, want %d", got, want)
	}
	if got, want := r.steady.reloads, 0; got != want {
		t.Errorf("reloads in the steady phase = %d, want %d", got, want)
	}
	if r.reloading.reloads < 1 {
		t.Errorf("reloads in the phase with reloads = %d, want at least 1", r.reloading.reloads)
	}
	if r.reloading.version < 1 {
		t.Errorf("the highest version answered during reloads = %d, want a reloaded one (1 or more)", r.reloading.version)
	}
	if got, want := r.steady.version, 0; got != want {
		t.Errorf("the highest version answered in the steady phase = %d, want %d", got, want)
	}

	if got, want := len(r.builds), r.reloading.reloads; got != want {
		t.Errorf("%d reload build times in the log, want one per reload, %d", got, want)
	}
	if len(r.builds) > 0 && r.builds[0] <= 0 {
		t.Errorf("the first reload's build took %v by the log, want a positive time", r.builds[0])
	}

	var b strings.Builder
	if err := reportReloads(&b, o, []reloadRun{r}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"| 1 | direct |", "| 1 | steady |", "| 1 | reloads |", "| median | direct |", "With no gateway at all", "| median | reloads |", "| worst | reloads |", "Reload build", "Slowest request during reloads ÷ steady p99: median", "after a reload signal"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("the report lacks %q:\n%s", want, b.String())
		}
	}
}

func TestQuantilesAreOfTheSortedLatencies(t *testing.T) {
	t.Parallel()
	var p phase
	for i := range 1000 {
		p.latencies = append(p.latencies, time.Duration(i+1)*time.Millisecond)
	}
	for _, c := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 500 * time.Millisecond}, {0.99, 990 * time.Millisecond}, {0.999, 999 * time.Millisecond}, {1, time.Second}} {
		if got := p.quantile(c.q); got != c.want {
			t.Errorf("quantile(%v) = %v, want %v", c.q, got, c.want)
		}
	}
	r := reloadRun{steady: p, reloading: phase{latencies: []time.Duration{1980 * time.Millisecond}}}
	if got, want := r.ratio(), 2.0; got != want {
		t.Errorf("slowest during reloads over steady p99 = %v, want %v", got, want)
	}
	if got := (phase{}).quantile(0.99); got != 0 {
		t.Errorf("the p99 of no request = %v, want 0", got)
	}
}
