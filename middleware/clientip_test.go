package middleware_test

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/portico-dev/portico/middleware"
)

func TestClientIP(t *testing.T) {
	t.Parallel()
	loopback := []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	proxies := []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("2001:db8:ffff::/48")}
	tests := []struct {
		name    string
		cfg     middleware.ClientIPConfig
		headers []string
		want    string
	}{
		{name: "with no trusted proxy the peer is the client", headers: []string{"X-Forwarded-For", "203.0.113.9"}, want: "127.0.0.1"},
		{
			name:    "a spoofed X-Forwarded-For from an untrusted peer is ignored",
			cfg:     middleware.ClientIPConfig{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}},
			headers: []string{"X-Forwarded-For", "203.0.113.9"},
			want:    "127.0.0.1",
		},
		{
			name:    "a trusted peer's X-Forwarded-For gives the client",
			cfg:     middleware.ClientIPConfig{TrustedProxies: loopback},
			headers: []string{"X-Forwarded-For", "203.0.113.9"},
			want:    "203.0.113.9",
		},
		{
			name:    "the rightmost untrusted address wins over a spoofed leftmost one",
			cfg:     middleware.ClientIPConfig{TrustedProxies: proxies},
			headers: []string{"X-Forwarded-For", "6.6.6.6, 203.0.113.9, 10.1.2.3"},
			want:    "203.0.113.9",
		},
		{
			name:    "trusted hops are skipped across several header lines",
			cfg:     middleware.ClientIPConfig{TrustedProxies: proxies},
			headers: []string{"X-Forwarded-For", "203.0.113.9", "X-Forwarded-For", "10.0.0.2, 10.0.0.1"},
			want:    "203.0.113.9",
		},
		{
			name:    "when every hop is trusted the furthest one is the client",
			cfg:     middleware.ClientIPConfig{TrustedProxies: proxies},
			headers: []string{"X-Forwarded-For", "10.0.0.3, 10.0.0.2"},
			want:    "10.0.0.3",
		},
		{
			name:    "a garbage entry stops the walk at the last trusted hop",
			cfg:     middleware.ClientIPConfig{TrustedProxies: proxies},
			headers: []string{"X-Forwarded-For", "203.0.113.9, not-an-ip, 10.0.0.2"},
			want:    "10.0.0.2",
		},
		{
			name:    "an X-Forwarded-For entry with a port parses",
			cfg:     middleware.ClientIPConfig{TrustedProxies: loopback},
			headers: []string{"X-Forwarded-For", "203.0.113.9:5555"},
			want:    "203.0.113.9",
		},
		{
			name:    "an IPv6 X-Forwarded-For entry parses",
			cfg:     middleware.ClientIPConfig{TrustedProxies: loopback},
			headers: []string{"X-Forwarded-For", "2001:db8::7"},
			want:    "2001:db8::7",
		},
		{
			name:    "Forwarded is ignored when X-Forwarded-For is the configured header",
			cfg:     middleware.ClientIPConfig{TrustedProxies: loopback},
			headers: []string{"Forwarded", "for=203.0.113.9"},
			want:    "127.0.0.1",
		},
		{
			name:    "Forwarded gives the client when configured",
			cfg:     middleware.ClientIPConfig{TrustedProxies: loopback, Header: "Forwarded"},
			headers: []string{"Forwarded", "for=192.0.2.60;proto=http;by=203.0.113.43"},
			want:    "192.0.2.60",
		},
		{
			name:    "a quoted bracketed IPv6 Forwarded node with a port parses",
			cfg:     middleware.ClientIPConfig{TrustedProxies: proxies, Header: "Forwarded"},
			headers: []string{"Forwarded", `for="[2001:db8:cafe::17]:4711", for="[2001:db8:ffff::1]"`},
			want:    "2001:db8:cafe::17",
		},
		{
			name:    "an obfuscated Forwarded node stops the walk",
			cfg:     middleware.ClientIPConfig{TrustedProxies: proxies, Header: "Forwarded"},
			headers: []string{"Forwarded", "for=203.0.113.9, for=_hidden, for=10.0.0.5"},
			want:    "10.0.0.5",
		},
		{
			name:    "an unknown Forwarded node stops the walk at the peer",
			cfg:     middleware.ClientIPConfig{TrustedProxies: proxies, Header: "Forwarded"},
			headers: []string{"Forwarded", "for=unknown"},
			want:    "127.0.0.1",
		},
		{
			name:    "a malformed Forwarded header stops the walk at the peer",
			cfg:     middleware.ClientIPConfig{TrustedProxies: proxies, Header: "Forwarded"},
			headers: []string{"Forwarded", `for="203.0.113.9`},
			want:    "127.0.0.1",
		},
		{
			name:    "X-Real-IP can be the configured header",
			cfg:     middleware.ClientIPConfig{TrustedProxies: loopback, Header: "X-Real-IP"},
			headers: []string{"X-Real-IP", "203.0.113.9", "X-Forwarded-For", "6.6.6.6"},
			want:    "203.0.113.9",
		},
		{
			name:    "an IPv4-mapped trusted prefix matches IPv4 peers",
			cfg:     middleware.ClientIPConfig{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("::ffff:127.0.0.0/104")}},
			headers: []string{"X-Forwarded-For", "203.0.113.9"},
			want:    "203.0.113.9",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := make(chan string, 1)
			srv := serve(t, middleware.ClientIP(tt.cfg)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				ip, ok := middleware.ClientIPFrom(r.Context())
				if !ok {
					got <- "none"
					return
				}
				got <- ip.String()
			})))
			do(t, srv, newRequest(t, http.MethodGet, srv.URL, nil, tt.headers...))
			if ip := <-got; ip != tt.want {
				t.Fatalf("client IP = %s, want %s", ip, tt.want)
			}
		})
	}
}

func TestClientIPFromIsEmptyWithoutTheMiddleware(t *testing.T) {
	t.Parallel()
	if ip, ok := middleware.ClientIPFrom(httptest.NewRequest(http.MethodGet, "/", nil).Context()); ok {
		t.Fatalf("ClientIPFrom = %v, true; want false", ip)
	}
}

func TestClientIPWithAnUnparseablePeerHasNoAddress(t *testing.T) {
	t.Parallel()
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.RemoteAddr = "@"
	ok := true
	middleware.ClientIP(middleware.ClientIPConfig{})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, ok = middleware.ClientIPFrom(r.Context())
	})).ServeHTTP(httptest.NewRecorder(), req)
	if ok {
		t.Fatal("ClientIPFrom reported an address for a Unix-socket peer")
	}
}

func TestClientIPPanicsOnAnInvalidPrefix(t *testing.T) {
	t.Parallel()
	defer func() {
		if v, _ := recover().(string); !strings.Contains(v, "TrustedProxies[0]") {
			t.Fatalf("panic %q does not name the field", v)
		}
	}()
	middleware.ClientIP(middleware.ClientIPConfig{TrustedProxies: []netip.Prefix{{}}})
}

func FuzzClientIP(f *testing.F) {
	f.Add("203.0.113.9, 10.0.0.1", `for="[2001:db8::1]:80", for=10.0.0.1`)
	f.Add("garbage", "for=_x;by=y")
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.0.2.0/24")}
	xff := middleware.ClientIP(middleware.ClientIPConfig{TrustedProxies: trusted})
	fwd := middleware.ClientIP(middleware.ClientIPConfig{TrustedProxies: trusted, Header: "Forwarded"})
	f.Fuzz(func(t *testing.T, xffValue, fwdValue string) {
		for _, peer := range []string{"192.0.2.1:1234", "198.51.100.1:1234"} {
			for _, mw := range []func(http.Handler) http.Handler{xff, fwd} {
				req := httptest.NewRequest(http.MethodGet, "/", nil)
				req.RemoteAddr = peer
				req.Header["X-Forwarded-For"] = []string{xffValue}
				req.Header["Forwarded"] = []string{fwdValue}
				var got netip.Addr
				var ok bool
				mw(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					got, ok = middleware.ClientIPFrom(r.Context())
				})).ServeHTTP(httptest.NewRecorder(), req)
				if !ok {
					t.Fatalf("no client IP for peer %s", peer)
				}
				if !got.IsValid() {
					t.Fatalf("client IP for peer %s is the zero address", peer)
				}
				if peer == "198.51.100.1:1234" && got != netip.MustParseAddr("198.51.100.1") {
					t.Fatalf("untrusted peer %s was overridden by headers to %s", peer, got)
				}
				if got.Zone() != "" {
					t.Fatalf("client IP %s keeps a zone", got)
				}
				if got.Is4In6() {
					t.Fatalf("client IP %s is an IPv4-mapped IPv6 address", got)
				}
			}
		}
	})
}
