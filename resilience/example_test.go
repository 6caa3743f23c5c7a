package resilience_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"time"

	"github.com/portico-dev/portico/resilience"
)

// A client that retries an upstream which fails twice, behind a circuit
// breaker, a bulkhead and timeouts.
func ExampleNewTransport() {
	var calls atomic.Int64
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if calls.Add(1) <= 2 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, "hello")
	}))
	defer upstream.Close()

	client := &http.Client{Transport: resilience.NewTransport(nil,
		resilience.OverallTimeout(10*time.Second),
		resilience.Retry(resilience.RetryConfig{MaxAttempts: 3, BaseDelay: time.Millisecond}),
		resilience.CircuitBreaker(resilience.BreakerConfig{ConsecutiveFailures: 5}),
		resilience.Bulkhead(resilience.BulkheadConfig{MaxConcurrent: 100}),
		resilience.Timeout(2*time.Second),
	)}
	resp, err := client.Get(upstream.URL)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.StatusCode, string(body), "after", calls.Load(), "attempts")
	// Output: 200 hello after 3 attempts
}

// Breakers shows each upstream's circuit for an admin endpoint.
func ExampleTransport_Breakers() {
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusBadGateway)
	}))
	defer upstream.Close()

	tr := resilience.NewTransport(nil, resilience.CircuitBreaker(resilience.BreakerConfig{
		ConsecutiveFailures: 2, OpenFor: time.Minute,
	}))
	client := &http.Client{Transport: tr}
	for range 3 {
		resp, err := client.Get(upstream.URL)
		if err != nil {
			fmt.Println("status to send:", resilience.HTTPStatus(err))
			continue
		}
		resp.Body.Close()
		fmt.Println("upstream said:", resp.StatusCode)
	}
	for _, b := range tr.Breakers() {
		fmt.Println(b.State, b.Failures, b.Remaining > 59*time.Second)
	}
	// Output:
	// upstream said: 502
	// upstream said: 502
	// status to send: 503
	// open 2 true
}

// The server side: at most one request at a time; the others get a 503
// problem document with Retry-After.
func ExampleMiddleware() {
	release := make(chan struct{})
	busy := make(chan struct{})
	h := resilience.Middleware(resilience.AdmissionConfig{MaxConcurrent: 1, RetryAfter: 2 * time.Second})(
		http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			close(busy)
			<-release
		}))
	done := make(chan struct{})
	go func() {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil))
		close(done)
	}()
	<-busy

	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	close(release)
	<-done
	fmt.Println(rec.Code, rec.Header().Get("Retry-After"), rec.Header().Get("Content-Type"))
	// Output: 503 2 application/problem+json
}

// HTTPStatus and RetryAfter turn a transport error into the gateway's
// answer.
func ExampleHTTPStatus() {
	err := &resilience.Error{Kind: resilience.ErrCircuitOpen, Key: "orders:8080", RetryAfter: 12 * time.Second}
	ra, _ := resilience.RetryAfter(err)
	fmt.Println(resilience.HTTPStatus(err), ra)
	fmt.Println(err)
	// Output:
	// 503 12s
	// portico/resilience: circuit breaker open for orders:8080
}

func ExampleParseRetryAfter() {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, v := range []string{"30", "Sun, 01 Mar 2026 12:01:00 GMT"} {
		d, ok := resilience.ParseRetryAfter(http.Header{"Retry-After": {v}}, now)
		fmt.Println(d, ok)
	}
	d, ok := resilience.ParseRetryAfter(http.Header{"Retry-After-Ms": {"250"}}, now)
	fmt.Println(d, ok)
	// Output:
	// 30s true
	// 1m0s true
	// 250ms true
}

// A fallback answers with a static document when the upstream cannot be
// reached at all.
func ExampleFallback() {
	down := httptest.NewServer(http.NotFoundHandler())
	url := down.URL
	down.Close() // nothing listens there any more

	client := &http.Client{Transport: resilience.NewTransport(nil,
		resilience.Fallback(resilience.FallbackConfig{
			Status: http.StatusOK,
			Header: http.Header{"Content-Type": {"application/json"}},
			Body:   []byte(`{"items":[],"stale":true}`),
		}),
	)}
	resp, err := client.Get(url + "/items")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.StatusCode, string(body))
	// Output: 200 {"items":[],"stale":true}
}

// pickFirstOpen is a tiny load balancer: it sends each request to the
// first instance whose circuit breaker admits it, and keys the attempt's
// breaker by that instance.
type pickFirstOpen []string

func (p pickFirstOpen) RoundTrip(req *http.Request) (*http.Response, error) {
	pick := p[len(p)-1]
	for _, addr := range p {
		if resilience.Admits(req.Context(), addr) {
			pick = addr
			break
		}
	}
	if err := resilience.Instance(req.Context(), pick); err != nil {
		return nil, err
	}
	r := req.Clone(req.Context())
	r.URL.Host = pick
	return http.DefaultTransport.RoundTrip(r)
}

// A pool that picks instances keys each attempt's circuit breaker by the
// instance it picked: the failing instance opens its own circuit, and the
// pool moves on to the healthy one.
func ExampleInstance() {
	failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusInternalServerError)
	}))
	defer failing.Close()
	healthy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		io.WriteString(w, "ok")
	}))
	defer healthy.Close()

	pool := pickFirstOpen{failing.Listener.Addr().String(), healthy.Listener.Addr().String()}
	tr := resilience.NewTransport(pool, resilience.CircuitBreaker(resilience.BreakerConfig{ConsecutiveFailures: 2}))
	client := &http.Client{Transport: tr}
	var codes []int
	for range 4 {
		resp, err := client.Get("http://orders/items")
		if err != nil {
			fmt.Println(err)
			return
		}
		resp.Body.Close()
		codes = append(codes, resp.StatusCode)
	}
	fmt.Println(codes)
	states := map[string]resilience.State{}
	for _, b := range tr.Breakers() {
		states[b.Key] = b.State
	}
	fmt.Println("failing:", states[pool[0]], "healthy:", states[pool[1]])
	// Output:
	// [500 500 200 200]
	// failing: open healthy: closed
}
