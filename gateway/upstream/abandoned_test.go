package upstream_test

import (
	"context"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/portico-dev/portico/gateway/upstream"
	"github.com/portico-dev/portico/resilience"
)

// trackedGet sends a GET through rt as one logical request (see
// upstream.TrackAttempts), and returns the instance that answered it.
func trackedGet(t *testing.T, rt http.RoundTripper) string {
	t.Helper()
	req, _ := http.NewRequestWithContext(upstream.TrackAttempts(context.Background()), http.MethodGet, "http://pool/", nil)
	resp, err := rt.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.Header.Get("X-Instance")
}

// hang answers nothing until the request is canceled.
func hang(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }

// TestPerTryTimeoutOfATransportCountsAgainstTheInstance is a regression
// test: a resilience.Transport cancels an attempt cut by its per-try
// timeout through failsafe-go, without a cause, and the pool took that for
// the caller giving up, so neither outlier detection nor the failure count
// ever saw a hanging instance.
func TestPerTryTimeoutOfATransportCountsAgainstTheInstance(t *testing.T) {
	t.Parallel()
	slow := newBackendWith(t, "slow", hang)
	p := newPool(t, upstream.Config{
		Instances: []upstream.Instance{{URL: slow.url()}},
		Outlier:   &upstream.OutlierDetection{ConsecutiveConnErrors: 2},
	})
	tr := resilience.NewTransport(p, resilience.Timeout(50*time.Millisecond))
	t.Cleanup(func() { _ = tr.Close() })
	for range 2 {
		req, _ := http.NewRequest(http.MethodGet, "http://pool/", nil)
		if resp, err := tr.RoundTrip(req); err == nil {
			resp.Body.Close()
			t.Fatal("a timed-out request succeeded")
		}
	}
	s := p.Status()[0]
	if got, want := s.Failures, uint64(2); got != want {
		t.Errorf("failures = %d, want %d", got, want)
	}
	if !s.Ejected {
		t.Error("two timed-out attempts in a row did not eject the instance")
	}
}

// TestCallerCancellationDoesNotCountAgainstTheInstance: under a
// resilience.Transport too, a request its caller cancels says nothing
// about the instance.
func TestCallerCancellationDoesNotCountAgainstTheInstance(t *testing.T) {
	t.Parallel()
	started := make(chan struct{}, 4)
	slow := newBackendWith(t, "slow", func(w http.ResponseWriter, r *http.Request) {
		started <- struct{}{}
		<-r.Context().Done()
	})
	p := newPool(t, upstream.Config{
		Instances: []upstream.Instance{{URL: slow.url()}},
		Outlier:   &upstream.OutlierDetection{ConsecutiveConnErrors: 1},
	})
	tr := resilience.NewTransport(p, resilience.Timeout(time.Minute))
	t.Cleanup(func() { _ = tr.Close() })
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://pool/", nil)
	go func() { <-started; cancel() }()
	if resp, err := tr.RoundTrip(req); err == nil {
		resp.Body.Close()
		t.Fatal("a canceled request succeeded")
	}
	s := p.Status()[0]
	if got, want := s.Failures, uint64(0); got != want {
		t.Errorf("failures = %d, want %d", got, want)
	}
	if s.Ejected {
		t.Error("a request the caller canceled ejected the instance")
	}
}

// TestHedgeGoesToAnotherInstanceAndItsLoserIsNoFailure: a hedged
// attempt is sent to the instance the first did not go to, wins, and the
// first, canceled as the loser, is not held against its instance as a
// failure; its wait still raises the instance's latency estimate.
func TestHedgeGoesToAnotherInstanceAndItsLoserIsNoFailure(t *testing.T) {
	t.Parallel()
	slow := newBackendWith(t, "slow", hang)
	fast := newBackend(t, "fast")
	p := newPool(t, upstream.Config{
		Instances: []upstream.Instance{{URL: slow.url()}, {URL: fast.url()}},
		Balancer:  upstream.RoundRobin,
		Outlier:   &upstream.OutlierDetection{ConsecutiveConnErrors: 1},
	})
	var hedges, won int
	tr := resilience.NewTransport(p, resilience.Hedge(resilience.HedgeConfig{
		Delay: 20 * time.Millisecond,
		OnFinish: func(_ *http.Request, n int, w bool) {
			hedges += n
			if w {
				won++
			}
		},
	}))
	t.Cleanup(func() { _ = tr.Close() })
	const requests = 6
	for range requests {
		if got, want := trackedGet(t, tr), "fast"; got != want {
			t.Errorf("answered by %q, want %q", got, want)
		}
	}
	st := status(t, p, slow.url())
	if got, want := st.Failures, uint64(0); got != want {
		t.Errorf("slow instance failures = %d, want %d", got, want)
	}
	if st.Ejected {
		t.Error("hedges that lost ejected their instance")
	}
	if st.Requests == 0 {
		t.Error("the slow instance was never tried: the test did not exercise a lost hedge")
	}
	if got, want := status(t, p, fast.url()).Requests, uint64(requests); got != want {
		t.Errorf("fast instance requests = %d, want %d (each request once, never twice)", got, want)
	}
	// Each request the slow instance got first was hedged to the fast one,
	// and won; on a loaded machine, a request the fast one got first may
	// also be hedged to the slow one, and lose.
	if got, want := hedges, int(st.Requests); got != want {
		t.Errorf("hedges = %d, want %d (one per request the slow instance got)", got, want)
	}
	if won == 0 {
		t.Error("no hedge won")
	}
	if won > hedges {
		t.Errorf("%d hedges won of %d sent", won, hedges)
	}
}

// TestPeakEWMASeesAHedgeThatLost: a hedge that lost raises its instance's
// latency estimate to at least the time it waited, so the balancer passes
// the instance over from then on, though it never answered.
func TestPeakEWMASeesAHedgeThatLost(t *testing.T) {
	t.Parallel()
	slow := newBackendWith(t, "slow", hang)
	fast := newBackend(t, "fast")
	p := newPool(t, upstream.Config{
		Instances: []upstream.Instance{{URL: slow.url()}, {URL: fast.url()}},
		Balancer:  upstream.PeakEWMA,
	})
	tr := resilience.NewTransport(p, resilience.Hedge(resilience.HedgeConfig{Delay: 100 * time.Millisecond, Budget: resilience.NewBudget(resilience.BudgetConfig{Min: 100})}))
	t.Cleanup(func() { _ = tr.Close() })
	const requests = 20
	for range requests {
		trackedGet(t, tr)
	}
	// The first picks know nothing of the slow instance; once a hedge to
	// it has lost, its estimate of 100ms or more keeps it out, unless the
	// fast one took as long.
	if got, limit := status(t, p, slow.url()).Requests, uint64(3); got > limit {
		t.Errorf("slow instance got %d of %d requests, want at most %d", got, requests, limit)
	}
}
