package grpcproxy_test

import (
	"context"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/portico-dev/portico/gateway"
	"github.com/portico-dev/portico/gateway/config"
	"github.com/portico-dev/portico/gateway/grpcproxy"
	"github.com/portico-dev/portico/gateway/upstream"
	"github.com/portico-dev/portico/internal/grpctest"
	"github.com/portico-dev/portico/internal/grpctest/testpb"
	"github.com/portico-dev/portico/middleware"
)

const shelfPrefix = "/portico.grpctest.v1.Shelf/"

// grpcPool is a pool of the servers with the gRPC transport.
func grpcPool(t *testing.T, cfg upstream.Config, srvs ...*grpctest.Server) *upstream.Pool {
	t.Helper()
	for _, s := range srvs {
		cfg.Instances = append(cfg.Instances, upstream.Instance{URL: s.URL})
	}
	h2 := grpcproxy.NewUpstreamTransport(srvs[0].ClientTLS)
	t.Cleanup(h2.CloseIdleConnections)
	cfg.Transport = &grpcproxy.Transport{Next: h2}
	p, err := upstream.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// grpcRoute is a route that proxies the Shelf service.
func grpcRoute(policy gateway.Policy) gateway.Route {
	return gateway.Route{
		Prefix:   shelfPrefix,
		Upstream: "shelf",
		Policy:   policy,
		Serve: func(tr http.RoundTripper) http.Handler {
			return &grpcproxy.Handler{Transport: tr, Timeout: policy.Timeout,
				Idempotent: func(m string) bool { return m == testpb.Shelf_Echo_FullMethodName }}
		},
	}
}

// grpcGateway builds a gateway, serves it over h2c with gRPC errors in its
// global chain, and returns a client of the Shelf service through it.
func grpcGateway(t *testing.T, opts ...gateway.Option) (testpb.ShelfClient, *gateway.Gateway) {
	t.Helper()
	opts = append([]gateway.Option{
		gateway.WithLogger(quiet()),
		gateway.WithMiddleware("grpc_errors", grpcproxy.Errors),
		gateway.WithChain("grpc_errors", "request_id"),
	}, opts...)
	g, err := gateway.New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	g.Start(ctx)
	lis, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = gateway.ServerConfig{H2C: true}.Serve(ctx, lis, g)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		g.Close()
	})
	return testpb.NewShelfClient(grpctest.Dial(t, lis.Addr().String(), nil)), g
}

func TestTheGatewayProxiesGRPCWithItsAuthAndLimits(t *testing.T) {
	t.Parallel()
	s := grpctest.Start(t, grpctest.Options{})
	c, _ := grpcGateway(t,
		config.WithConsumers(config.ConsumerConfig{Consumer: middleware.Consumer{ID: "alice"},
			Keys: []config.APIKeyConfig{{ID: "k1", Secret: "s3cret-key-0123456789"}}}),
		gateway.WithUpstream(grpcPool(t, upstream.Config{Name: "shelf"}, s)),
		gateway.WithRoute(grpcRoute(gateway.Policy{
			Timeout:   5 * time.Second,
			Auth:      &gateway.Auth{},
			RateLimit: &gateway.RateLimit{Requests: 6, Per: time.Hour, Burst: 6},
		})),
	)
	ctx := context.Background()

	_, err := c.Echo(ctx, &testpb.EchoRequest{Message: "anonymous"})
	if got, want := status.Code(err), codes.Unauthenticated; got != want {
		t.Errorf("without a key: code %v, want %v", got, want)
	}

	authed := metadata.AppendToOutgoingContext(ctx, "x-api-key", "s3cret-key-0123456789")
	reply, err := c.Echo(authed, &testpb.EchoRequest{Message: "hi"})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := reply.GetMessage(), "hi"; got != want {
		t.Errorf("unary: %q, want %q", got, want)
	}
	if _, ok := reply.GetMetadata()["x-api-key"]; ok {
		t.Error("the upstream received the API key the gateway consumed")
	}
	inRange(t, "the deadline the upstream saw (the route timeout)", reply.GetDeadline().AsDuration(), time.Nanosecond, 5*time.Second)

	grpctest.CheckStreams(authed, t, c)

	// Four calls so far; the rate limit allows six an hour.
	for range 2 {
		if _, err := c.Echo(authed, &testpb.EchoRequest{}); err != nil {
			t.Fatal(err)
		}
	}
	_, err = c.Echo(authed, &testpb.EchoRequest{})
	if got, want := status.Code(err), codes.ResourceExhausted; got != want {
		t.Errorf("over the rate limit: code %v, want %v", got, want)
	}
}

func TestTheGatewayRetriesUnavailableCallsOfSafeMethods(t *testing.T) {
	t.Parallel()
	s := grpctest.Start(t, grpctest.Options{})
	c, _ := grpcGateway(t,
		gateway.WithUpstream(grpcPool(t, upstream.Config{Name: "shelf"}, s)),
		gateway.WithRoute(grpcRoute(gateway.Policy{Retry: &gateway.Retry{Attempts: 3, Backoff: time.Millisecond}})),
	)
	reply, err := c.Echo(context.Background(), &testpb.EchoRequest{Key: "r", FailCode: int32(codes.Unavailable), FailTimes: 2})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := reply.GetAttempt(), int32(3); got != want {
		t.Errorf("answered by attempt %d, want %d", got, want)
	}
}

func TestOutlierDetectionEjectsAnInstanceThatFailsInGRPC(t *testing.T) {
	t.Parallel()
	bad := grpctest.Start(t, grpctest.Options{FailEcho: codes.Unavailable})
	good := grpctest.Start(t, grpctest.Options{})
	pool := grpcPool(t, upstream.Config{Name: "shelf", Outlier: &upstream.OutlierDetection{
		Consecutive5xx:    2,
		BaseEjection:      time.Hour,
		MaxEjection:       time.Hour,
		MaxEjectedPercent: 50,
	}}, bad, good)
	c, _ := grpcGateway(t, gateway.WithUpstream(pool), gateway.WithRoute(grpcRoute(gateway.Policy{})))
	failures := 0
	for range 20 {
		if _, err := c.Echo(context.Background(), &testpb.EchoRequest{}); err != nil {
			failures++
		}
	}
	if failures > 2 {
		t.Errorf("%d of 20 calls failed, want at most 2 before the bad instance is ejected", failures)
	}
	for _, st := range pool.Status() {
		if got, want := st.Ejected, st.URL == bad.URL; got != want {
			t.Errorf("%s: ejected %v, want %v", st.URL, got, want)
		}
	}
}

func TestGRPCHealthChecksKeepTrafficOffANotServingInstance(t *testing.T) {
	t.Parallel()
	sick := grpctest.Start(t, grpctest.Options{})
	well := grpctest.Start(t, grpctest.Options{})
	sick.Health.SetServingStatus("", healthpb.HealthCheckResponse_NOT_SERVING)
	pool := grpcPool(t, upstream.Config{Name: "shelf", HealthCheck: &upstream.HealthCheck{
		Interval: time.Hour, Timeout: 5 * time.Second, Probe: grpcproxy.HealthProbe(""),
	}}, sick, well)
	c, g := grpcGateway(t, gateway.WithUpstream(pool), gateway.WithRoute(grpcRoute(gateway.Policy{})))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := pool.Warm(ctx); err != nil {
		t.Fatal(err)
	}
	if !g.Ready() {
		t.Error("the gateway is not ready with one serving instance")
	}
	for range 10 {
		if _, err := c.Echo(context.Background(), &testpb.EchoRequest{Key: "h"}); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := sick.Service.Calls("h"), 0; got != want {
		t.Errorf("the NOT_SERVING instance got %d calls, want %d", got, want)
	}
	if got, want := well.Service.Calls("h"), 10; got != want {
		t.Errorf("the SERVING instance got %d calls, want %d", got, want)
	}
}

func TestAGRPCCallWithoutARouteIsUnimplemented(t *testing.T) {
	t.Parallel()
	s := grpctest.Start(t, grpctest.Options{})
	c, _ := grpcGateway(t,
		gateway.WithUpstream(grpcPool(t, upstream.Config{Name: "shelf"}, s)),
		gateway.WithRoute(gateway.Route{Path: "/other", Upstream: "shelf"}),
	)
	_, err := c.Echo(context.Background(), &testpb.EchoRequest{})
	if got, want := status.Code(err), codes.Unimplemented; got != want {
		t.Errorf("code %v, want %v", got, want)
	}
}

func TestACallOverTheRouteBodyLimitIsResourceExhausted(t *testing.T) {
	t.Parallel()
	s := grpctest.Start(t, grpctest.Options{})
	c, _ := grpcGateway(t,
		gateway.WithUpstream(grpcPool(t, upstream.Config{Name: "shelf"}, s)),
		gateway.WithRoute(grpcRoute(gateway.Policy{MaxBodyBytes: 64})),
	)
	if _, err := c.Echo(context.Background(), &testpb.EchoRequest{Message: "short"}); err != nil {
		t.Fatalf("a call under the limit: %v", err)
	}
	_, err := c.Echo(context.Background(), &testpb.EchoRequest{Message: strings.Repeat("x", 1000)})
	if got, want := status.Code(err), codes.ResourceExhausted; got != want {
		t.Errorf("a call over the limit: code %v (%v), want %v", got, err, want)
	}
}

func TestTheGatewayProxiesToATLSUpstream(t *testing.T) {
	t.Parallel()
	s := grpctest.Start(t, grpctest.Options{TLS: true})
	c, _ := grpcGateway(t,
		gateway.WithUpstream(grpcPool(t, upstream.Config{Name: "shelf"}, s)),
		gateway.WithRoute(grpcRoute(gateway.Policy{})),
	)
	reply, err := c.Echo(context.Background(), &testpb.EchoRequest{Message: "over tls"})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := reply.GetMessage(), "over tls"; got != want {
		t.Errorf("unary: %q, want %q", got, want)
	}
	grpctest.CheckStreams(context.Background(), t, c)
}
