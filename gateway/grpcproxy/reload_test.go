package grpcproxy_test

import (
	"context"
	"net"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portico-dev/portico/gateway"
	"github.com/portico-dev/portico/gateway/config"
	"github.com/portico-dev/portico/gateway/grpcproxy"
	"github.com/portico-dev/portico/gateway/upstream"
	"github.com/portico-dev/portico/internal/grpctest"
	"github.com/portico-dev/portico/internal/grpctest/testpb"
)

// TestABidiStreamOutlivesAReload opens a bidirectional stream through a
// reloading gateway, reloads, and checks that the stream goes on (on the
// old gateway, draining) while new calls reach the new one.
func TestABidiStreamOutlivesAReload(t *testing.T) {
	t.Parallel()
	s := grpctest.Start(t, grpctest.Options{})
	var loads atomic.Int32
	r, err := config.NewReloader(config.ReloadConfig{
		Logger: quiet(),
		Drain:  time.Minute,
		Load: func(st *gateway.State) (*gateway.Gateway, error) {
			loads.Add(1)
			return gateway.New(gateway.WithLogger(quiet()), gateway.WithState(st),
				gateway.WithUpstream(grpcPool(t, upstream.Config{Name: "shelf"}, s)),
				gateway.WithMiddleware("grpc_errors", grpcproxy.Errors),
				gateway.WithChain("grpc_errors"),
				gateway.WithRoute(gateway.Route{Prefix: shelfPrefix, Upstream: "shelf",
					Serve: func(tr http.RoundTripper) http.Handler { return &grpcproxy.Handler{Transport: tr} }}),
			)
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	lis, err := (&net.ListenConfig{}).Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = gateway.ServerConfig{H2C: true}.Serve(ctx, lis, r)
	}()
	t.Cleanup(func() {
		cancel()
		<-served
		_ = r.Close()
	})
	c := testpb.NewShelfClient(grpctest.Dial(t, lis.Addr().String(), nil))

	chat, err := c.Chat(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	say := func(m string) {
		t.Helper()
		if err := chat.Send(&testpb.EchoRequest{Message: m}); err != nil {
			t.Fatal(err)
		}
		reply, err := chat.Recv()
		if err != nil {
			t.Fatal(err)
		}
		if got := reply.GetMessage(); got != m {
			t.Errorf("bidi: got %q, want %q", got, m)
		}
	}
	say("before")
	if err := r.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got, want := loads.Load(), int32(2); got != want {
		t.Fatalf("%d loads, want %d", got, want)
	}
	say("after")
	if _, err := c.Echo(context.Background(), &testpb.EchoRequest{Message: "new"}); err != nil {
		t.Errorf("a new call after the reload: %v", err)
	}
	say("still")
	if err := chat.CloseSend(); err != nil {
		t.Fatal(err)
	}
	grpctest.RecvAll(t, chat.Recv)
}
