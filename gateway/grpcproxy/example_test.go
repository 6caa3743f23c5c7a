package grpcproxy_test

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/portico-dev/portico/gateway"
	"github.com/portico-dev/portico/gateway/grpcproxy"
	"github.com/portico-dev/portico/gateway/upstream"
	"github.com/portico-dev/portico/internal/grpctest"
	"github.com/portico-dev/portico/internal/grpctest/testpb"
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

// A gateway route that proxies a gRPC service: a pool with the gRPC
// transport and grpc.health.v1 checks, a Serve handler per backend, and
// Errors in the global chain so that gRPC callers get gRPC statuses.
func Example_gateway() {
	svc, err := grpctest.Run(grpctest.Options{}) // a gRPC server on loopback
	if err != nil {
		panic(err)
	}
	defer svc.Stop()

	h2 := grpcproxy.NewUpstreamTransport(nil)
	defer h2.CloseIdleConnections()
	pool, err := upstream.New(upstream.Config{
		Name:        "shelf",
		Instances:   []upstream.Instance{{URL: svc.URL}},
		Transport:   &grpcproxy.Transport{Next: h2},
		HealthCheck: &upstream.HealthCheck{Interval: time.Minute, Probe: grpcproxy.HealthProbe("")},
	})
	if err != nil {
		panic(err)
	}
	g, err := gateway.New(
		gateway.WithLogger(slog.New(slog.DiscardHandler)),
		gateway.WithUpstream(pool),
		gateway.WithMiddleware("grpc_errors", grpcproxy.Errors),
		gateway.WithChain("grpc_errors"),
		gateway.WithRoute(gateway.Route{
			Prefix:   "/portico.grpctest.v1.Shelf/",
			Upstream: "shelf",
			Policy:   gateway.Policy{Timeout: 10 * time.Second},
			Serve: func(tr http.RoundTripper) http.Handler {
				return &grpcproxy.Handler{Transport: tr, Timeout: 10 * time.Second}
			},
		}),
	)
	if err != nil {
		panic(err)
	}
	defer g.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	g.Start(ctx)
	lis, err := (&net.ListenConfig{}).Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = gateway.ServerConfig{H2C: true}.Serve(ctx, lis, g)
	}()
	defer func() { cancel(); <-served }()

	cc, err := grpc.NewClient("passthrough:///"+lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		panic(err)
	}
	defer cc.Close()
	reply, err := testpb.NewShelfClient(cc).Echo(ctx, &testpb.EchoRequest{Message: "through the gateway"})
	fmt.Println(reply.GetMessage(), err)
	_, err = testpb.NewShelfClient(cc).GetBook(ctx, &testpb.GetBookRequest{Book: "missing"})
	fmt.Println(status.Code(err))
	// Output:
	// through the gateway <nil>
	// NotFound
}
