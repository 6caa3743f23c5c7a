package gateway_test

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"slices"
	"testing"

	"github.com/portico-dev/portico/gateway"
)

// spoofed are client-IP and forwarding headers a client might send to
// make an upstream believe it comes from elsewhere, by the name the
// upstream reads.
var spoofed = []struct{ sent, read string }{
	{"True-Client-IP", "True-Client-Ip"},
	{"CF-Connecting-IP", "Cf-Connecting-Ip"},
	{"X-Client-IP", "X-Client-Ip"},
	{"Fastly-Client-IP", "Fastly-Client-Ip"},
	{"X-Cluster-Client-IP", "X-Cluster-Client-Ip"},
	{"X-Original-Forwarded-For", "X-Original-Forwarded-For"},
	{"X-Forwarded-Port", "X-Forwarded-Port"},
	{"X-Forwarded-Prefix", "X-Forwarded-Prefix"},
	{"X-Forwarded-Client-Cert", "X-Forwarded-Client-Cert"},
	{"X_Real_IP", "X_real_ip"},
	{"x_forwarded_for", "X_forwarded_for"},
}

// spoofingRequest is a request that sets every spoofed header, and
// X-Real-IP and X-Forwarded-For, to 203.0.113.7.
func spoofingRequest(t *testing.T, url string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range spoofed {
		req.Header[h.sent] = []string{"203.0.113.7"}
	}
	req.Header.Set("X-Real-IP", "203.0.113.7")
	req.Header.Set("X-Forwarded-For", "203.0.113.7")
	return req
}

// ipGateway serves a gateway with the given options in front of an echo
// upstream and returns its URL.
func ipGateway(t *testing.T, opts ...gateway.Option) *httptest.Server {
	t.Helper()
	_, gw := newGateway(t, append([]gateway.Option{gateway.WithUpstream(upstreamOf(t, "app", echoServer(t, "app"))),
		gateway.WithRoute(gateway.Route{Prefix: "/", Upstream: "app"})}, opts...)...)
	return gw
}

func TestRegressionClientIPHeadersFromAnUntrustedPeerReachedTheUpstream(t *testing.T) {
	t.Parallel()
	for _, cfg := range []struct {
		name string
		opts []gateway.Option
	}{
		{"no trusted proxy", nil},
		{"a trusted network the peer is outside", []gateway.Option{gateway.WithTrustedProxies(netip.MustParsePrefix("10.0.0.0/8"))}},
		{"no trusted proxy and client_ip in the chain", []gateway.Option{gateway.WithChain("client_ip")}},
	} {
		t.Run(cfg.name, func(t *testing.T) {
			t.Parallel()
			gw := ipGateway(t, cfg.opts...)
			_, e := do(t, gw.Client(), spoofingRequest(t, gw.URL+"/"))
			for _, h := range spoofed {
				if got := e.Header[h.read]; got != nil {
					t.Errorf("the upstream got %s: %q, want it removed", h.read, got)
				}
			}
			if got, want := e.Header.Values("X-Real-Ip"), []string{"127.0.0.1"}; !slices.Equal(got, want) {
				t.Errorf("the upstream got X-Real-IP %q, want the peer's %q", got, want)
			}
			if got, want := e.Header.Get("X-Forwarded-For"), "127.0.0.1"; got != want {
				t.Errorf("the upstream got X-Forwarded-For %q, want %q", got, want)
			}
		})
	}
}

func TestClientIPHeadersFromATrustedProxyPassThrough(t *testing.T) {
	t.Parallel()
	gw := ipGateway(t, gateway.WithTrustedProxies(netip.MustParsePrefix("127.0.0.0/8")))
	_, e := do(t, gw.Client(), spoofingRequest(t, gw.URL+"/"))
	for _, h := range spoofed {
		if got, want := e.Header.Get(h.read), "203.0.113.7"; got != want {
			t.Errorf("the upstream got %s: %q, want the proxy's %q", h.read, got, want)
		}
	}
	if got, want := e.Header.Values("X-Real-Ip"), []string{"203.0.113.7"}; !slices.Equal(got, want) {
		t.Errorf("the upstream got X-Real-IP %q, want the proxy's %q", got, want)
	}
	if got, want := e.Header.Get("X-Forwarded-For"), "203.0.113.7, 127.0.0.1"; got != want {
		t.Errorf("the upstream got X-Forwarded-For %q, want %q", got, want)
	}
}

func TestXRealIPIsTheClientAddressClientIPFoundBehindTrustedProxies(t *testing.T) {
	t.Parallel()
	gw := ipGateway(t, gateway.WithTrustedProxies(netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("10.0.0.0/8")),
		gateway.WithChain("client_ip"))
	req, _ := http.NewRequest(http.MethodGet, gw.URL+"/", nil)
	req.Header.Set("X-Real-IP", "192.0.2.1")
	req.Header.Set("X-Forwarded-For", "198.51.100.4, 10.1.2.3")
	_, e := do(t, gw.Client(), req)
	if got, want := e.Header.Values("X-Real-Ip"), []string{"198.51.100.4"}; !slices.Equal(got, want) {
		t.Errorf("the upstream got X-Real-IP %q, want the client client_ip found, %q", got, want)
	}
}

func TestAMirroredCopyLosesSpoofedClientIPHeadersToo(t *testing.T) {
	t.Parallel()
	shadow := make(chan http.Header, 1)
	mirror := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		shadow <- r.Header.Clone()
	}))
	t.Cleanup(mirror.Close)
	_, gw := newGateway(t, gateway.WithUpstream(upstreamOf(t, "app", echoServer(t, "app"))),
		gateway.WithUpstream(upstreamOf(t, "shadow", mirror)),
		gateway.WithRoute(gateway.Route{Prefix: "/", Upstream: "app", Mirror: &gateway.Mirror{Upstream: "shadow"}}))
	req := spoofingRequest(t, gw.URL+"/")
	req.Header.Set("X-Forwarded-Host", "evil.example")
	do(t, gw.Client(), req)
	h := <-shadow
	for _, s := range spoofed {
		if got := h[s.read]; got != nil {
			t.Errorf("the mirrored copy got %s: %q, want it removed", s.read, got)
		}
	}
	if got, want := h.Get("X-Real-Ip"), "127.0.0.1"; got != want {
		t.Errorf("the mirrored copy got X-Real-IP %q, want %q", got, want)
	}
	if got, want := h.Get("X-Forwarded-For"), "127.0.0.1"; got != want {
		t.Errorf("the mirrored copy got X-Forwarded-For %q, want %q", got, want)
	}
	if got := h.Get("X-Forwarded-Host"); got == "evil.example" {
		t.Errorf("the mirrored copy got the client's X-Forwarded-Host %q", got)
	}
}
