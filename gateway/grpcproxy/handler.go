package grpcproxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/portico-dev/portico/internal/grpcwire"
	"github.com/portico-dev/portico/internal/problem"
	"github.com/portico-dev/portico/resilience"
)

// Handler proxies gRPC calls of every streaming kind to an upstream:
// request and response bodies stream both ways unbuffered, headers and
// trailers pass through, and every way the exchange can fail reaches the
// client as a gRPC status. A request that is not a gRPC call is answered
// 415 with a problem document.
//
// The handler sets the call's deadline from the client's grpc-timeout, so
// the gateway stops waiting when the client does. It is safe for
// concurrent use.
type Handler struct {
	// Target is the upstream's scheme and host, such as
	// "http://orders:9090" (h2c) or "https://orders:9443"; the path is the
	// call's method. If nil, the request URL is sent as it is, for a
	// Transport that picks the upstream itself (a pool).
	Target *url.URL
	// Transport sends the calls. It must speak HTTP/2 to the upstream;
	// put policies (resilience.NewTransport) and pools (upstream.Pool)
	// above a [Transport] so that they understand gRPC statuses. If nil,
	// a &Transport{} is used.
	Transport http.RoundTripper
	// Idempotent reports whether a method ("/package.Service/Method") may
	// be sent again by the retries and hedges of Transport; see
	// [resilience.WithIdempotent]; their request body is buffered (up to
	// the retry's limit) until the client ends its stream, so name no
	// bidirectional-streaming method. Other calls stream unbuffered
	// ([resilience.WithStreamingBody]) and are sent once.
	Idempotent func(method string) bool
	// Timeout bounds each call, streams included, like a deadline the
	// client set: the grpc-timeout sent upstream is the smaller of the
	// client's and Timeout, and a call that runs out of it ends with
	// DEADLINE_EXCEEDED. If zero, only the client's deadline applies.
	Timeout time.Duration

	once sync.Once
	tr   http.RoundTripper
	bufs sync.Pool // of *[copyBuffer]byte, for copying responses
}

// copyBuffer is the size of the buffer a response is copied through.
const copyBuffer = 32 << 10

func (h *Handler) transport() http.RoundTripper {
	h.once.Do(func() {
		h.tr = h.Transport
		if h.tr == nil {
			h.tr = &Transport{}
		}
	})
	return h.tr
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !IsGRPC(r) {
		problem.Write(w, r, problem.New(http.StatusUnsupportedMediaType, "this route takes gRPC calls (Content-Type: application/grpc)"))
		return
	}
	ctx := r.Context()
	d, ok := grpcwire.ParseTimeout(r.Header.Get("Grpc-Timeout"))
	if h.Timeout > 0 && (!ok || h.Timeout < d) {
		d, ok = h.Timeout, true
	}
	if ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d)
		defer cancel()
	}
	if h.Idempotent != nil && h.Idempotent(r.URL.Path) {
		ctx = resilience.WithIdempotent(ctx)
	} else {
		// A call that is never repeated is not read ahead for a replay:
		// its messages stream to the upstream as the client sends them.
		ctx = resilience.WithStreamingBody(ctx)
	}
	out := r.Clone(ctx)
	out.RequestURI = ""
	if h.Target != nil {
		out.URL.Scheme, out.URL.Host = h.Target.Scheme, h.Target.Host
		out.Host = ""
	}
	for _, k := range []string{"Connection", "Keep-Alive", "Proxy-Connection", "Upgrade", "Transfer-Encoding"} {
		out.Header.Del(k)
	}
	resp, err := h.transport().RoundTrip(out)
	if err != nil {
		code, msg := errorStatus(r, err)
		WriteStatus(w, code, msg)
		return
	}
	defer resp.Body.Close()
	buf, _ := h.bufs.Get().(*[copyBuffer]byte)
	if buf == nil {
		buf = new([copyBuffer]byte)
	}
	defer h.bufs.Put(buf)
	forward(w, r, resp, buf[:])
}

// forward writes the upstream's response to the client.
func forward(w http.ResponseWriter, r *http.Request, resp *http.Response, buf []byte) {
	if _, ok := grpcwire.Status(resp.Header); ok {
		// Trailers-only: the status is in the headers; the StatusCode may
		// be the policy view of it (see Transport).
		if _, _, pushback := grpcwire.RetryPushback(resp.Header); pushback {
			resp.Header.Del("Retry-After-Ms")
		}
		copyHeader(w.Header(), resp.Header)
		w.Header().Set("Content-Type", grpcwire.ContentType)
		w.WriteHeader(http.StatusOK)
		return
	}
	if se := grpcwire.NotGRPC(resp); se != nil {
		WriteStatus(w, codes.Code(se.Status.GetCode()), se.Status.GetMessage())
		return
	}
	copyHeader(w.Header(), resp.Header)
	w.WriteHeader(http.StatusOK)
	s := stream{w: w, rc: http.NewResponseController(w), buf: buf}
	_ = s.rc.Flush()
	if err := s.copy(resp.Body); err != nil {
		if s.clientGone || r.Context().Err() != nil && !errors.Is(r.Context().Err(), context.DeadlineExceeded) {
			return
		}
		code, msg := codes.Unavailable, "the upstream stream broke"
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(resp.Request.Context().Err(), context.DeadlineExceeded) {
			code, msg = codes.DeadlineExceeded, "the call ran out of time"
		}
		setTrailer(w.Header(), "Grpc-Status", fmt.Sprint(int(code)))
		setTrailer(w.Header(), "Grpc-Message", grpcwire.EncodeMessage(msg))
		return
	}
	for k, vs := range resp.Trailer {
		for _, v := range vs {
			w.Header().Add(http.TrailerPrefix+k, v)
		}
	}
	if _, ok := grpcwire.Status(resp.Trailer); !ok {
		setTrailer(w.Header(), "Grpc-Status", fmt.Sprint(int(codes.Internal)))
		setTrailer(w.Header(), "Grpc-Message", grpcwire.EncodeMessage("the upstream ended the call without a status"))
	}
}

func setTrailer(h http.Header, k, v string) { h.Set(http.TrailerPrefix+k, v) }

// copyHeader copies the upstream's headers but the hop-by-hop ones.
func copyHeader(dst, src http.Header) {
	for k, vs := range src {
		switch strings.ToLower(k) {
		case "connection", "keep-alive", "transfer-encoding", "upgrade", "proxy-connection", "content-length", "trailer":
			continue
		}
		dst[k] = append(dst[k][:0:0], vs...)
	}
}

// stream copies a response body to the client, flushing each read so
// that every message reaches the client as soon as it arrives.
type stream struct {
	w          http.ResponseWriter
	rc         *http.ResponseController
	buf        []byte
	clientGone bool
}

func (s *stream) copy(body io.Reader) error {
	for {
		n, err := body.Read(s.buf)
		if n > 0 {
			if _, werr := s.w.Write(s.buf[:n]); werr != nil {
				s.clientGone = true
				return werr
			}
			if ferr := s.rc.Flush(); ferr != nil {
				s.clientGone = true
				return ferr
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}
