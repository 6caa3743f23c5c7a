package grpcproxy

import (
	"crypto/tls"
	"errors"
	"io"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/portico-dev/portico/gateway/upstream"
	"github.com/portico-dev/portico/internal/grpccode"
	"github.com/portico-dev/portico/internal/grpcwire"
	"github.com/portico-dev/portico/resilience"
)

// NewUpstreamTransport returns an *http.Transport for gRPC instances,
// tuned like [upstream.NewTransport] but speaking HTTP/2 only: h2c (prior
// knowledge) to http:// instances, h2 over TLS to https:// ones.
// tlsConfig, if not nil, is cloned into TLSClientConfig.
func NewUpstreamTransport(tlsConfig *tls.Config) *http.Transport {
	t := upstream.NewTransport(tlsConfig)
	t.Protocols = new(http.Protocols)
	t.Protocols.SetHTTP2(true)
	t.Protocols.SetUnencryptedHTTP2(true)
	return t
}

// Transport is the innermost gRPC step of an upstream chain: it sends a
// call with the route's deadline in grpc-timeout, and shows the policies
// above it (retries, circuit breakers, outlier ejection) the outcome of a
// trailers-only response as an HTTP status.
//
// # Deadlines
//
// The grpc-timeout sent upstream is the smaller of the client's and the
// time left before the request context's deadline (the route timeout),
// so the upstream stops working when the gateway stops waiting.
//
// # Statuses
//
// A gRPC call answers HTTP 200 whatever its outcome. When the upstream
// ends a call at once (a trailers-only response, grpc-status in the
// headers) with a status other than OK, Transport sets the response's
// StatusCode to what policies understand:
//
//   - UNAVAILABLE: 503, retried by default; with grpc-retry-pushback-ms
//     the delay is passed as Retry-After-Ms, and a negative pushback (the
//     server forbids retries) makes it 500 instead;
//   - RESOURCE_EXHAUSTED: 429, retried only with a pushback delay;
//   - other codes: their standard HTTP status, except DEADLINE_EXCEEDED,
//     which is 500 so that it counts as a failure but is never retried.
//
// The headers, grpc-status included, are untouched: [Handler] answers the
// client with HTTP 200 and the upstream's status. A status that comes in
// trailers, after the response headers (and any messages), is known only
// once the response has begun: it is passed on as it is and never
// retried, but when the body ends Transport reports it (the body is a
// [resilience.LateOutcome]), so that the instance's circuit breaker and
// outlier ejection count the call as a failure if the code is a failure
// of the upstream's (UNKNOWN, DEADLINE_EXCEEDED, UNIMPLEMENTED, INTERNAL,
// UNAVAILABLE, DATA_LOSS, as OpenTelemetry's conventions for gRPC server
// spans and the call log count them; or no status at all) and as a
// success otherwise: OK, and the codes that refuse the client's request,
// such as INVALID_ARGUMENT or NOT_FOUND. A trailers-only status counts
// the same way: the failures' HTTP statuses are 5xx, the others' are not. A call the client ends
// before its status arrives counts for nothing.
//
// Transport is safe for concurrent use.
type Transport struct {
	// Next sends the requests. If nil, a transport from
	// [NewUpstreamTransport] with no TLS configuration is used.
	Next http.RoundTripper
}

// defaultNext is the transport of every Transport without a Next.
var defaultNext = sync.OnceValue(func() *http.Transport { return NewUpstreamTransport(nil) })

// RoundTrip implements http.RoundTripper.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	next := t.Next
	if next == nil {
		next = defaultNext()
	}
	out := *req
	out.Header = req.Header.Clone()
	out.Header.Set("Te", "trailers")
	if dl, ok := req.Context().Deadline(); ok {
		left := time.Until(dl)
		if d, ok := grpcwire.ParseTimeout(req.Header.Get("Grpc-Timeout")); !ok || left < d {
			out.Header.Set("Grpc-Timeout", grpcwire.FormatTimeout(left))
		}
	}
	resp, err := next.RoundTrip(&out)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode == http.StatusOK {
		if st, ok := grpcwire.Status(resp.Header); ok {
			if st.GetCode() != 0 {
				policyView(resp, codes.Code(st.GetCode()))
			}
		} else if resp.Body != nil && resp.Body != http.NoBody {
			resp.Body = &trailerBody{ReadCloser: resp.Body, resp: resp}
		}
	}
	return resp, nil
}

// trailerBody is the body of a gRPC response whose status comes in
// trailers: once it has been read to its end, Failed reports whether that
// status is a failure of the upstream's. It implements
// [resilience.LateOutcome].
type trailerBody struct {
	io.ReadCloser
	resp   *http.Response
	failed atomic.Bool
}

func (b *trailerBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if errors.Is(err, io.EOF) {
		// The trailers are in resp.Trailer once the body has ended.
		st, ok := grpcwire.Status(b.resp.Trailer)
		b.failed.Store(!ok || grpccode.ServerFailure(int(st.GetCode())))
	}
	return n, err
}

var _ resilience.LateOutcome = (*trailerBody)(nil)

// Failed implements [resilience.LateOutcome].
func (b *trailerBody) Failed() bool { return b.failed.Load() }

// policyView sets resp's StatusCode (and Retry-After-Ms) for the outcome
// of a trailers-only response with code c; see [Transport].
func policyView(resp *http.Response, c codes.Code) {
	d, allowed, pushback := grpcwire.RetryPushback(resp.Header)
	switch c {
	case codes.Unavailable:
		resp.StatusCode = http.StatusServiceUnavailable
		if pushback && !allowed {
			resp.StatusCode = http.StatusInternalServerError
		}
	case codes.ResourceExhausted:
		resp.StatusCode = http.StatusTooManyRequests
	case codes.DeadlineExceeded:
		resp.StatusCode = http.StatusInternalServerError
	default:
		resp.StatusCode = grpcwire.HTTPStatus(c)
	}
	if pushback && allowed {
		resp.Header.Set("Retry-After-Ms", strconv.FormatInt(d.Milliseconds(), 10))
	}
	resp.Status = strconv.Itoa(resp.StatusCode) + " " + http.StatusText(resp.StatusCode)
}
