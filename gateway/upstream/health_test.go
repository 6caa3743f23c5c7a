package upstream_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/portico-dev/portico/gateway/upstream"
)

// activeCheck is a health check fast enough for tests yet tolerant of a
// loaded machine.
func activeCheck() *upstream.HealthCheck {
	return &upstream.HealthCheck{
		Path:               "/healthz",
		Interval:           50 * time.Millisecond,
		Timeout:            50 * time.Millisecond,
		HealthyThreshold:   1,
		UnhealthyThreshold: 2,
	}
}

// TestActiveHealthCheckMarksKilledInstance kills an instance under load
// and checks that active health checks mark it unhealthy, that no GET
// fails (retries on), and that traffic then avoids it without retries.
func TestActiveHealthCheckMarksKilledInstance(t *testing.T) {
	t.Parallel()
	a, b, c := newBackend(t, "a"), newBackend(t, "b"), newBackend(t, "c")
	p := newPool(t, upstream.Config{
		Instances:   []upstream.Instance{{URL: a.url()}, {URL: b.url()}, {URL: c.url()}},
		HealthCheck: activeCheck(),
	})
	p.Start(t.Context())
	stop := make(chan struct{})
	sent, wait := load(withRetries(p), stop)
	waitFor(t, "traffic before the kill", func() bool { return sent.Load() > 100 })
	cURL := "http://" + c.hostPort()
	c.srv.Close()
	waitFor(t, "c to be marked unhealthy", func() bool { return !status(t, p, cURL).Healthy })
	after := sent.Load()
	waitFor(t, "traffic after the verdict", func() bool { return sent.Load() > after+100 })
	close(stop)
	if errs := wait(); len(errs) > 0 {
		t.Fatalf("%d of %d GETs failed despite retries; first: %v", len(errs), sent.Load(), errs[0])
	}
	if !p.Ready() {
		t.Error("pool not ready with two live instances")
	}
	// Traffic avoids c unless the others are also judged unhealthy (a
	// slow check on a loaded machine), in which case panic mode may pick
	// c; so only count requests while a and b are healthy.
	for i := range 50 {
		if !status(t, p, a.url()).Healthy || !status(t, p, b.url()).Healthy {
			continue
		}
		name, _, err := get(p, "/")
		if err != nil && (status(t, p, a.url()).Healthy && status(t, p, b.url()).Healthy) {
			t.Fatalf("request %d without retries after c was marked unhealthy: %q, %v", i, name, err)
		}
	}
}

// TestHealthThresholdsAndRecovery drives an instance's health endpoint
// and checks the unhealthy and healthy thresholds, readiness, and that an
// unhealthy pool still serves (panic mode).
func TestHealthThresholdsAndRecovery(t *testing.T) {
	t.Parallel()
	a := newBackend(t, "a")
	hc := activeCheck()
	hc.HealthyThreshold = 3
	p := newPool(t, upstream.Config{Instances: []upstream.Instance{{URL: a.url()}}, HealthCheck: hc})
	if !p.Ready() {
		t.Fatal("instances start healthy")
	}
	p.Start(t.Context())
	p.Start(t.Context()) // idempotent
	a.health.Store(http.StatusServiceUnavailable)
	waitFor(t, "a to turn unhealthy", func() bool { return !p.Ready() })
	name, _, err := get(p, "/")
	if err != nil {
		t.Fatalf("an unhealthy-only pool must still serve (panic mode): %v", err)
	}
	if got, want := name, "a"; got != want {
		t.Fatalf("served by %q, want %q", got, want)
	}
	a.health.Store(0)
	waitFor(t, "a to turn healthy", p.Ready)
}

// TestHealthCheckExpectStatusAndHost checks that ExpectStatus replaces
// the 2xx/3xx rule and that Host is sent.
func TestHealthCheckExpectStatusAndHost(t *testing.T) {
	t.Parallel()
	a := newBackend(t, "a")
	a.health.Store(http.StatusNoContent)
	hc := activeCheck()
	hc.ExpectStatus = []int{http.StatusOK}
	hc.Host = "health.internal"
	p := newPool(t, upstream.Config{Instances: []upstream.Instance{{URL: a.url()}}, HealthCheck: hc})
	p.Start(t.Context())
	waitFor(t, "204 to fail a check that expects 200", func() bool { return !p.Ready() })
	a.health.Store(http.StatusOK)
	waitFor(t, "200 to pass", p.Ready)
	if got, _ := a.checkHost.Load().(string); got != "health.internal" {
		t.Errorf("health check Host %q, want health.internal", got)
	}
}

// TestWarmWaitsForTheFirstCheckWhichDecidesAtOnce checks that Warm
// returns once the first round is over, and that an instance failing its
// first check is unhealthy then, whatever UnhealthyThreshold says; after
// that, the threshold applies again.
func TestWarmWaitsForTheFirstCheckWhichDecidesAtOnce(t *testing.T) {
	t.Parallel()
	a, b := newBackend(t, "a"), newBackend(t, "b")
	b.health.Store(http.StatusServiceUnavailable)
	hc := activeCheck()
	hc.Interval = time.Hour
	hc.Timeout = 5 * time.Second // a loaded machine must not fail a's first check
	hc.UnhealthyThreshold = 3
	p := newPool(t, upstream.Config{Instances: []upstream.Instance{{URL: a.url()}, {URL: b.url()}}, HealthCheck: hc})
	p.Start(t.Context())
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := p.Warm(ctx); err != nil {
		t.Fatalf("Warm: %v", err)
	}
	if status(t, p, b.url()).Healthy {
		t.Error("b, which failed its first check, is healthy after Warm")
	}
	if !status(t, p, a.url()).Healthy {
		t.Error("a, which passed its first check, is unhealthy after Warm")
	}
	if err := p.Warm(ctx); err != nil {
		t.Errorf("Warm of a warm pool: %v", err)
	}
}

func TestWarmReturnsAtOnceWithoutHealthChecks(t *testing.T) {
	t.Parallel()
	a := newBackend(t, "a")
	p := newPool(t, upstream.Config{Instances: []upstream.Instance{{URL: a.url()}}})
	ctx, cancel := context.WithCancel(t.Context())
	cancel() // Warm must not need any time
	if err := p.Warm(ctx); err != nil {
		t.Errorf("Warm of a pool without health checks: %v", err)
	}
}
