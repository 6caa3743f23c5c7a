package upstream_test

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/portico-dev/portico/gateway/upstream"
	"github.com/portico-dev/portico/resilience"
)

// stalling answers for simulated instances named by host ("a.test"): an
// instance with a delay answers after moving the fake clock on by it; a
// held one announces the request on entered and answers nothing until the
// request is canceled, as a hung instance does.
type stalling struct {
	clock   *fakeClock
	mu      sync.Mutex
	delay   map[string]time.Duration
	held    map[string]bool
	entered chan string
}

func newStalling(clock *fakeClock) *stalling {
	return &stalling{
		clock:   clock,
		delay:   map[string]time.Duration{},
		held:    map[string]bool{},
		entered: make(chan string, 16),
	}
}

func (s *stalling) set(host string, d time.Duration, held bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delay[host], s.held[host] = d, held
}

func (s *stalling) RoundTrip(r *http.Request) (*http.Response, error) {
	host := r.URL.Host
	s.mu.Lock()
	d, held := s.delay[host], s.held[host]
	s.mu.Unlock()
	if held {
		s.entered <- host
		<-r.Context().Done()
		return nil, r.Context().Err()
	}
	s.clock.Advance(d)
	return answer(r, host), nil
}

// send makes one request through rt and returns the instance that
// answered it.
func (s *stalling) send(t *testing.T, rt http.RoundTripper) string {
	t.Helper()
	req, _ := http.NewRequestWithContext(upstream.TrackAttempts(context.Background()), http.MethodGet, "http://pool/", nil)
	resp, err := rt.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.Header.Get("X-Instance")
}

// hold starts a request through p that the next pick sends to a held
// instance, waits until it is there, and returns the instance. The request
// is canceled when the test ends.
func (s *stalling) hold(t *testing.T, p *upstream.Pool) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://pool/", nil)
		if resp, err := p.RoundTrip(req); err == nil {
			resp.Body.Close()
		}
	}()
	t.Cleanup(func() { cancel(); <-done })
	return <-s.entered
}

// stallingPool is a round-robin pool over a.test and b.test (and c.test
// with three) whose slow threshold is 40ms, two in a row, with peers
// compared.
func stallingPool(t *testing.T, s *stalling, od *upstream.OutlierDetection, hosts ...string) *upstream.Pool {
	t.Helper()
	var instances []upstream.Instance
	for _, h := range hosts {
		instances = append(instances, upstream.Instance{URL: "http://" + h})
	}
	if od == nil {
		od = &upstream.OutlierDetection{Slow: &upstream.SlowOutlier{Threshold: 40 * time.Millisecond, Consecutive: 2}}
	}
	return newPool(t, upstream.Config{
		Instances: instances,
		Outlier:   od,
		Transport: s,
		Now:       s.clock.Now,
	})
}

// TestSlowEjectionSparesAnInstanceWhosePeerKeepsRequestsWaiting is the
// regression test of the fault test's run that ejected the healthy
// instance: its peer turned slow and had not answered since, so the
// peer's estimate still said 1ms while its requests waited; the healthy
// instance, slowed to 100ms for a moment by a loaded machine, was found
// twice as slow as that, twice, and ejected. A peer whose oldest pending
// request has waited longer is not demonstrably faster.
func TestSlowEjectionSparesAnInstanceWhosePeerKeepsRequestsWaiting(t *testing.T) {
	t.Parallel()
	s := newStalling(newFakeClock())
	s.set("a.test", time.Millisecond, false)
	s.set("b.test", time.Millisecond, false)
	p := stallingPool(t, s, nil, "a.test", "b.test")
	for range 3 { // a, b, a: both answer in 1ms
		s.send(t, p)
	}
	s.set("a.test", 100*time.Millisecond, false) // a loaded machine
	s.set("b.test", 0, true)                     // b turns slow
	for range 2 {
		if got, want := s.hold(t, p), "b.test"; got != want {
			t.Fatalf("held request went to %s, want %s", got, want)
		}
		if got, want := s.send(t, p), "a.test"; got != want {
			t.Fatalf("request went to %s, want %s", got, want)
		}
	}
	if st := status(t, p, "http://a.test:80"); st.Ejected {
		t.Errorf("the instance that kept answering was ejected while its peer kept requests waiting longer: %+v", st)
	}
}

// withAEjected returns a stallingPool in which a.test, answering in
// 100ms while b.test answers in 1ms, has just been ejected for slowness.
func withAEjected(t *testing.T) (*stalling, *upstream.Pool) {
	t.Helper()
	s := newStalling(newFakeClock())
	s.set("a.test", 100*time.Millisecond, false)
	s.set("b.test", time.Millisecond, false)
	p := stallingPool(t, s, nil, "a.test", "b.test")
	for range 5 { // a, b, a, b, a
		s.send(t, p)
	}
	if !status(t, p, "http://a.test:80").Ejected {
		t.Fatal("the instance 100 times slower than its peer was not ejected")
	}
	return s, p
}

// TestSlowerInstanceTakesTheEjectionOfAFasterOne checks that at the
// ejection cap a faster instance ejected for slowness does not shield one
// found clearly slower since: the slower one is ejected and the faster
// one readmitted, though the cap allows one ejection of the two.
func TestSlowerInstanceTakesTheEjectionOfAFasterOne(t *testing.T) {
	t.Parallel()
	s, p := withAEjected(t)
	s.set("b.test", 2*time.Second, false)
	for range 2 {
		if got, want := s.send(t, p), "b.test"; got != want {
			t.Fatalf("request went to %s, want %s (the other is ejected)", got, want)
		}
	}
	if st := status(t, p, "http://b.test:80"); !st.Ejected {
		t.Errorf("the instance answering in 2s was not ejected while one of 100ms was: %+v", st)
	}
	if st := status(t, p, "http://a.test:80"); st.Ejected {
		t.Errorf("the faster instance stayed ejected: %+v", st)
	}
	if got, want := s.send(t, p), "a.test"; got != want {
		t.Errorf("after the swap a request went to %s, want %s", got, want)
	}
}

// TestReplacementNeedsAClearlySlowerInstance checks the other side: at
// the cap, an instance barely slower than the one ejected (less than the
// peer factor) does not take its place.
func TestReplacementNeedsAClearlySlowerInstance(t *testing.T) {
	t.Parallel()
	s, p := withAEjected(t)
	s.set("b.test", 150*time.Millisecond, false)
	for range 4 {
		s.send(t, p)
	}
	if st := status(t, p, "http://a.test:80"); !st.Ejected {
		t.Errorf("the ejected instance was readmitted for a peer only 1.5 times slower: %+v", st)
	}
	if st := status(t, p, "http://b.test:80"); st.Ejected {
		t.Errorf("an instance only 1.5 times slower than the ejected one was ejected: %+v", st)
	}
}

// TestHedgeThatLostToAnEarlierAttemptIsNotSlow checks that a hedge
// canceled because the attempt sent before it answered counts for
// nothing, however long it waited: it had less time than the winner took.
// The primary's slowness still counts.
func TestHedgeThatLostToAnEarlierAttemptIsNotSlow(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	s := newStalling(clock)
	s.set("b.test", 0, true)
	// a, the primary, answers in 300ms of fake time once the hedge to b
	// has been sent: b's hedge waited 300ms, then lost.
	slowA := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if r.URL.Host == "a.test" {
			<-s.entered
			s.set("a.test", 300*time.Millisecond, false)
		}
		return s.RoundTrip(r)
	})
	p := newPool(t, upstream.Config{
		Instances: []upstream.Instance{{URL: "http://a.test"}, {URL: "http://b.test"}},
		Outlier: &upstream.OutlierDetection{MaxEjectedPercent: 100,
			Slow: &upstream.SlowOutlier{Threshold: 40 * time.Millisecond, Consecutive: 2, PeerFactor: -1}},
		Transport: slowA,
		Now:       clock.Now,
	})
	tr := resilience.NewTransport(p, resilience.Hedge(resilience.HedgeConfig{
		Delay: 10 * time.Millisecond, Budget: resilience.NewBudget(resilience.BudgetConfig{Min: 100})}))
	t.Cleanup(func() { _ = tr.Close() })
	for range 2 {
		if got, want := s.send(t, tr), "a.test"; got != want {
			t.Fatalf("answered by %s, want %s", got, want)
		}
	}
	// The loser ends after the winner has answered.
	waitFor(t, "the lost hedges to end", func() bool { return status(t, p, "http://b.test:80").InFlight == 0 })
	if st := status(t, p, "http://b.test:80"); st.Ejected {
		t.Errorf("hedges that lost to the attempt sent before them ejected their instance: %+v", st)
	}
	if st := status(t, p, "http://a.test:80"); !st.Ejected {
		t.Errorf("the primary that answered in 300ms twice was not ejected: %+v", st)
	}
}
