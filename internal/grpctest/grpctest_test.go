package grpctest_test

import (
	"context"
	"testing"

	"go.uber.org/goleak"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/portico-dev/portico/internal/grpctest"
	"github.com/portico-dev/portico/internal/grpctest/testpb"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestServerAnswersEachStreamingKind(t *testing.T) {
	t.Parallel()
	for _, tls := range []bool{false, true} {
		s := grpctest.Start(t, grpctest.Options{TLS: tls})
		c := testpb.NewShelfClient(s.Dial(t))
		ctx := context.Background()

		reply, err := c.Echo(ctx, &testpb.EchoRequest{Message: "hi"})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := reply.GetMessage(), "hi"; got != want {
			t.Errorf("Echo: got %q, want %q", got, want)
		}

		grpctest.CheckStreams(ctx, t, c)
	}
}

func TestEchoFailsTheFirstCallsOfAKey(t *testing.T) {
	t.Parallel()
	s := grpctest.Start(t, grpctest.Options{})
	c := testpb.NewShelfClient(s.Dial(t))
	req := &testpb.EchoRequest{Key: "k", FailCode: int32(codes.Unavailable), FailTimes: 1}
	_, err := c.Echo(context.Background(), req)
	if got, want := status.Code(err), codes.Unavailable; got != want {
		t.Errorf("first call: got %v, want %v", got, want)
	}
	reply, err := c.Echo(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := reply.GetAttempt(), int32(2); got != want {
		t.Errorf("second call: attempt %d, want %d", got, want)
	}
}
