package grpcproxy_test

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/portico-dev/portico/gateway"
	"github.com/portico-dev/portico/gateway/upstream"
	"github.com/portico-dev/portico/internal/grpctest"
	"github.com/portico-dev/portico/internal/grpctest/testpb"
	"github.com/portico-dev/portico/resilience"
)

// listShelf streams the books of shelf to the end and returns how many
// came and the call's status code.
func listShelf(t *testing.T, c testpb.ShelfClient, shelf string) (int, codes.Code) {
	t.Helper()
	stream, err := c.ListBooks(context.Background(), &testpb.ListBooksRequest{Shelf: shelf, PageSize: 2})
	if err != nil {
		return 0, status.Code(err)
	}
	n := 0
	for {
		_, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return n, codes.OK
		}
		if err != nil {
			return n, status.Code(err)
		}
		n++
	}
}

// trailerBreaker returns the state of the breaker of the instance url of
// the upstream "shelf".
func trailerBreaker(g *gateway.Gateway, url string) (resilience.BreakerState, bool) {
	for _, u := range g.Upstreams() {
		for _, bs := range u.Breakers {
			for _, b := range bs {
				if "http://"+b.Key == url {
					return b, true
				}
			}
		}
	}
	return resilience.BreakerState{}, false
}

func TestAFailureInTrailersAfterMessagesOpensTheInstanceBreaker(t *testing.T) {
	t.Parallel()
	s := grpctest.Start(t, grpctest.Options{})
	pool := grpcPool(t, upstream.Config{Name: "shelf"}, s)
	c, g := grpcGateway(t, gateway.WithUpstream(pool),
		gateway.WithRoute(grpcRoute(gateway.Policy{Breaker: &gateway.Breaker{Failures: 3, Delay: time.Hour}})))
	for i := range 3 {
		n, code := listShelf(t, c, "broken")
		if got, want := code, codes.Unavailable; got != want {
			t.Fatalf("call %d: code %v, want %v", i, got, want)
		}
		if got, want := n, 1; got != want {
			t.Errorf("call %d: %d books before the failure, want %d", i, got, want)
		}
	}
	b, ok := trailerBreaker(g, s.URL)
	if !ok {
		t.Fatal("no breaker for the instance")
	}
	if got, want := b.State, resilience.StateOpen; got != want {
		t.Errorf("breaker %v, want %v", got, want)
	}
	if _, code := listShelf(t, c, "fine"); code != codes.Unavailable {
		t.Errorf("with the breaker open: code %v, want %v", code, codes.Unavailable)
	}
}

func TestClientErrorsAndSuccessesInTrailersKeepTheBreakerClosed(t *testing.T) {
	t.Parallel()
	s := grpctest.Start(t, grpctest.Options{})
	pool := grpcPool(t, upstream.Config{Name: "shelf", Outlier: &upstream.OutlierDetection{
		Consecutive5xx:    2,
		BaseEjection:      time.Hour,
		MaxEjection:       time.Hour,
		MaxEjectedPercent: 100,
	}}, s)
	c, g := grpcGateway(t, gateway.WithUpstream(pool),
		gateway.WithRoute(grpcRoute(gateway.Policy{Breaker: &gateway.Breaker{Failures: 2, Delay: time.Hour}})))
	for i := range 5 {
		if _, code := listShelf(t, c, "invalid"); code != codes.InvalidArgument {
			t.Fatalf("call %d: code %v, want %v", i, code, codes.InvalidArgument)
		}
	}
	// One failure between successes: never two in a row.
	for i, shelf := range []string{"broken", "fine", "broken", "fine", "broken"} {
		want := codes.OK
		if shelf == "broken" {
			want = codes.Unavailable
		}
		if _, code := listShelf(t, c, shelf); code != want {
			t.Fatalf("call %d (%s): code %v, want %v", i, shelf, code, want)
		}
	}
	b, ok := trailerBreaker(g, s.URL)
	if !ok {
		t.Fatal("no breaker for the instance")
	}
	if got, want := b.State, resilience.StateClosed; got != want {
		t.Errorf("breaker %v, want %v", got, want)
	}
	st := pool.Status()
	if got, want := st[0].Ejected, false; got != want {
		t.Errorf("ejected %v, want %v", got, want)
	}
	if got, want := st[0].Failures, uint64(3); got != want {
		t.Errorf("failures %d, want %d (the UNAVAILABLE ones)", got, want)
	}
}

func TestAFailureInTrailersAfterMessagesEjectsTheInstance(t *testing.T) {
	t.Parallel()
	a := grpctest.Start(t, grpctest.Options{})
	b := grpctest.Start(t, grpctest.Options{})
	pool := grpcPool(t, upstream.Config{Name: "shelf", Outlier: &upstream.OutlierDetection{
		Consecutive5xx:    2,
		BaseEjection:      time.Hour,
		MaxEjection:       time.Hour,
		MaxEjectedPercent: 50,
	}}, a, b)
	c, _ := grpcGateway(t, gateway.WithUpstream(pool), gateway.WithRoute(grpcRoute(gateway.Policy{})))
	// Every call fails after its first book: the instance that fails two
	// in a row is ejected; the other stays in under the 50% cap.
	for range 4 {
		if _, code := listShelf(t, c, "broken"); code != codes.Unavailable {
			t.Fatalf("code %v, want %v", code, codes.Unavailable)
		}
	}
	ejected := 0
	for _, st := range pool.Status() {
		if st.Ejected {
			ejected++
		}
	}
	if got, want := ejected, 1; got != want {
		t.Errorf("%d instances ejected, want %d (the cap is half)", got, want)
	}
}
