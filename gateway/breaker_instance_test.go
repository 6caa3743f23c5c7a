package gateway_test

import (
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portico-dev/portico/gateway"
	"github.com/portico-dev/portico/gateway/upstream"
)

// One bad instance used to open the route's breaker for its whole pool:
// the breaker was keyed by the pool's name. Breakers are now per instance,
// so the good instance keeps serving.
func TestRegressionOneBadInstanceOpenedTheBreakerForItsPool(t *testing.T) {
	t.Parallel()
	var good, bad atomic.Int64
	badSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		bad.Add(1)
		w.WriteHeader(http.StatusInternalServerError)
	}))
	t.Cleanup(badSrv.Close)
	goodSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		good.Add(1)
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(goodSrv.Close)
	pool := poolOf(t, upstream.Config{Name: "users", Balancer: upstream.RoundRobin}, badSrv, goodSrv)
	_, srv := newGateway(t,
		gateway.WithUpstream(pool),
		gateway.WithRoute(gateway.Route{Prefix: "/", Upstream: "users",
			Policy: gateway.Policy{Breaker: &gateway.Breaker{Failures: 1, Delay: time.Hour}}}))

	var codes []int
	for range 6 {
		resp, err := srv.Client().Get(srv.URL + "/x")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		codes = append(codes, resp.StatusCode)
	}
	if got, want := bad.Load(), int64(1); got != want {
		t.Errorf("the bad instance got %d requests, want %d (its breaker should open after one failure)", got, want)
	}
	if got, want := good.Load(), int64(5); got != want {
		t.Errorf("the good instance got %d requests, want %d; statuses %v", got, want, codes)
	}
	for i, c := range codes[1:] {
		if c != http.StatusOK {
			t.Errorf("request %d: status %d, want 200 from the good instance", i+2, c)
		}
	}
}
