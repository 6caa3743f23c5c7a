package gateway_test

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/portico-dev/portico/gateway"
	"github.com/portico-dev/portico/resilience"
)

// A route's breaker without a delay stays open as long as a breaker of
// package resilience does: the gateway has no defaults of its own.
func TestBreakerWithoutDelayStaysOpenForResiliencesDefault(t *testing.T) {
	t.Parallel()
	failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusInternalServerError)
	}))
	t.Cleanup(failing.Close)
	_, gw := newGateway(t,
		gateway.WithUpstream(upstreamOf(t, "failing", failing)),
		gateway.WithRoute(gateway.Route{Path: "/", Upstream: "failing", Policy: gateway.Policy{Breaker: &gateway.Breaker{Failures: 1}}}))

	resp, err := gw.Client().Get(gw.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got, want := resp.StatusCode, http.StatusInternalServerError; got != want {
		t.Fatalf("first status = %d, want %d", got, want)
	}
	resp, err = gw.Client().Get(gw.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got, want := resp.StatusCode, http.StatusServiceUnavailable; got != want {
		t.Fatalf("status once open = %d, want %d", got, want)
	}
	secs, err := strconv.Atoi(resp.Header.Get("Retry-After"))
	if err != nil {
		t.Fatalf("Retry-After %q: %v", resp.Header.Get("Retry-After"), err)
	}
	// Generous below: the open period started before this request.
	open := int(resilience.DefaultBreakerOpenFor.Seconds())
	inRange(t, "Retry-After seconds (close to resilience.DefaultBreakerOpenFor)", secs, open/2+1, open)
}
