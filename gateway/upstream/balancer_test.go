package upstream_test

import (
	"math"
	"net/http"
	"strconv"
	"sync"
	"testing"

	"github.com/portico-dev/portico/gateway/upstream"
)

const distributionRequests = 10_000

// TestBalancerDistribution sends 10,000 requests through real loopback
// instances and checks that each instance's share is within 5% (relative)
// of its expected share.
func TestBalancerDistribution(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		balancer upstream.Balancer
		hashOn   upstream.HashKey
		weights  []int
		// equal expects an equal share whatever the weights.
		equal bool
		// exact requires the exact expected count (deterministic balancers).
		exact bool
		// sequential sends one request at a time, so none is in flight.
		sequential bool
	}{
		{
			name:     "round robin ignores weights and takes turns",
			balancer: upstream.RoundRobin,
			weights:  []int{1, 2, 3},
			equal:    true,
			exact:    true,
		},
		{
			name:     "weighted round robin follows weights exactly",
			balancer: upstream.WeightedRoundRobin,
			weights:  []int{1, 2, 3, 4},
			exact:    true,
		},
		{name: "random follows weights", balancer: upstream.Random, weights: []int{2, 3}},
		{
			name:       "least request on an idle pool follows weights",
			balancer:   upstream.LeastRequest,
			weights:    []int{2, 3},
			sequential: true,
		},
		{
			name:     "consistent hashing honors weights",
			balancer: upstream.ConsistentHash,
			hashOn:   upstream.HashKey{Header: "X-User"},
			weights:  []int{2, 3},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			backends := make([]*backend, len(tt.weights))
			total := 0
			for i, w := range tt.weights {
				backends[i] = newBackend(t, "b"+strconv.Itoa(i))
				total += w
			}
			// Fixed instance names make the hash ring the same on every run.
			tr, instances := dialMap(t, backends, tt.weights)
			p := newPool(t, upstream.Config{
				Instances: instances,
				Balancer:  tt.balancer,
				HashOn:    tt.hashOn,
				Transport: tr,
			})
			var wg sync.WaitGroup
			workers := 4
			if tt.sequential {
				workers = 1
			}
			errs := make(chan error, workers)
			for w := range workers {
				wg.Go(func() {
					for i := w; i < distributionRequests; i += workers {
						if _, _, err := get(p, "/", "X-User", "user-"+strconv.Itoa(i)); err != nil {
							errs <- err
							return
						}
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			for i, b := range backends {
				want := float64(distributionRequests) * float64(tt.weights[i]) / float64(total)
				if tt.equal {
					want = float64(distributionRequests) / float64(len(backends))
				}
				got := float64(b.hits.Load())
				if tt.exact {
					if math.Abs(got-want) > 1 {
						t.Errorf("instance %d (weight %d): %v requests, want %v", i, tt.weights[i], got, want)
					}
					continue
				}
				if dev := math.Abs(got-want) / want; dev > 0.05 {
					t.Errorf("instance %d (weight %d): %v requests, want %v ± 5%% (off by %.1f%%)", i, tt.weights[i], got, want, dev*100)
				}
			}
		})
	}
}

// TestSmoothWeightedRoundRobin checks nginx's interleaving: weights 5,1,1
// give a a b a c a a, never five a's in a row.
func TestSmoothWeightedRoundRobin(t *testing.T) {
	t.Parallel()
	a, b, c := newBackend(t, "a"), newBackend(t, "b"), newBackend(t, "c")
	p := newPool(t, upstream.Config{
		Balancer:  upstream.WeightedRoundRobin,
		Instances: []upstream.Instance{{URL: a.url(), Weight: 5}, {URL: b.url(), Weight: 1}, {URL: c.url(), Weight: 1}},
	})
	var got string
	for range 14 {
		name, _, err := get(p, "/")
		if err != nil {
			t.Fatal(err)
		}
		got += name
	}
	if want := "aabacaaaabacaa"; got != want {
		t.Errorf("sequence %s, want %s", got, want)
	}
}

// TestLeastRequestPrefersIdleInstance holds responses open on two
// instances, finishes those of one, and checks that least-request sends
// the next requests to the instance with fewer in flight.
func TestLeastRequestPrefersIdleInstance(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	hold := func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}
	a, b := newBackendWith(t, "a", hold), newBackendWith(t, "b", hold)
	defer close(release)
	p := newPool(t, upstream.Config{
		Balancer:  upstream.LeastRequest,
		Instances: []upstream.Instance{{URL: a.url()}, {URL: b.url()}},
	})
	open := func() *http.Response {
		req, _ := http.NewRequest(http.MethodGet, "http://pool/", nil)
		resp, err := p.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	byInstance := map[string][]*http.Response{}
	for range 6 {
		resp := open()
		name := resp.Header.Get("X-Instance")
		byInstance[name] = append(byInstance[name], resp)
	}
	for _, name := range []string{"a", "b"} {
		if got, want := len(byInstance[name]), 3; got != want {
			t.Errorf("6 held requests: %d went to %s, want %d", got, name, want)
		}
	}
	for _, resp := range byInstance["a"] {
		resp.Body.Close()
	}
	defer func() {
		for _, resp := range byInstance["b"] {
			resp.Body.Close()
		}
	}()
	if s := status(t, p, "http://"+a.hostPort()); s.InFlight != 0 {
		t.Fatalf("a in flight = %d after closing its bodies, want 0", s.InFlight)
	}
	for i := range 3 {
		resp := open()
		name := resp.Header.Get("X-Instance")
		resp.Body.Close()
		if name != "a" {
			t.Fatalf("request %d went to %q, which has 3 in flight, rather than a, which has none", i, name)
		}
	}
	if s := status(t, p, "http://"+b.hostPort()); s.InFlight != 3 {
		t.Errorf("b in flight = %d, want 3", s.InFlight)
	}
}

// TestDefaultBalancerIsRoundRobin checks that a pool without a balancer
// takes its instances in turn.
func TestDefaultBalancerIsRoundRobin(t *testing.T) {
	t.Parallel()
	a, b := newBackend(t, "a"), newBackend(t, "b")
	p := newPool(t, upstream.Config{Instances: []upstream.Instance{{URL: a.url(), Weight: 3}, {URL: b.url()}}})
	var got string
	for range 6 {
		name, _, err := get(p, "/")
		if err != nil {
			t.Fatal(err)
		}
		got += name
	}
	if got != "ababab" {
		t.Errorf("sequence %s, want ababab", got)
	}
}
