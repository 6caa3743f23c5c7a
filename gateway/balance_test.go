package gateway_test

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portico-dev/portico/gateway"
	"github.com/portico-dev/portico/gateway/upstream"
)

// counted starts an upstream that counts its requests.
func counted(t *testing.T, name string, n *atomic.Int64) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.Header().Set("X-Served-By", name)
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func within(got, want, tolerance float64) bool { return math.Abs(got-want) <= tolerance }

func TestBalancingThroughTheGateway(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		balancer upstream.Balancer
		weights  [2]int
	}{
		{name: "weighted round robin splits 3 to 1", balancer: upstream.WeightedRoundRobin, weights: [2]int{3, 1}},
		{name: "random splits 3 to 1 by weight", balancer: upstream.Random, weights: [2]int{3, 1}},
		{name: "least request spreads equal instances evenly", balancer: upstream.LeastRequest, weights: [2]int{1, 1}},
		{name: "round robin alternates", balancer: upstream.RoundRobin, weights: [2]int{1, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var a, b atomic.Int64
			sa, sb := counted(t, "a", &a), counted(t, "b", &b)
			pool := poolOf(t, upstream.Config{Name: "svc", Balancer: tt.balancer, Instances: []upstream.Instance{
				{URL: sa.URL, Weight: tt.weights[0]}, {URL: sb.URL, Weight: tt.weights[1]}}})
			_, gw := newGateway(t, gateway.WithUpstream(pool), gateway.WithRoute(gateway.Route{Prefix: "/", Upstream: "svc"}))
			const n = 2000
			for i := range n {
				resp, err := gw.Client().Get(gw.URL + "/")
				if err != nil {
					t.Fatalf("request %d: %v", i, err)
				}
				resp.Body.Close()
			}
			want := float64(tt.weights[0]) / float64(tt.weights[0]+tt.weights[1])
			got := float64(a.Load()) / n
			if !within(got, want, 0.05) {
				t.Errorf("instance a took %.3f of requests, want %.3f ± 0.05 (a=%d b=%d)", got, want, a.Load(), b.Load())
			}
		})
	}
}

func TestConsistentHashKeepsKeysOnTheirInstance(t *testing.T) {
	t.Parallel()
	var a, b, c atomic.Int64
	srvs := []*httptest.Server{counted(t, "a", &a), counted(t, "b", &b), counted(t, "c", &c)}
	pool := poolOf(t, upstream.Config{Name: "svc", Balancer: upstream.ConsistentHash, HashOn: upstream.HashKey{Header: "X-User"}}, srvs...)
	_, gw := newGateway(t, gateway.WithUpstream(pool), gateway.WithRoute(gateway.Route{Prefix: "/", Upstream: "svc"}))
	served := func(user string) string {
		req, _ := http.NewRequest(http.MethodGet, gw.URL+"/", nil)
		req.Header.Set("X-User", user)
		resp, err := gw.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.Header.Get("X-Served-By")
	}
	first := map[string]string{}
	for i := range 100 {
		u := fmt.Sprint("user-", i)
		first[u] = served(u)
	}
	for round := range 3 {
		for u, inst := range first {
			if got := served(u); got != inst {
				t.Fatalf("round %d: %s moved from %s to %s", round, u, inst, got)
			}
		}
	}
	for name, n := range map[string]*atomic.Int64{"a": &a, "b": &b, "c": &c} {
		if n.Load() == 0 {
			t.Errorf("keys did not spread: %s got none (a=%d b=%d c=%d)", name, a.Load(), b.Load(), c.Load())
		}
	}
}

func TestKilledInstanceIsLeftWithoutFailedRequests(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  upstream.Config
	}{
		{name: "active health checks take a killed instance out",
			cfg: upstream.Config{HealthCheck: &upstream.HealthCheck{
				Path:               "/",
				Interval:           time.Second,
				Timeout:            time.Second,
				UnhealthyThreshold: 1,
			}}},
		{name: "passive outlier detection ejects a killed instance",
			cfg: upstream.Config{Outlier: &upstream.OutlierDetection{ConsecutiveConnErrors: 1, BaseEjection: time.Minute}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var a, b atomic.Int64
			sa, sb := counted(t, "a", &a), counted(t, "b", &b)
			cfg := tt.cfg
			cfg.Name = "svc"
			pool := poolOf(t, cfg, sa, sb)
			g, gw := newGateway(t, gateway.WithUpstream(pool), gateway.WithRoute(gateway.Route{Prefix: "/", Upstream: "svc",
				Policy: gateway.Policy{Retry: &gateway.Retry{Attempts: 3, Backoff: time.Millisecond}}}))
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			g.Start(ctx)
			sa.CloseClientConnections()
			sa.Close()
			for i := range 200 {
				resp, err := gw.Client().Get(gw.URL + "/")
				if err != nil {
					t.Fatalf("request %d: %v", i, err)
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusNoContent {
					t.Fatalf("request %d failed with %d while one instance was down", i, resp.StatusCode)
				}
			}
			// The killed instance is marked out of rotation.
			deadline := time.Now().Add(20 * time.Second)
			for {
				st := g.Upstreams()[0].Instances[0]
				if !st.Healthy || st.Ejected {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("the killed instance is still in rotation: %+v", st)
				}
				time.Sleep(10 * time.Millisecond)
			}
			if b.Load() < 200 {
				t.Errorf("the live instance served %d of 200 requests", b.Load())
			}
		})
	}
}
