package upstream_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portico-dev/portico/gateway/upstream"
)

// simulated answers for instances named by host ("a.test"), each after a
// set latency of fake time: a round trip moves the clock on by the
// instance's latency before it returns. Responses are held open (in
// flight) until their body is closed.
type simulated struct {
	clock *fakeClock
	mu    sync.Mutex
	delay map[string]time.Duration
	hits  map[string]int
	// block, if set (by pending), makes each round trip announce itself
	// on entered and wait for block to close before answering.
	block   chan struct{}
	entered chan string
}

func newSimulated(clock *fakeClock, delays map[string]time.Duration) *simulated {
	return &simulated{clock: clock, delay: delays, hits: map[string]int{}}
}

func (s *simulated) RoundTrip(r *http.Request) (*http.Response, error) {
	host := r.URL.Host
	s.mu.Lock()
	d := s.delay[host]
	s.hits[host]++
	s.mu.Unlock()
	if s.block != nil {
		s.entered <- host
		<-s.block
	}
	s.clock.Advance(d)
	return answer(r, host), nil
}

// answer is a simulated instance's answer to r: 200 "ok", naming the
// instance in X-Instance.
func answer(r *http.Request, host string) *http.Response {
	return &http.Response{
		StatusCode: http.StatusOK,
		Header:     http.Header{"X-Instance": {host}},
		Body:       io.NopCloser(strings.NewReader("ok")),
		Request:    r,
	}
}

func (s *simulated) setDelay(host string, d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delay[host] = d
}

// send makes n requests one after the other, closing each response, and
// returns how many each instance answered.
func (s *simulated) send(t *testing.T, p *upstream.Pool, n int) map[string]int {
	t.Helper()
	got := map[string]int{}
	for range n {
		resp := s.open(t, p)
		got[resp.Header.Get("X-Instance")]++
		resp.Body.Close()
	}
	return got
}

// open makes one request and returns its response, still in flight.
func (s *simulated) open(t *testing.T, p *upstream.Pool) *http.Response {
	t.Helper()
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, "http://pool/", nil)
	resp, err := p.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// hold makes n requests and keeps them all in flight, returning how many
// each instance holds.
func (s *simulated) hold(t *testing.T, p *upstream.Pool, n int) map[string]int {
	t.Helper()
	got := map[string]int{}
	for range n {
		resp := s.open(t, p)
		got[resp.Header.Get("X-Instance")]++
		t.Cleanup(func() { resp.Body.Close() })
	}
	return got
}

// pending starts n requests, one after the other, each held in the
// transport until all have started, and returns how many each instance
// was sent: the picks of requests that are all in flight at once.
func (s *simulated) pending(t *testing.T, p *upstream.Pool, n int) map[string]int {
	t.Helper()
	s.block, s.entered = make(chan struct{}), make(chan string)
	var wg sync.WaitGroup
	got := map[string]int{}
	for range n {
		wg.Go(func() {
			req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, "http://pool/", nil)
			resp, err := p.RoundTrip(req)
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
		})
		got[<-s.entered]++
	}
	close(s.block)
	wg.Wait()
	return got
}

// simPool returns a peak-EWMA pool over the simulated instances a.test
// and b.test with the given weights.
func simPool(t *testing.T, sim *simulated, wa, wb int) *upstream.Pool {
	t.Helper()
	return newPool(t, upstream.Config{
		Balancer:  upstream.PeakEWMA,
		Instances: []upstream.Instance{{URL: "http://a.test", Weight: wa}, {URL: "http://b.test", Weight: wb}},
		Transport: sim,
		Now:       sim.clock.Now,
	})
}

// TestPeakEWMAReactsAtOnceToASlowResponse checks that one slow response
// takes an instance out of the rotation from the next pick on, and that
// the estimate then decays back (time constant 10s) until the instance,
// fast again, is tried and takes its share once more.
func TestPeakEWMAReactsAtOnceToASlowResponse(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	sim := newSimulated(clock, map[string]time.Duration{"a.test": 10 * time.Millisecond, "b.test": 10 * time.Millisecond})
	p := simPool(t, sim, 1, 1)

	if got := sim.send(t, p, 100); got["b.test"] < 40 {
		t.Fatalf("equal instances: b answered %d of 100, want about half", got["b.test"])
	}
	sim.setDelay("b.test", time.Second)
	for i := 0; sim.send(t, p, 1)["b.test"] == 0; i++ {
		if i > 100 {
			t.Fatal("b never picked")
		}
	}
	spike := clock.Now()
	sim.setDelay("b.test", 10*time.Millisecond)
	// One slow response: b's estimate is 1s at once, against a's 10ms.
	if got := sim.send(t, p, 1000); got["b.test"] != 0 {
		t.Fatalf("b answered %d of the 1000 requests after its slow response, want 0", got["b.test"])
	}
	// 1s·exp(-t/10s) falls below a's 10ms after about 46s.
	for sim.send(t, p, 1)["b.test"] == 0 {
		if clock.Now().Sub(spike) > 5*time.Minute {
			t.Fatal("b was never tried again")
		}
	}
	inRange(t, "time until b was tried again after its slow response (about 46s: 10s · ln 100)", clock.Now().Sub(spike), 40*time.Second, 50*time.Second)
	if got := sim.send(t, p, 100); got["b.test"] < 40 {
		t.Errorf("b fast again answered %d of 100, want about half", got["b.test"])
	}
}

// TestPeakEWMASendsLessToASlowerInstance holds requests in flight on two
// instances, one four times slower, and checks that each takes requests
// in inverse proportion to its latency.
func TestPeakEWMASendsLessToASlowerInstance(t *testing.T) {
	t.Parallel()
	sim := newSimulated(newFakeClock(), map[string]time.Duration{"a.test": 10 * time.Millisecond, "b.test": 40 * time.Millisecond})
	p := simPool(t, sim, 1, 1)
	sim.send(t, p, 10) // both answer at least once
	got := sim.hold(t, p, 100)
	ratio := float64(got["a.test"]+1) / float64(got["b.test"]+1)
	inRange(t, fmt.Sprintf("a's load over b's (held a=%d b=%d, want about 4)", got["a.test"], got["b.test"]), ratio, 3, 5)
}

// TestPeakEWMARespectsWeights holds requests on two equally fast
// instances of weights 1 and 3 and checks the heavier one holds three
// times as many.
func TestPeakEWMARespectsWeights(t *testing.T) {
	t.Parallel()
	sim := newSimulated(newFakeClock(), map[string]time.Duration{"a.test": 10 * time.Millisecond, "b.test": 10 * time.Millisecond})
	p := simPool(t, sim, 1, 3)
	sim.send(t, p, 10)
	got := sim.hold(t, p, 100)
	ratio := float64(got["b.test"]+1) / float64(got["a.test"]+1)
	inRange(t, fmt.Sprintf("b's (weight 3) load over a's (held a=%d b=%d, want about 3)", got["a.test"], got["b.test"]), ratio, 2.5, 3.5)
}

// TestPeakEWMAFirstPicksSpreadByLoad checks that before any instance
// has answered, every instance has the same prior, so requests in flight
// spread evenly rather than all landing on one.
func TestPeakEWMAFirstPicksSpreadByLoad(t *testing.T) {
	t.Parallel()
	sim := newSimulated(newFakeClock(), nil)
	p := simPool(t, sim, 1, 1)
	got := sim.pending(t, p, 10)
	if got["a.test"] != 5 {
		t.Errorf("10 pending first requests split a=%d b=%d, want 5/5", got["a.test"], got["b.test"])
	}
}

// TestPeakEWMANewInstanceStartsAsTypical adds an instance through
// discovery to a pool whose instances answer in 100ms and checks that,
// before it has answered, it is taken for a typical instance (the median
// of the others) and so not flooded: pending requests spread evenly.
func TestPeakEWMANewInstanceStartsAsTypical(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	const slow = 100 * time.Millisecond
	sim := newSimulated(clock, map[string]time.Duration{"10.0.0.1:80": slow, "10.0.0.2:80": slow, "10.0.0.3:80": slow})
	res := &fakeResolver{}
	res.set(nil, "10.0.0.1", "10.0.0.2")
	p := newPool(t, upstream.Config{
		Balancer: upstream.PeakEWMA,
		DNS: &upstream.DNSConfig{
			Name:     "api.test",
			Port:     80,
			Resolver: res,
			Interval: time.Millisecond,
		},
		Transport: sim,
		Now:       clock.Now,
	})
	p.Start(t.Context())
	sim.send(t, p, 10)
	res.set(nil, "10.0.0.1", "10.0.0.2", "10.0.0.3")
	waitFor(t, "the third instance", func() bool { return len(p.Status()) == 3 })

	got := sim.pending(t, p, 30)
	if n := got["10.0.0.3:80"]; n > 12 {
		t.Errorf("the new instance took %d of 30 pending requests (%v), want about a third", n, got)
	}
	if n := got["10.0.0.3:80"]; n < 8 {
		t.Errorf("the new instance took %d of 30 pending requests (%v), want about a third", n, got)
	}
}

// TestPeakEWMATransportErrorsRaiseTheEstimate checks that an instance
// refusing connections at once does not look like the fastest: its
// estimate at least doubles with each transport error.
func TestPeakEWMATransportErrorsRaiseTheEstimate(t *testing.T) {
	t.Parallel()
	good := newBackend(t, "good")
	dead := newBackend(t, "dead")
	dead.srv.Close()
	clock := newFakeClock()
	p := newPool(t, upstream.Config{
		Balancer:  upstream.PeakEWMA,
		Instances: []upstream.Instance{{URL: good.url()}, {URL: dead.url()}},
		Now:       clock.Now,
	})
	errs := 0
	for range 100 {
		if _, resp, _ := get(p, "/"); resp == nil {
			errs++
		}
	}
	if errs > 3 {
		t.Errorf("%d of 100 requests went to the instance refusing connections, want a few", errs)
	}
	if d, g := status(t, p, dead.url()).Latency, status(t, p, good.url()).Latency; d <= g {
		t.Errorf("the dead instance's estimate is %v, the good one's %v: want it higher", d, g)
	}
}

// TestPeakEWMAAvoidsASlowInstance sends GETs from eight workers through a
// peak-EWMA pool of two loopback instances, one answering 200ms late,
// until the fast one has answered 400, and checks that the slow one was
// sent only the few requests it took to learn it is slow.
func TestPeakEWMAAvoidsASlowInstance(t *testing.T) {
	t.Parallel()
	fast := newBackend(t, "fast")
	slow := newBackendWith(t, "slow", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(200 * time.Millisecond):
		case <-r.Context().Done():
		}
		io.WriteString(w, "slow")
	})
	p := newPool(t, upstream.Config{
		Balancer:  upstream.PeakEWMA,
		Instances: []upstream.Instance{{URL: slow.url()}, {URL: fast.url()}},
	})
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for fast.hits.Load() < 400 {
				if _, _, err := get(p, "/"); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	total := fast.hits.Load() + slow.hits.Load()
	if n := slow.hits.Load(); n*10 > total {
		t.Errorf("the slow instance answered %d of %d requests, want under 10%%", n, total)
	}
	if s := status(t, p, slow.url()); s.Latency < 200*time.Millisecond {
		t.Errorf("the slow instance's estimate is %v, want at least its 200ms", s.Latency)
	}
}
