package grpctest_test

import (
	"context"
	"errors"
	"io"
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

		list, err := c.ListBooks(ctx, &testpb.ListBooksRequest{Shelf: "a", PageSize: 2})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for {
			_, err := list.Recv()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			n++
		}
		if got, want := n, 2; got != want {
			t.Errorf("ListBooks: got %d books, want %d", got, want)
		}

		up, err := c.Collect(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range []int64{1, 2, 3} {
			if err := up.Send(&testpb.Number{Value: v}); err != nil {
				t.Fatal(err)
			}
		}
		sum, err := up.CloseAndRecv()
		if err != nil {
			t.Fatal(err)
		}
		if got, want := sum.GetTotal(), int64(6); got != want {
			t.Errorf("Collect: got %d, want %d", got, want)
		}

		chat, err := c.Chat(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := chat.Send(&testpb.EchoRequest{Message: "ping"}); err != nil {
			t.Fatal(err)
		}
		r, err := chat.Recv()
		if err != nil {
			t.Fatal(err)
		}
		if got, want := r.GetMessage(), "ping"; got != want {
			t.Errorf("Chat: got %q, want %q", got, want)
		}
		_ = chat.CloseSend()
		if _, err := chat.Recv(); !errors.Is(err, io.EOF) {
			t.Errorf("Chat after CloseSend: got %v, want EOF", err)
		}
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
