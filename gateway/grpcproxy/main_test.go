package grpcproxy_test

import (
	"cmp"
	"log/slog"
	"net/http"
	"net/url"
	"testing"

	"go.uber.org/goleak"

	"github.com/portico-dev/portico/gateway/grpcproxy"
	"github.com/portico-dev/portico/internal/grpctest"
	"github.com/portico-dev/portico/internal/grpctest/testpb"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// serveH2C serves h on loopback over HTTP/1.1 and h2c, as a gateway
// listener does, and returns its address.
func serveH2C(t testing.TB, h http.Handler) string { return grpctest.ServeH2C(t, h) }

// upstreamTransport is an HTTP/2 transport to s, closed when the test ends.
func upstreamTransport(t testing.TB, s *grpctest.Server) *http.Transport {
	t.Helper()
	tr := grpcproxy.NewUpstreamTransport(s.ClientTLS)
	t.Cleanup(tr.CloseIdleConnections)
	return tr
}

// proxy serves h in front of s, with wrap between h and the gRPC
// Transport (nil for nothing), and returns a client through it.
func proxy(t testing.TB, s *grpctest.Server, wrap func(http.RoundTripper) http.RoundTripper, h *grpcproxy.Handler) testpb.ShelfClient {
	t.Helper()
	if h == nil {
		h = &grpcproxy.Handler{}
	}
	h.Target, _ = url.Parse(s.URL)
	var tr http.RoundTripper = &grpcproxy.Transport{Next: upstreamTransport(t, s)}
	if wrap != nil {
		tr = wrap(tr)
	}
	h.Transport = tr
	addr := serveH2C(t, grpcproxy.Errors(h))
	return testpb.NewShelfClient(grpctest.Dial(t, addr, nil))
}

func quiet() *slog.Logger { return slog.New(slog.DiscardHandler) }

// inRange reports got outside [lo, hi], each bound on its own; name says
// what got is.
func inRange[T cmp.Ordered](t testing.TB, name string, got, lo, hi T) {
	t.Helper()
	if got < lo {
		t.Errorf("%s = %v, want at least %v", name, got, lo)
	}
	if got > hi {
		t.Errorf("%s = %v, want at most %v", name, got, hi)
	}
}
