package grpcwire

import (
	"net/http"

	"google.golang.org/grpc/codes"
)

// HTTPStatus is the standard HTTP status of a gRPC code, the one
// google.api's HTTP mapping and grpc-gateway use (CANCELLED is 499).
func HTTPStatus(c codes.Code) int {
	switch c {
	case codes.OK:
		return http.StatusOK
	case codes.Canceled:
		return 499
	case codes.InvalidArgument, codes.FailedPrecondition, codes.OutOfRange:
		return http.StatusBadRequest
	case codes.DeadlineExceeded:
		return http.StatusGatewayTimeout
	case codes.NotFound:
		return http.StatusNotFound
	case codes.AlreadyExists, codes.Aborted:
		return http.StatusConflict
	case codes.PermissionDenied:
		return http.StatusForbidden
	case codes.Unauthenticated:
		return http.StatusUnauthorized
	case codes.ResourceExhausted:
		return http.StatusTooManyRequests
	case codes.Unimplemented:
		return http.StatusNotImplemented
	case codes.Unavailable:
		return http.StatusServiceUnavailable
	default: // Unknown, Internal, DataLoss and codes beyond the standard ones
		return http.StatusInternalServerError
	}
}

// CodeForHTTP is the gRPC code of an HTTP status the gateway answers
// with itself (an authentication failure, a rate limit, a timeout): the
// inverse of [HTTPStatus] where it is one to one; any other 4xx is
// INVALID_ARGUMENT and any other 5xx INTERNAL. A 404 or 405 means no
// route took the call, which a gRPC server says with UNIMPLEMENTED.
func CodeForHTTP(status int) codes.Code {
	switch status {
	case http.StatusOK:
		return codes.OK
	case 499:
		return codes.Canceled
	case http.StatusBadRequest, http.StatusRequestURITooLong, http.StatusRequestHeaderFieldsTooLarge, http.StatusUnsupportedMediaType:
		return codes.InvalidArgument
	case http.StatusUnauthorized:
		return codes.Unauthenticated
	case http.StatusForbidden, http.StatusPaymentRequired:
		return codes.PermissionDenied
	case http.StatusGone:
		return codes.NotFound
	case http.StatusNotFound, http.StatusMethodNotAllowed, http.StatusNotImplemented:
		// The gateway has no route for the call: the method is unknown.
		return codes.Unimplemented
	case http.StatusConflict:
		return codes.Aborted
	case http.StatusPreconditionFailed, http.StatusPreconditionRequired:
		return codes.FailedPrecondition
	case http.StatusRequestEntityTooLarge, http.StatusTooManyRequests:
		return codes.ResourceExhausted
	case http.StatusRequestTimeout, http.StatusGatewayTimeout:
		return codes.DeadlineExceeded
	case http.StatusBadGateway, http.StatusServiceUnavailable:
		return codes.Unavailable
	}
	switch {
	case status >= 400 && status < 500:
		return codes.InvalidArgument
	case status >= 500:
		return codes.Internal
	}
	return codes.Unknown
}

// CodeForUpstreamHTTP is the gRPC code of a response that is not gRPC
// from a gRPC upstream (a proxy in front of it answering 502, say), by
// gRPC's "HTTP to gRPC status code mapping".
func CodeForUpstreamHTTP(status int) codes.Code {
	switch status {
	case http.StatusBadRequest:
		return codes.Internal
	case http.StatusUnauthorized:
		return codes.Unauthenticated
	case http.StatusForbidden:
		return codes.PermissionDenied
	case http.StatusNotFound:
		return codes.Unimplemented
	case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return codes.Unavailable
	}
	return codes.Unknown
}
