package gateway_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"testing"
	"time"

	"github.com/portico-dev/portico/gateway"
	"github.com/portico-dev/portico/gateway/upstream"
	"github.com/portico-dev/portico/internal/cputime"
)

// BenchmarkProxy compares the gateway without middleware with a bare
// httputil.ReverseProxy over the same transport and loopback upstream.
// Run both in one go and compare their cpu-ns/op:
//
//	go test -run '^$' -bench Proxy -benchmem -count 5 ./gateway
func BenchmarkProxy(b *testing.B) {
	up := userUpstream(b)
	target, _ := url.Parse(up.URL)
	tr := upstream.NewTransport(nil)
	defer tr.CloseIdleConnections()

	bare := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.SetXForwarded()
		},
		Transport: tr,
	}
	pool, err := upstream.New(upstream.Config{Name: "svc", Instances: []upstream.Instance{{URL: up.URL}}, Transport: tr})
	if err != nil {
		b.Fatal(err)
	}
	g, err := gateway.New(gateway.WithUpstream(pool), gateway.WithLogger(quiet),
		gateway.WithRoute(gateway.Route{Path: "/users/{id}", Upstream: "svc"}))
	if err != nil {
		b.Fatal(err)
	}
	defer g.Close()

	for _, c := range []struct {
		name string
		h    http.Handler
	}{{"bare", bare}, {"gateway", g}} {
		b.Run(c.name, func(b *testing.B) { benchGets(b, c.h, "/users/7") })
	}
}

// BenchmarkProxyPolicies compares a gateway route without upstream
// policies with the same route behind an overall timeout, retries with a
// per-attempt timeout and a circuit breaker, over a loopback upstream:
// the difference between the two is what the resilience policies cost
// per request. Compare their cpu-ns/op:
//
//	go test -run '^$' -bench ProxyPolicies -benchmem -count 8 ./gateway
func BenchmarkProxyPolicies(b *testing.B) {
	up := userUpstream(b)
	tr := upstream.NewTransport(nil)
	defer tr.CloseIdleConnections()
	for _, c := range []struct {
		name   string
		policy gateway.Policy
	}{
		{"plain", gateway.Policy{}},
		{"resilient", gateway.Policy{
			Timeout: 5 * time.Second,
			Retry:   &gateway.Retry{Attempts: 2, PerTry: time.Second},
			Breaker: &gateway.Breaker{},
		}},
	} {
		b.Run(c.name, func(b *testing.B) {
			pool, err := upstream.New(upstream.Config{Name: "svc", Instances: []upstream.Instance{{URL: up.URL}}, Transport: tr})
			if err != nil {
				b.Fatal(err)
			}
			g, err := gateway.New(gateway.WithUpstream(pool), gateway.WithLogger(quiet),
				gateway.WithRoute(gateway.Route{Path: "/users/{id}", Upstream: "svc", Policy: c.policy}))
			if err != nil {
				b.Fatal(err)
			}
			defer g.Close()
			benchGets(b, g, "/users/7")
		})
	}
}

// userUpstream serves a small JSON user on loopback until the benchmark
// ends.
func userUpstream(b *testing.B) *httptest.Server {
	b.Helper()
	body := []byte(`{"id":7,"name":"Ada"}`)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(body)
	}))
	b.Cleanup(up.Close)
	return up
}

// benchGets serves h on loopback and sends it GETs for path from parallel
// clients until the benchmark ends, failing on any status but 200. It
// reports the CPU time per request of the whole process (client, handler
// and upstream alike) as cpu-ns/op, steadier than wall time on a busy
// machine; compare two handlers by the difference.
func benchGets(b *testing.B, h http.Handler, path string) {
	b.Helper()
	srv := httptest.NewServer(h)
	defer srv.Close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	defer client.CloseIdleConnections()
	url := srv.URL + path
	b.ReportAllocs()
	b.ResetTimer()
	defer cputime.PerOp(b)()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := client.Get(url)
			if err != nil {
				b.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
		}
	})
}

// BenchmarkMatch measures route lookup over 500 routes: static paths,
// templates, hosts and a catch-all, through the gateway's handler with an
// upstream that answers in process.
func BenchmarkMatch(b *testing.B) {
	var routes []gateway.Route
	for i := range 500 {
		switch i % 4 {
		case 0:
			routes = append(routes, gateway.Route{Path: fmt.Sprintf("/svc%d/items", i), Upstream: "a"})
		case 1:
			routes = append(routes, gateway.Route{Path: fmt.Sprintf("/svc%d/items/{id}", i), Methods: []string{"GET"}, Upstream: "a"})
		case 2:
			routes = append(routes, gateway.Route{Prefix: fmt.Sprintf("/svc%d", i), Hosts: []string{fmt.Sprintf("h%d.example.com", i)}, Upstream: "a"})
		default:
			routes = append(routes, gateway.Route{Path: fmt.Sprintf("/svc%d/files/*", i), Headers: map[string]string{"X-Tenant": "*"}, Upstream: "a"})
		}
	}
	g, err := gateway.New(gateway.WithUpstream(fuzzUpstream{}), gateway.WithRoute(routes...))
	if err != nil {
		b.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodGet, "/svc497/items/42", nil)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		name, ok := g.Lookup(req)
		if !ok {
			b.Fatal("no route matched")
		}
		if name != "GET /svc497/items/{id}" {
			b.Fatalf("matched %q", name)
		}
	}
}
