package upstream_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/portico-dev/portico/gateway/upstream"
)

// BenchmarkPick measures choosing an instance among eight, for each
// balancer, without sending anything. The pool has first answered a few
// requests (through a transport that answers at once), so that peak-EWMA
// picks read live, decaying estimates rather than the prior.
//
//	go test -run '^$' -bench Pick -benchmem ./gateway/upstream/
func BenchmarkPick(b *testing.B) {
	instances := make([]upstream.Instance, 8)
	for i := range instances {
		instances[i] = upstream.Instance{URL: fmt.Sprintf("http://10.0.0.%d:8080", i+1), Weight: 1 + i%3}
	}
	answer := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		return &http.Response{
			StatusCode: http.StatusOK,
			Body:       http.NoBody,
			Header:     http.Header{},
			Request:    r,
		}, nil
	})
	for _, bal := range upstream.Balancers() {
		cfg := upstream.Config{
			Name:      "bench",
			Instances: instances,
			Balancer:  bal,
			Transport: answer,
		}
		if bal == upstream.ConsistentHash {
			cfg.HashOn = upstream.HashKey{Header: "X-User"}
		}
		p, err := upstream.New(cfg)
		if err != nil {
			b.Fatal(err)
		}
		req, _ := http.NewRequest(http.MethodGet, "http://bench/", nil)
		req.Header.Set("X-User", "user-12345")
		for range 64 {
			if _, err := p.RoundTrip(req); err != nil {
				b.Fatal(err)
			}
		}
		b.Run(string(bal), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if upstream.PickURL(p, req) == "" {
					b.Fatal("no pick")
				}
			}
		})
		b.Run(string(bal)+"/parallel", func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					upstream.PickURL(p, req)
				}
			})
		})
		p.Close()
	}
}

// BenchmarkRoundTrip compares a GET over a loopback server sent straight
// through the tuned transport with the same GET sent through a pool of one
// instance over that transport: the difference is the pool's overhead.
//
//	go test -run '^$' -bench RoundTrip -benchmem ./gateway/upstream/
func BenchmarkRoundTrip(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	}))
	defer srv.Close()
	tr := upstream.NewTransport(nil)
	defer tr.CloseIdleConnections()
	p, err := upstream.New(upstream.Config{Name: "bench", Instances: []upstream.Instance{{URL: srv.URL}}, Transport: tr})
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	run := func(b *testing.B, rt http.RoundTripper, url string) {
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		b.ReportAllocs()
		for b.Loop() {
			resp, err := rt.RoundTrip(req)
			if err != nil {
				b.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	}
	b.Run("transport", func(b *testing.B) { run(b, tr, srv.URL+"/") })
	b.Run("pool", func(b *testing.B) { run(b, p, "http://bench/") })
}

// BenchmarkSlowEjectionBookkeeping measures what slow-response ejection
// adds to a round trip (its latency estimate and the pick times of the
// requests pending per instance) over a transport that answers at once,
// against a pool with outlier detection for failures only.
//
//	go test -run '^$' -bench SlowEjectionBookkeeping -benchmem ./gateway/upstream/
func BenchmarkSlowEjectionBookkeeping(b *testing.B) {
	resp := &http.Response{StatusCode: http.StatusOK, Body: http.NoBody}
	answer := roundTripFunc(func(*http.Request) (*http.Response, error) { return resp, nil })
	for _, c := range []struct {
		name string
		od   *upstream.OutlierDetection
	}{
		{"failures", &upstream.OutlierDetection{}},
		{"slow", &upstream.OutlierDetection{Slow: &upstream.SlowOutlier{}}},
	} {
		p, err := upstream.New(upstream.Config{
			Name:      "bench",
			Transport: answer,
			Outlier:   c.od,
			Instances: []upstream.Instance{{URL: "http://a.test"}, {URL: "http://b.test"}},
		})
		if err != nil {
			b.Fatal(err)
		}
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				req, _ := http.NewRequest(http.MethodGet, "http://bench/", nil)
				for pb.Next() {
					if _, err := p.RoundTrip(req); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
		p.Close()
	}
}
