package grpcproxy_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/portico-dev/portico/gateway/grpcproxy"
	"github.com/portico-dev/portico/internal/grpctest"
	"github.com/portico-dev/portico/internal/grpctest/testpb"
)

func TestProxyCarriesEveryStreamingKind(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		tls  bool
	}{{"h2c", false}, {"tls", true}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := proxy(t, grpctest.Start(t, grpctest.Options{TLS: tc.tls}), nil, nil)
			ctx := metadata.AppendToOutgoingContext(context.Background(), "x-tenant", "acme")

			reply, err := c.Echo(ctx, &testpb.EchoRequest{Message: "hello"})
			if err != nil {
				t.Fatal(err)
			}
			if got, want := reply.GetMessage(), "hello"; got != want {
				t.Errorf("unary: message %q, want %q", got, want)
			}
			if got, want := reply.GetMetadata()["x-tenant"], "acme"; got != want {
				t.Errorf("unary: upstream saw x-tenant %q, want %q", got, want)
			}

			grpctest.CheckStreams(ctx, t, c)
		})
	}
}

type roundTripperFunc func(*http.Request) (*http.Response, error)

func (f roundTripperFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestProxyPassesStatusesDetailsAndTrailers(t *testing.T) {
	t.Parallel()
	c := proxy(t, grpctest.Start(t, grpctest.Options{}), nil, nil)

	_, err := c.GetBook(context.Background(), &testpb.GetBookRequest{Shelf: "a", Book: "missing"})
	st := status.Convert(err)
	if got, want := st.Code(), codes.NotFound; got != want {
		t.Fatalf("trailers-only: code %v, want %v", got, want)
	}
	var info *errdetails.ResourceInfo
	for _, d := range st.Details() {
		if ri, ok := d.(*errdetails.ResourceInfo); ok {
			info = ri
		}
	}
	if info == nil {
		t.Fatalf("trailers-only: details %v lack the ResourceInfo", st.Details())
	}
	if got, want := info.GetResourceName(), "shelves/a/books/missing"; got != want {
		t.Errorf("ResourceInfo.resource_name %q, want %q", got, want)
	}

	list, err := c.ListBooks(context.Background(), &testpb.ListBooksRequest{Shelf: "broken"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := list.Recv(); err != nil {
		t.Fatalf("first book: %v", err)
	}
	_, err = list.Recv()
	if got, want := status.Code(err), codes.Unavailable; got != want {
		t.Errorf("status in trailers after a message: %v, want %v", got, want)
	}
}

func TestProxyBoundsGrpcTimeoutByTheRouteTimeout(t *testing.T) {
	t.Parallel()
	const route = 5 * time.Second
	c := proxy(t, grpctest.Start(t, grpctest.Options{}), nil, &grpcproxy.Handler{Timeout: route})
	for _, tc := range []struct {
		name   string
		client time.Duration // 0: no deadline
		bound  time.Duration
	}{
		{"without a client deadline, the route's", 0, route},
		{"with a longer client deadline, the route's", time.Hour, route},
		{"with a shorter client deadline, the client's", 2 * time.Second, 2 * time.Second},
	} {
		ctx := context.Background()
		if tc.client > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, tc.client)
			defer cancel()
		}
		reply, err := c.Echo(ctx, &testpb.EchoRequest{})
		if err != nil {
			t.Fatal(err)
		}
		if reply.GetDeadline() == nil {
			t.Errorf("%s: the upstream saw no deadline", tc.name)
			continue
		}
		d := reply.GetDeadline().AsDuration()
		inRange(t, tc.name+": the deadline the upstream saw", d, time.Nanosecond, tc.bound)
	}
}

func TestProxyAnswersDeadlineExceededWhenTheClientDeadlinePasses(t *testing.T) {
	t.Parallel()
	c := proxy(t, grpctest.Start(t, grpctest.Options{}), nil, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err := c.Echo(ctx, &testpb.EchoRequest{Sleep: durationpb.New(time.Minute)})
	if got, want := status.Code(err), codes.DeadlineExceeded; got != want {
		t.Errorf("code %v, want %v", got, want)
	}
}

func TestProxyAnswersUnavailableWhenTheUpstreamIsDown(t *testing.T) {
	t.Parallel()
	s := grpctest.Start(t, grpctest.Options{})
	c := proxy(t, s, nil, nil)
	s.Stop()
	_, err := c.Echo(context.Background(), &testpb.EchoRequest{})
	if got, want := status.Code(err), codes.Unavailable; got != want {
		t.Errorf("code %v, want %v", got, want)
	}
	if msg := status.Convert(err).Message(); strings.Contains(msg, "127.0.0.1") {
		t.Errorf("message %q names the upstream's address", msg)
	}
}

func TestProxyRefusesARequestThatIsNotGRPC(t *testing.T) {
	t.Parallel()
	addr := serveH2C(t, &grpcproxy.Handler{Transport: roundTripperFunc(func(*http.Request) (*http.Response, error) {
		t.Error("a request that is not gRPC went upstream")
		return nil, errors.New("unexpected")
	})})
	resp, err := http.Post("http://"+addr+"/x", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got, want := resp.StatusCode, http.StatusUnsupportedMediaType; got != want {
		t.Errorf("status %d, want %d", got, want)
	}
	if got, want := resp.Header.Get("Content-Type"), "application/problem+json"; got != want {
		t.Errorf("Content-Type %q, want %q", got, want)
	}
}
