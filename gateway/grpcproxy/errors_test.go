package grpcproxy_test

import (
	"context"
	"net/http"
	"slices"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/portico-dev/portico/gateway/grpcproxy"
	"github.com/portico-dev/portico/internal/grpctest"
	"github.com/portico-dev/portico/internal/grpctest/testpb"
	"github.com/portico-dev/portico/internal/problem"
)

func TestErrorsAnswersGatewayErrorsAsGRPCStatuses(t *testing.T) {
	t.Parallel()
	deny := func(code int, retryAfter string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if retryAfter != "" {
				w.Header().Set("Retry-After", retryAfter)
			}
			problem.Write(w, r, problem.New(code, "denied for a reason"))
		})
	}
	for _, tc := range []struct {
		status     int
		retryAfter string
		want       codes.Code
		pushback   string
	}{
		{
			status:     http.StatusUnauthorized,
			retryAfter: "",
			want:       codes.Unauthenticated,
			pushback:   "",
		},
		{
			status:     http.StatusForbidden,
			retryAfter: "",
			want:       codes.PermissionDenied,
			pushback:   "",
		},
		{
			status:     http.StatusNotFound,
			retryAfter: "",
			want:       codes.Unimplemented,
			pushback:   "",
		},
		{
			status:     http.StatusTooManyRequests,
			retryAfter: "2",
			want:       codes.ResourceExhausted,
			pushback:   "2000",
		},
		{
			status:     http.StatusGatewayTimeout,
			retryAfter: "",
			want:       codes.DeadlineExceeded,
			pushback:   "",
		},
		{
			status:     http.StatusServiceUnavailable,
			retryAfter: "",
			want:       codes.Unavailable,
			pushback:   "",
		},
	} {
		addr := serveH2C(t, grpcproxy.Errors(deny(tc.status, tc.retryAfter)))
		c := testpb.NewShelfClient(grpctest.Dial(t, addr, nil))
		var trailer metadata.MD
		_, err := c.Echo(context.Background(), &testpb.EchoRequest{}, grpc.Trailer(&trailer))
		st := status.Convert(err)
		if got := st.Code(); got != tc.want {
			t.Errorf("HTTP %d: code %v, want %v", tc.status, got, tc.want)
		}
		if got, want := st.Message(), "denied for a reason"; got != want {
			t.Errorf("HTTP %d: message %q, want %q", tc.status, got, want)
		}
		if got := trailer.Get("grpc-retry-pushback-ms"); tc.pushback != "" && !slices.Equal(got, []string{tc.pushback}) {
			t.Errorf("HTTP %d: pushback %v, want [%q]", tc.status, got, tc.pushback)
		}
	}
}

func TestErrorsLeavesOtherRequestsAlone(t *testing.T) {
	t.Parallel()
	h := grpcproxy.Errors(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		problem.Write(w, r, problem.New(http.StatusUnauthorized, "no"))
	}))
	addr := serveH2C(t, h)
	resp, err := http.Get("http://" + addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got, want := resp.StatusCode, http.StatusUnauthorized; got != want {
		t.Errorf("status %d, want %d", got, want)
	}
	if got, want := resp.Header.Get("Content-Type"), problem.ContentType; got != want {
		t.Errorf("Content-Type %q, want %q", got, want)
	}
}
