package grpctest

import (
	"context"
	"errors"
	"io"
	"testing"

	"github.com/portico-dev/portico/internal/grpctest/testpb"
)

// CheckStreams makes one call of each streaming kind through c and checks
// its answer: ListBooks (server streaming, 4 books), Collect (client
// streaming, 0 to 9) and Chat (bidirectional, each answer read before the
// next message is sent, so both directions must flow at once). It makes
// three calls.
func CheckStreams(ctx context.Context, t testing.TB, c testpb.ShelfClient) {
	t.Helper()
	list, err := c.ListBooks(ctx, &testpb.ListBooksRequest{Shelf: "s", PageSize: 4})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(RecvAll(t, list.Recv)), 4; got != want {
		t.Errorf("server streaming: %d books, want %d", got, want)
	}

	up, err := c.Collect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for v := range int64(10) {
		if err := up.Send(&testpb.Number{Value: v}); err != nil {
			t.Fatal(err)
		}
	}
	sum, err := up.CloseAndRecv()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := sum.GetTotal(), int64(45); got != want {
		t.Errorf("client streaming: total %d, want %d", got, want)
	}

	chat, err := c.Chat(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{"one", "two", "three"} {
		if err := chat.Send(&testpb.EchoRequest{Message: m}); err != nil {
			t.Fatal(err)
		}
		r, err := chat.Recv()
		if err != nil {
			t.Fatal(err)
		}
		if got := r.GetMessage(); got != m {
			t.Errorf("bidi: got %q, want %q", got, m)
		}
	}
	if err := chat.CloseSend(); err != nil {
		t.Fatal(err)
	}
	if _, err := chat.Recv(); !errors.Is(err, io.EOF) {
		t.Errorf("bidi: after CloseSend got %v, want EOF", err)
	}
}

// RecvAll reads a stream to its end, failing the test on an error.
func RecvAll[T any](t testing.TB, recv func() (T, error)) []T {
	t.Helper()
	var out []T
	for {
		m, err := recv()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
}
