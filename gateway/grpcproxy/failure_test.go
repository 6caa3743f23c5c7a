package grpcproxy_test

import (
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"

	"github.com/portico-dev/portico/gateway/calllog"
	"github.com/portico-dev/portico/gateway/grpcproxy"
	"github.com/portico-dev/portico/resilience"
)

// answer is an upstream that ends every call with one gRPC status, in
// the headers (trailers-only) or in trailers after a message.
type answer struct {
	code         codes.Code
	trailersOnly bool
}

func (a answer) RoundTrip(r *http.Request) (*http.Response, error) {
	resp := &http.Response{StatusCode: http.StatusOK, Status: "200 OK", Proto: "HTTP/2.0", ProtoMajor: 2,
		Header: http.Header{"Content-Type": {"application/grpc"}}, Request: r}
	status := http.Header{"Grpc-Status": {strconv.Itoa(int(a.code))}}
	if a.trailersOnly {
		resp.Header["Grpc-Status"] = status["Grpc-Status"]
		resp.Body = http.NoBody
		return resp, nil
	}
	resp.Trailer = status // read by the transport only once the body has ended
	resp.Body = io.NopCloser(strings.NewReader("\x00\x00\x00\x00\x00"))
	return resp, nil
}

// Regression test: UNIMPLEMENTED in trailers counted as a success for the
// instance's breaker and outlier ejection, while the call log, a
// trailers-only UNIMPLEMENTED (HTTP 501) and OpenTelemetry's conventions
// for gRPC server spans count it as a failure.
func TestEveryGRPCStatusCountsAgainstTheInstanceAsTheCallLogCountsIt(t *testing.T) {
	t.Parallel()
	for c := codes.OK; c <= codes.Unauthenticated; c++ {
		want := (&calllog.Record{GRPCStatus: calllog.GRPCCodeName(int(c))}).Failed()
		t.Run(c.String(), func(t *testing.T) {
			t.Parallel()
			req, _ := http.NewRequest(http.MethodPost, "http://shelf/portico.test.Shelf/ListBooks", http.NoBody)
			req.Header.Set("Content-Type", "application/grpc")

			resp, err := (&grpcproxy.Transport{Next: answer{code: c, trailersOnly: true}}).RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			if got := resp.StatusCode >= 500; got != want {
				t.Errorf("trailers-only: status %d counts as a failure: %v, want %v", resp.StatusCode, got, want)
			}

			resp, err = (&grpcproxy.Transport{Next: answer{code: c}}).RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := io.Copy(io.Discard, resp.Body); err != nil {
				t.Fatal(err)
			}
			late, ok := resp.Body.(resilience.LateOutcome)
			if !ok {
				t.Fatalf("in trailers: the body %T is not a resilience.LateOutcome", resp.Body)
			}
			if got := late.Failed(); got != want {
				t.Errorf("in trailers: Failed() = %v, want %v", got, want)
			}
		})
	}
}
