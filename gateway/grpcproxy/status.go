package grpcproxy

import (
	"context"
	"errors"
	"net/http"

	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/codes"

	"github.com/portico-dev/portico/gateway/upstream"
	"github.com/portico-dev/portico/internal/grpcwire"
	"github.com/portico-dev/portico/resilience"
)

// WriteStatus answers a gRPC call with code and msg and no message, as a
// trailers-only response: HTTP 200, application/grpc, grpc-status and
// grpc-message in the headers.
func WriteStatus(w http.ResponseWriter, code codes.Code, msg string) {
	h := w.Header()
	h.Del("Content-Length")
	h.Set("Content-Type", grpcwire.ContentType)
	grpcwire.SetStatus(h, &spb.Status{Code: int32(code), Message: msg})
	w.WriteHeader(http.StatusOK)
}

// IsGRPC reports whether r is a gRPC call (a Content-Type of
// application/grpc or application/grpc+<codec>).
func IsGRPC(r *http.Request) bool {
	return grpcwire.IsGRPC(r.Header.Get("Content-Type"))
}

// errorStatus is the status a gateway answers for a failed upstream
// exchange; the message never names an upstream address.
func errorStatus(r *http.Request, err error) (codes.Code, string) {
	switch {
	case errors.Is(err, context.Canceled) && r.Context().Err() != nil:
		return codes.Canceled, "the client canceled the call"
	case errors.Is(err, upstream.ErrNoInstance):
		return codes.Unavailable, "no instance of the upstream is available"
	case errors.Is(err, resilience.ErrCircuitOpen):
		return codes.Unavailable, "the upstream's circuit breaker is open"
	case errors.Is(err, resilience.ErrBulkheadFull):
		return codes.ResourceExhausted, "too many calls to the upstream are in flight"
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return codes.ResourceExhausted, "the request is larger than this route accepts"
	}
	switch resilience.HTTPStatus(err) {
	case http.StatusGatewayTimeout:
		return codes.DeadlineExceeded, "the upstream did not answer in time"
	case http.StatusServiceUnavailable:
		return codes.Unavailable, "the upstream is unavailable"
	}
	return codes.Unavailable, "the upstream could not be reached"
}
