package grpcproxy_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/portico-dev/portico/gateway/grpcproxy"
	"github.com/portico-dev/portico/resilience"
)

// A gRPC proxy with retries of the safe methods, a breaker, and a
// deadline of 10 seconds for every call; Errors answers the errors of
// anything in front of it as gRPC statuses.
func ExampleHandler() {
	target, _ := url.Parse("http://orders:9090") // h2c; "https://..." for TLS
	transport := resilience.NewTransport(
		&grpcproxy.Transport{Next: grpcproxy.NewUpstreamTransport(nil)},
		resilience.Retry(resilience.RetryConfig{}),
		resilience.CircuitBreaker(resilience.BreakerConfig{}),
	)
	h := &grpcproxy.Handler{
		Target:     target,
		Transport:  transport,
		Timeout:    10 * time.Second,
		Idempotent: func(method string) bool { return method == "/orders.v1.Orders/GetOrder" },
	}
	srv := &http.Server{Addr: ":8080", Handler: grpcproxy.Errors(h), Protocols: new(http.Protocols)}
	srv.Protocols.SetUnencryptedHTTP2(true) // gRPC clients speak h2c to a plain listener
	_ = srv
}

func ExampleWriteStatus() {
	w := httptest.NewRecorder()
	grpcproxy.WriteStatus(w, codes.Unavailable, "no instance is healthy")
	fmt.Println(w.Code, w.Header().Get("Content-Type"))
	fmt.Println(w.Header().Get("Grpc-Status"), w.Header().Get("Grpc-Message"))
	// Output:
	// 200 application/grpc
	// 14 no instance is healthy
}

func ExampleErrors() {
	limited := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Retry-After", "3")
		http.Error(w, "slow down", http.StatusTooManyRequests)
	})
	r := httptest.NewRequest(http.MethodPost, "/orders.v1.Orders/GetOrder", nil)
	r.Header.Set("Content-Type", "application/grpc")
	w := httptest.NewRecorder()
	grpcproxy.Errors(limited).ServeHTTP(w, r)
	fmt.Println(w.Code, w.Header().Get("Grpc-Status"), w.Header().Get("Grpc-Retry-Pushback-Ms"))
	// Output:
	// 200 8 3000
}
