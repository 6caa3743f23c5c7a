package upstream_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portico-dev/portico/gateway/upstream"
	"github.com/portico-dev/portico/resilience"
)

// withRetries wraps a pool the way the gateway does: attempt tracking on
// the request context, then resilience's retrying transport.
func withRetries(p *upstream.Pool) http.RoundTripper {
	rt := resilience.NewTransport(p, resilience.Retry(resilience.RetryConfig{
		MaxAttempts: 4,
		BaseDelay:   time.Millisecond,
		MaxDelay:    5 * time.Millisecond,
		Budget:      resilience.NewBudget(resilience.BudgetConfig{Ratio: 1, Min: 1000}),
	}))
	return roundTripFunc(func(r *http.Request) (*http.Response, error) {
		return rt.RoundTrip(r.WithContext(upstream.TrackAttempts(r.Context())))
	})
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// load runs GETs through rt from two workers until stop is closed and
// returns the number sent and the errors seen.
func load(rt http.RoundTripper, stop <-chan struct{}) (sent *atomic.Int64, wait func() []error) {
	sent = &atomic.Int64{}
	var (
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
	)
	for range 2 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				sent.Add(1)
				if _, _, err := get(rt, "/"); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			}
		})
	}
	return sent, func() []error { wg.Wait(); return errs }
}

// TestPassiveEjectionOfKilledInstance kills an instance under load and
// checks that outlier detection ejects it, that no GET fails (retries
// on), and that traffic then flows to the others without retries.
func TestPassiveEjectionOfKilledInstance(t *testing.T) {
	t.Parallel()
	a, b, c := newBackend(t, "a"), newBackend(t, "b"), newBackend(t, "c")
	clock := newFakeClock()
	p := newPool(t, upstream.Config{
		Instances: []upstream.Instance{{URL: a.url()}, {URL: b.url()}, {URL: c.url()}},
		Outlier:   &upstream.OutlierDetection{ConsecutiveConnErrors: 2},
		Now:       clock.Now,
	})
	stop := make(chan struct{})
	sent, wait := load(withRetries(p), stop)
	waitFor(t, "traffic before the kill", func() bool { return sent.Load() > 100 })
	c.srv.Close()
	cURL := "http://" + c.hostPort()
	waitFor(t, "c to be ejected", func() bool { return status(t, p, cURL).Ejected })
	after := sent.Load()
	waitFor(t, "traffic after the ejection", func() bool { return sent.Load() > after+100 })
	close(stop)
	if errs := wait(); len(errs) > 0 {
		t.Fatalf("%d of %d GETs failed despite retries; first: %v", len(errs), sent.Load(), errs[0])
	}
	for i := range 50 {
		name, _, err := get(p, "/")
		if err != nil {
			t.Fatalf("request %d without retries after the ejection: %v", i, err)
		}
		if name == "c" {
			t.Fatalf("request %d without retries after the ejection went to the ejected c", i)
		}
	}
	s := status(t, p, cURL)
	if got, want := s.Ejections, uint64(1); got != want {
		t.Errorf("c ejections = %d, want %d", got, want)
	}
	if got, want := s.EjectedUntil, clock.Now().Add(30*time.Second); !got.Equal(want) {
		t.Errorf("c ejected until %v, want now+30s %v", got, want)
	}
}

// TestFiveXXEjectsForEveryMethod checks that consecutive 5xx responses to
// POST (not only idempotent methods) eject an instance.
func TestFiveXXEjectsForEveryMethod(t *testing.T) {
	t.Parallel()
	for _, method := range []string{http.MethodPost, http.MethodGet, http.MethodPut, http.MethodDelete, http.MethodPatch} {
		t.Run(method+" responses count", func(t *testing.T) {
			t.Parallel()
			bad, good := newBackend(t, "bad"), newBackend(t, "good")
			bad.status.Store(http.StatusInternalServerError)
			p := newPool(t, upstream.Config{
				Instances: []upstream.Instance{{URL: bad.url()}, {URL: good.url()}},
				Outlier:   &upstream.OutlierDetection{Consecutive5xx: 3},
				Now:       newFakeClock().Now,
			})
			for range 6 { // round robin: three to each
				req, _ := http.NewRequest(method, "http://pool/", strings.NewReader("body"))
				resp, err := p.RoundTrip(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
			}
			if !status(t, p, bad.url()).Ejected {
				t.Fatalf("bad instance not ejected after three %s 500s: %+v", method, p.Status())
			}
			if status(t, p, good.url()).Ejected {
				t.Fatal("good instance ejected")
			}
		})
	}
}

// TestEjectionPeriodGrowsAndIsCapped checks base × n ejection periods,
// the cap, and the reset after MaxEjection without ejection.
func TestEjectionPeriodGrowsAndIsCapped(t *testing.T) {
	t.Parallel()
	bad, good := newBackend(t, "bad"), newBackend(t, "good")
	bad.status.Store(http.StatusServiceUnavailable)
	clock := newFakeClock()
	p := newPool(t, upstream.Config{
		Instances: []upstream.Instance{{URL: bad.url()}, {URL: good.url()}},
		Outlier:   &upstream.OutlierDetection{Consecutive5xx: 1, BaseEjection: 10 * time.Second, MaxEjection: 25 * time.Second},
		Now:       clock.Now,
	})
	ejectAndCheck := func(want time.Duration) {
		t.Helper()
		for i := 0; !status(t, p, bad.url()).Ejected; i++ {
			if i > 10 {
				t.Fatal("bad instance never ejected")
			}
			get(p, "/")
		}
		if got := status(t, p, bad.url()).EjectedUntil.Sub(clock.Now()); got != want {
			t.Fatalf("ejected for %v, want %v", got, want)
		}
	}
	ejectAndCheck(10 * time.Second)
	clock.Advance(10 * time.Second)
	if status(t, p, bad.url()).Ejected {
		t.Fatal("still ejected when the period ended")
	}
	ejectAndCheck(20 * time.Second)
	clock.Advance(20 * time.Second)
	ejectAndCheck(25 * time.Second) // 30s, capped
	clock.Advance(25*time.Second + 25*time.Second)
	ejectAndCheck(10 * time.Second) // MaxEjection without ejection: starts over
}

// TestMaxEjectedPercent checks that outlier detection never ejects more
// than the set share of the pool, and that the pool keeps serving.
func TestMaxEjectedPercent(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		instances int
		percent   int
		want      int
	}{
		{
			name:      "half of four instances is two",
			instances: 4,
			percent:   50,
			want:      2,
		},
		{
			name:      "ten percent of four still allows one",
			instances: 4,
			percent:   10,
			want:      1,
		},
		{
			name:      "one hundred percent allows all",
			instances: 3,
			percent:   100,
			want:      3,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var instances []upstream.Instance
			for range tt.instances {
				b := newBackend(t, "bad")
				b.status.Store(http.StatusBadGateway)
				instances = append(instances, upstream.Instance{URL: b.url()})
			}
			p := newPool(t, upstream.Config{
				Instances: instances,
				Outlier:   &upstream.OutlierDetection{Consecutive5xx: 1, MaxEjectedPercent: tt.percent},
				Now:       newFakeClock().Now,
			})
			for range 10 * tt.instances {
				if _, resp, _ := get(p, "/"); resp == nil {
					t.Fatal("a request was refused")
				}
			}
			ejected := 0
			for _, s := range p.Status() {
				if s.Ejected {
					ejected++
				}
			}
			if ejected != tt.want {
				t.Errorf("%d of %d ejected, want %d", ejected, tt.instances, tt.want)
			}
		})
	}
}

// TestPanicModeAndRecovery ejects every instance, checks that requests
// are still sent (not refused), then brings one instance back and checks
// that traffic succeeds on the next pick, with no fixed refusal period.
func TestPanicModeAndRecovery(t *testing.T) {
	t.Parallel()
	a, b := newBackend(t, "a"), newBackend(t, "b")
	a.status.Store(http.StatusServiceUnavailable)
	b.status.Store(http.StatusServiceUnavailable)
	clock := newFakeClock()
	p := newPool(t, upstream.Config{
		Instances: []upstream.Instance{{URL: a.url()}, {URL: b.url()}},
		Outlier:   &upstream.OutlierDetection{Consecutive5xx: 2, MaxEjectedPercent: 100, BaseEjection: time.Hour},
		Now:       clock.Now,
	})
	for range 4 {
		get(p, "/")
	}
	for _, s := range p.Status() {
		if !s.Ejected {
			t.Fatalf("want every instance ejected: %+v", p.Status())
		}
	}
	hitsBefore := a.hits.Load() + b.hits.Load()
	for range 4 {
		_, resp, _ := get(p, "/")
		if resp == nil {
			t.Fatal("panic mode should still reach the instances: no response")
		}
		if got, want := resp.StatusCode, http.StatusServiceUnavailable; got != want {
			t.Fatalf("panic mode: status %d, want the instances' %d", got, want)
		}
	}
	if a.hits.Load()+b.hits.Load() != hitsBefore+4 {
		t.Fatal("requests in panic mode did not reach the instances")
	}
	// a is back; the clock has not moved, so only panic mode can find it.
	a.status.Store(0)
	name, _, err := get(withRetries(p), "/")
	if err != nil {
		t.Fatalf("first request after a's return: %v", err)
	}
	if got, want := name, "a"; got != want {
		t.Fatalf("first request after a's return served by %q, want %q", got, want)
	}
	if s := status(t, p, a.url()); s.Ejected {
		t.Fatalf("a still ejected after serving a request: %+v", s)
	}
	for i := range 20 {
		name, _, err := get(p, "/")
		if err != nil {
			t.Fatalf("request %d without retries: %v", i, err)
		}
		if got, want := name, "a"; got != want {
			t.Fatalf("request %d without retries served by %q, want %q", i, got, want)
		}
	}
}

// TestCanceledRequestsDoNotEject checks that requests the caller cancels
// are not held against the instance.
func TestCanceledRequestsDoNotEject(t *testing.T) {
	t.Parallel()
	started := make(chan struct{}, 10)
	slow := newBackendWith(t, "slow", func(w http.ResponseWriter, r *http.Request) {
		started <- struct{}{}
		<-r.Context().Done()
	})
	p := newPool(t, upstream.Config{
		Instances: []upstream.Instance{{URL: slow.url()}},
		Outlier:   &upstream.OutlierDetection{ConsecutiveConnErrors: 1, Consecutive5xx: 1},
		Now:       newFakeClock().Now,
	})
	for range 3 {
		ctx, cancel := context.WithCancel(context.Background())
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://pool/", nil)
		go func() { <-started; cancel() }()
		if _, err := p.RoundTrip(req); err == nil {
			t.Fatal("a canceled request succeeded")
		}
	}
	s := p.Status()[0]
	if s.Ejected {
		t.Errorf("canceled requests ejected the instance: %+v", s)
	}
	if got, want := s.Failures, uint64(0); got != want {
		t.Errorf("canceled requests counted %d failures, want %d", got, want)
	}
}

// TestRequestSentBeforeEjectionDoesNotReadmit is a regression test: a
// slow request sent before an instance was ejected, answering well after
// it, must not end the ejection; only a request picked while ejected can.
func TestRequestSentBeforeEjectionDoesNotReadmit(t *testing.T) {
	t.Parallel()
	release, started := make(chan struct{}), make(chan struct{})
	flaky := newBackendWith(t, "flaky", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			close(started)
			<-release
			return
		}
		w.WriteHeader(http.StatusInternalServerError)
	})
	good := newBackend(t, "good")
	clock := newFakeClock()
	p := newPool(t, upstream.Config{
		Instances: []upstream.Instance{{URL: flaky.url()}, {URL: good.url()}},
		Outlier:   &upstream.OutlierDetection{Consecutive5xx: 2},
		Now:       clock.Now,
	})
	slow := make(chan error, 1)
	go func() { _, _, err := get(p, "/slow"); slow <- err }() // round robin: flaky first
	<-started
	clock.Advance(time.Second)
	for range 4 { // two each; flaky answers 500 twice
		get(p, "/")
	}
	if !status(t, p, flaky.url()).Ejected {
		t.Fatal("flaky not ejected")
	}
	close(release)
	if err := <-slow; err != nil {
		t.Fatal(err)
	}
	if !status(t, p, flaky.url()).Ejected {
		t.Fatal("a request sent before the ejection ended it")
	}
}

// TestAttemptsCutByAPerTryTimeoutCountAgainstTheInstance is a regression
// test: a retrying transport cancels a slow attempt with a cause of its own,
// and that used to be taken for the caller giving up, so a slow instance was
// never ejected.
func TestAttemptsCutByAPerTryTimeoutCountAgainstTheInstance(t *testing.T) {
	t.Parallel()
	started := make(chan struct{}, 10)
	slow := newBackendWith(t, "slow", func(w http.ResponseWriter, r *http.Request) {
		started <- struct{}{}
		<-r.Context().Done()
	})
	p := newPool(t, upstream.Config{
		Instances: []upstream.Instance{{URL: slow.url()}},
		Outlier:   &upstream.OutlierDetection{ConsecutiveConnErrors: 2},
		Now:       newFakeClock().Now,
	})
	errPerTry := errors.New("per-try timeout")
	for range 2 {
		ctx, cancel := context.WithCancelCause(context.Background())
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://pool/", nil)
		go func() { <-started; cancel(errPerTry) }()
		if _, err := p.RoundTrip(req); err == nil {
			t.Fatal("a timed-out request succeeded")
		}
	}
	s := p.Status()[0]
	if !s.Ejected {
		t.Errorf("two timed-out attempts did not eject the instance: %+v", s)
	}
	if got, want := s.Failures, uint64(2); got != want {
		t.Errorf("two timed-out attempts counted %d failures, want %d", got, want)
	}
}
