package gateway_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/portico-dev/portico/gateway"
	"github.com/portico-dev/portico/gateway/upstream"
)

// A route that hedges: the pool's first instance is stuck, so each GET it
// gets is sent again to the other one after 20ms, which answers; the
// stuck attempt is canceled.
func ExampleHedge() {
	stuck := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	}))
	defer stuck.Close()
	fast := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "fast")
	}))
	defer fast.Close()

	pool, err := upstream.New(upstream.Config{Name: "svc", Balancer: upstream.RoundRobin,
		Instances: []upstream.Instance{{URL: stuck.URL}, {URL: fast.URL}}})
	if err != nil {
		panic(err)
	}
	g, err := gateway.New(gateway.WithUpstream(pool), gateway.WithRoute(gateway.Route{
		Prefix: "/", Upstream: "svc",
		Policy: gateway.Policy{Hedge: &gateway.Hedge{Delay: gateway.HedgeDelay{After: 20 * time.Millisecond}}},
	}))
	if err != nil {
		panic(err)
	}
	defer g.Close()
	srv := httptest.NewServer(g)
	defer srv.Close()

	for range 2 {
		resp, err := http.Get(srv.URL + "/items")
		if err != nil {
			panic(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Println(resp.StatusCode, string(body))
	}
	// Output:
	// 200 fast
	// 200 fast
}
