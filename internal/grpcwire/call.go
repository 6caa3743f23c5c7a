package grpcwire

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/codes"
)

// StatusError is a call that ended with a status other than OK.
type StatusError struct {
	Status *spb.Status
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("grpc: %s: %s", codes.Code(e.Status.GetCode()), e.Status.GetMessage())
}

// Errorf returns a *StatusError with code and a formatted message.
func Errorf(c codes.Code, format string, args ...any) *StatusError {
	return &StatusError{Status: &spb.Status{Code: int32(c), Message: fmt.Sprintf(format, args...)}}
}

// NewRequest builds the HTTP/2 request of a call to method
// ("/package.Service/Method") on target ("scheme://host[:port]"), with one
// message as its body. The context's deadline, if any, is sent as
// grpc-timeout.
func NewRequest(ctx context.Context, target, method string, msg []byte) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target+method, bytes.NewReader(Frame(msg)))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", ContentType)
	req.Header.Set("Te", "trailers")
	if dl, ok := ctx.Deadline(); ok {
		req.Header.Set("Grpc-Timeout", FormatTimeout(time.Until(dl)))
	}
	return req, nil
}

// Stream is the response side of a call: messages, then the status.
// It is not safe for concurrent use.
type Stream struct {
	resp  *http.Response
	limit int
	err   error
}

// Open sends req through rt and returns the response stream, or a
// *StatusError for a trailers-only response or an answer that is not
// gRPC. Messages larger than limit bytes are refused.
func Open(rt http.RoundTripper, req *http.Request, limit int) (*Stream, error) {
	resp, err := rt.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	if st, ok := Status(resp.Header); ok {
		resp.Body.Close()
		if st.GetCode() == 0 {
			// A trailers-only OK has no message: for a unary call, an error.
			return &Stream{resp: nil, limit: limit, err: io.EOF}, nil
		}
		return nil, &StatusError{Status: st}
	}
	if err := NotGRPC(resp); err != nil {
		resp.Body.Close()
		return nil, err
	}
	return &Stream{resp: resp, limit: limit}, nil
}

// NotGRPC is the status of a response that is not a gRPC answer (a
// status other than 200 OK or a content type other than gRPC's), or nil
// for a gRPC answer. It reads a little of a refused body, so that the
// connection can be reused once the caller closes it.
func NotGRPC(resp *http.Response) *StatusError {
	if resp.StatusCode == http.StatusOK && IsGRPC(resp.Header.Get("Content-Type")) {
		return nil
	}
	_, _ = io.CopyN(io.Discard, resp.Body, 4<<10)
	return Errorf(CodeForUpstreamHTTP(resp.StatusCode), "the upstream answered HTTP %d, not gRPC", resp.StatusCode)
}

// Recv returns the next message; after the last one it returns io.EOF
// when the call ended OK, or the *StatusError it ended with.
func (s *Stream) Recv() ([]byte, error) {
	if s.err != nil {
		return nil, s.err
	}
	msg, err := ReadFrame(s.resp.Body, s.limit)
	if err == nil {
		return msg, nil
	}
	if errors.Is(err, io.EOF) {
		st, ok := Status(s.resp.Trailer)
		switch {
		case !ok:
			err = Errorf(codes.Internal, "the upstream ended the call without a status")
		case st.GetCode() != 0:
			err = &StatusError{Status: st}
		}
	} else if !errors.Is(err, ErrCompressed) && !isStatus(err) {
		err = fromReadError(s.resp.Request)
	}
	s.err = err
	return nil, err
}

func isStatus(err error) bool {
	_, ok := errors.AsType[*StatusError](err)
	return ok
}

// fromReadError is the status of a failed read of a response: the
// call's own deadline or cancellation, or else a broken stream.
func fromReadError(req *http.Request) error {
	if req != nil {
		switch ctxErr := req.Context().Err(); {
		case errors.Is(ctxErr, context.DeadlineExceeded):
			return Errorf(codes.DeadlineExceeded, "the call ran out of time")
		case errors.Is(ctxErr, context.Canceled):
			return Errorf(codes.Canceled, "the call was canceled")
		}
	}
	return Errorf(codes.Unavailable, "the upstream stream broke")
}

// Header returns the response headers (the call's header metadata), or
// nil for a trailers-only OK.
func (s *Stream) Header() http.Header {
	if s.resp == nil {
		return nil
	}
	return s.resp.Header
}

// Close releases the response.
func (s *Stream) Close() {
	if s.resp != nil {
		s.resp.Body.Close()
	}
}

// RetryPushback reads grpc-retry-pushback-ms from h: the delay the
// server asks for before a retry, and whether it allows one. A header
// that is absent leaves the decision to the client (ok false); a
// negative or malformed one forbids retrying.
func RetryPushback(h http.Header) (d time.Duration, allowed, ok bool) {
	v := h.Get("Grpc-Retry-Pushback-Ms")
	if v == "" {
		return 0, false, false
	}
	ms, err := strconv.ParseInt(v, 10, 64)
	if err != nil || ms < 0 {
		return 0, false, true
	}
	return time.Duration(ms) * time.Millisecond, true, true
}
