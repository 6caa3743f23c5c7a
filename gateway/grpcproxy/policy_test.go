package grpcproxy_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/portico-dev/portico/gateway/grpcproxy"
	"github.com/portico-dev/portico/internal/grpctest"
	"github.com/portico-dev/portico/internal/grpctest/testpb"
	"github.com/portico-dev/portico/resilience"
)

func withRetry(next http.RoundTripper) http.RoundTripper {
	return resilience.NewTransport(next, resilience.Retry(resilience.RetryConfig{MaxAttempts: 3, BaseDelay: time.Millisecond}))
}

func echoIsSafe(method string) bool { return method == testpb.Shelf_Echo_FullMethodName }

func TestRetriesFollowGRPCStatusesAndPushback(t *testing.T) {
	t.Parallel()
	s := grpctest.Start(t, grpctest.Options{})
	safe := proxy(t, s, withRetry, &grpcproxy.Handler{Idempotent: echoIsSafe})
	unsafe := proxy(t, s, withRetry, nil)
	for _, tc := range []struct {
		name     string
		c        testpb.ShelfClient
		code     codes.Code
		pushback string
		want     codes.Code
		calls    int
	}{
		{
			name:     "UNAVAILABLE of a safe method is retried",
			c:        safe,
			code:     codes.Unavailable,
			pushback: "",
			want:     codes.OK,
			calls:    2,
		},
		{
			name:     "UNAVAILABLE of a method not known safe is not",
			c:        unsafe,
			code:     codes.Unavailable,
			pushback: "",
			want:     codes.Unavailable,
			calls:    1,
		},
		{
			name:     "UNAVAILABLE with a negative pushback is not",
			c:        safe,
			code:     codes.Unavailable,
			pushback: "-1",
			want:     codes.Unavailable,
			calls:    1,
		},
		{
			name:     "RESOURCE_EXHAUSTED with pushback is retried",
			c:        safe,
			code:     codes.ResourceExhausted,
			pushback: "5",
			want:     codes.OK,
			calls:    2,
		},
		{
			name:     "RESOURCE_EXHAUSTED without pushback is not",
			c:        safe,
			code:     codes.ResourceExhausted,
			pushback: "",
			want:     codes.ResourceExhausted,
			calls:    1,
		},
		{
			name:     "INTERNAL is not",
			c:        safe,
			code:     codes.Internal,
			pushback: "",
			want:     codes.Internal,
			calls:    1,
		},
		{
			name:     "DEADLINE_EXCEEDED is not",
			c:        safe,
			code:     codes.DeadlineExceeded,
			pushback: "",
			want:     codes.DeadlineExceeded,
			calls:    1,
		},
	} {
		_, err := tc.c.Echo(context.Background(), &testpb.EchoRequest{
			Key:        tc.name,
			FailCode:   int32(tc.code),
			FailTimes:  1,
			PushbackMs: tc.pushback,
		})
		if got := status.Code(err); got != tc.want {
			t.Errorf("%s: code %v, want %v", tc.name, got, tc.want)
		}
		if got := s.Service.Calls(tc.name); got != tc.calls {
			t.Errorf("%s: %d calls upstream, want %d", tc.name, got, tc.calls)
		}
	}
}

func TestABreakerOpensOnGRPCFailuresAndAnswersUnavailable(t *testing.T) {
	t.Parallel()
	s := grpctest.Start(t, grpctest.Options{})
	c := proxy(t, s, func(next http.RoundTripper) http.RoundTripper {
		return resilience.NewTransport(next, resilience.CircuitBreaker(resilience.BreakerConfig{ConsecutiveFailures: 2, OpenFor: time.Hour}))
	}, nil)
	req := &testpb.EchoRequest{Key: "b", FailCode: int32(codes.Unavailable), FailTimes: 100}
	for range 2 {
		if _, err := c.Echo(context.Background(), req); status.Code(err) != codes.Unavailable {
			t.Fatalf("failing call: %v", err)
		}
	}
	_, err := c.Echo(context.Background(), req)
	if got, want := status.Code(err), codes.Unavailable; got != want {
		t.Errorf("with the breaker open: code %v, want %v", got, want)
	}
	if got, want := s.Service.Calls("b"), 2; got != want {
		t.Errorf("%d calls upstream, want %d (the third stopped at the breaker)", got, want)
	}
}

func TestInvalidArgumentDoesNotCountAsAFailure(t *testing.T) {
	t.Parallel()
	s := grpctest.Start(t, grpctest.Options{})
	c := proxy(t, s, func(next http.RoundTripper) http.RoundTripper {
		return resilience.NewTransport(next, resilience.CircuitBreaker(resilience.BreakerConfig{ConsecutiveFailures: 1, OpenFor: time.Hour}))
	}, nil)
	req := &testpb.EchoRequest{Key: "bad", FailCode: int32(codes.InvalidArgument), FailTimes: 100}
	for range 3 {
		_, err := c.Echo(context.Background(), req)
		if got, want := status.Code(err), codes.InvalidArgument; got != want {
			t.Errorf("code %v, want %v", got, want)
		}
	}
	if got, want := s.Service.Calls("bad"), 3; got != want {
		t.Errorf("%d calls upstream, want %d (the breaker stayed closed)", got, want)
	}
}
