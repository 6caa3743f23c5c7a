package portico_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync/atomic"
	"testing"

	"go.uber.org/goleak"

	"github.com/portico-dev/portico/middleware"
	"github.com/portico-dev/portico/resilience"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// The parts compose through net/http types alone: a reverse proxy whose
// transport retries a flaky upstream, behind middleware that give every
// request an ID and turn panics into problem documents.
func Example() {
	var calls atomic.Int32
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			w.WriteHeader(http.StatusServiceUnavailable) // fails once
			return
		}
		fmt.Fprintln(w, "hello from the upstream")
	}))
	defer upstream.Close()

	target, _ := url.Parse(upstream.URL)
	proxy := httputil.NewSingleHostReverseProxy(target)
	transport := resilience.NewTransport(nil, resilience.Retry(resilience.RetryConfig{}))
	defer transport.CloseIdleConnections()
	proxy.Transport = transport

	gateway := httptest.NewServer(middleware.Chain(
		middleware.RequestID(middleware.RequestIDConfig{}),
		middleware.Recover(middleware.RecoverConfig{}),
	)(proxy))
	defer gateway.Close()

	resp, err := http.Get(gateway.URL + "/greeting")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.StatusCode, resp.Header.Get("X-Request-ID") != "")
	fmt.Print(string(body))
	fmt.Println("upstream calls:", calls.Load())
	// Output:
	// 200 true
	// hello from the upstream
	// upstream calls: 2
}
