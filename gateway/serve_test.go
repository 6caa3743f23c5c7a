package gateway_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portico-dev/portico/gateway"
	"github.com/portico-dev/portico/gateway/config"
)

// serveOn runs sc.Serve for h on a loopback listener until the test ends,
// and returns its address.
func serveOn(t *testing.T, sc gateway.ServerConfig, h http.Handler) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sc.Serve(ctx, l, h) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return l.Addr().String()
}

// tlsGateway serves a gateway over TLS, configured from a file with a tls
// section and a route to up, and returns its address and the CA that
// signed its certificate.
func tlsGateway(t *testing.T, up *httptest.Server, server string) (string, *x509.CertPool) {
	t.Helper()
	p := newPKI(t, "client")
	yaml := `
upstreams: [{name: app, instances: [{url: ` + up.URL + `}]}]
tls: {cert_file: server.pem, key_file: server-key.pem}
routes: [{path: /app/*, upstream: app}]
` + server
	file := filepath.Join(p.dir, "gw.yaml")
	if err := os.WriteFile(file, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Read(file)
	if err != nil {
		t.Fatal(err)
	}
	sc, err := cfg.ServerConfig()
	if err != nil {
		t.Fatal(err)
	}
	g, err := cfg.Build(gateway.WithLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Close() })
	roots := x509.NewCertPool()
	roots.AddCert(p.ca)
	return serveOn(t, sc, g), roots
}

// tlsClient trusts roots and speaks HTTP/2 when h2 is set, else HTTP/1.1.
func tlsClient(t *testing.T, roots *x509.CertPool, h2 bool) *http.Client {
	t.Helper()
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}, ForceAttemptHTTP2: h2}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

func TestServeSpeaksHTTP2OverTLS(t *testing.T) {
	t.Parallel()
	next := make(chan struct{})
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/app/events" {
			fmt.Fprint(w, r.Proto)
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprint(w, "data: 1\n\n")
		http.NewResponseController(w).Flush()
		select {
		case <-next:
		case <-r.Context().Done():
			return
		}
		fmt.Fprint(w, "data: 2\n\n")
	}))
	t.Cleanup(up.Close)
	addr, roots := tlsGateway(t, up, "")

	t.Run("an HTTP/2 client negotiates h2", func(t *testing.T) {
		resp, err := tlsClient(t, roots, true).Get("https://" + addr + "/app/x")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if got, want := resp.ProtoMajor, 2; got != want {
			t.Errorf("ProtoMajor = %d, want %d", got, want)
		}
		if got, want := resp.TLS.NegotiatedProtocol, "h2"; got != want {
			t.Errorf("ALPN = %q, want %q", got, want)
		}
		if got, want := resp.StatusCode, http.StatusOK; got != want {
			t.Errorf("status = %d, want %d", got, want)
		}
	})
	t.Run("an HTTP/1.1 client still gets HTTP/1.1", func(t *testing.T) {
		resp, err := tlsClient(t, roots, false).Get("https://" + addr + "/app/x")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if got, want := resp.ProtoMajor, 1; got != want {
			t.Errorf("ProtoMajor = %d, want %d", got, want)
		}
		if got, want := resp.StatusCode, http.StatusOK; got != want {
			t.Errorf("status = %d, want %d", got, want)
		}
	})
	t.Run("an event stream flows over h2 event by event", func(t *testing.T) {
		resp, err := tlsClient(t, roots, true).Get("https://" + addr + "/app/events")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if got, want := resp.ProtoMajor, 2; got != want {
			t.Errorf("ProtoMajor = %d, want %d", got, want)
		}
		br := bufio.NewReader(resp.Body)
		// The first event arrives while the upstream waits to send the
		// second: nothing is buffered on the way.
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("first line: %v", err)
		}
		if got, want := line, "data: 1\n"; got != want {
			t.Fatalf("first line %q, want %q", got, want)
		}
		close(next)
		rest, _ := io.ReadAll(br)
		if got, want := string(rest), "\ndata: 2\n\n"; got != want {
			t.Errorf("rest = %q, want %q", got, want)
		}
	})
}

func TestServeSpeaksH2COnlyWhenEnabled(t *testing.T) {
	t.Parallel()
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, r.Proto) })
	client := func(t *testing.T, h2c bool) *http.Client {
		var p http.Protocols
		p.SetHTTP1(!h2c)
		p.SetUnencryptedHTTP2(h2c)
		tr := &http.Transport{Protocols: &p}
		t.Cleanup(tr.CloseIdleConnections)
		return &http.Client{Transport: tr, Timeout: 30 * time.Second}
	}
	tests := []struct {
		name      string
		enabled   bool
		h2cClient bool
		wantProto string // "" when the request must fail
	}{
		{
			name:      "an h2c client speaks HTTP/2 when h2c is enabled",
			enabled:   true,
			h2cClient: true,
			wantProto: "HTTP/2.0",
		},
		{
			name:      "an HTTP/1.1 client still works when h2c is enabled",
			enabled:   true,
			h2cClient: false,
			wantProto: "HTTP/1.1",
		},
		{
			name:      "an h2c client is refused by default",
			enabled:   false,
			h2cClient: true,
			wantProto: "",
		},
		{
			name:      "an HTTP/1.1 client works by default",
			enabled:   false,
			h2cClient: false,
			wantProto: "HTTP/1.1",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			addr := serveOn(t, gateway.ServerConfig{H2C: tt.enabled}, h)
			resp, err := client(t, tt.h2cClient).Get("http://" + addr + "/")
			if tt.wantProto == "" {
				if err == nil {
					resp.Body.Close()
					t.Fatalf("the request succeeded over %s", resp.Proto)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if got := string(b); got != tt.wantProto {
				t.Errorf("the server saw %s, want %s", got, tt.wantProto)
			}
		})
	}
}

// TestSlowRequestBodiesNoLongerPinUpstreamConnections is the regression
// test for clients that sent a body a byte at a time and held the gateway
// and an upstream connection each for as long as they liked.
func TestSlowRequestBodiesNoLongerPinUpstreamConnections(t *testing.T) {
	t.Parallel()
	const clients = 20
	var open atomic.Int64
	ended := make(chan error, clients)
	up := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, err := io.ReadAll(r.Body)
		ended <- err
	}))
	up.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		switch s {
		case http.StateNew:
			open.Add(1)
		case http.StateClosed, http.StateHijacked:
			open.Add(-1)
		}
	}
	up.Start()
	t.Cleanup(up.Close)
	g, err := gateway.New(gateway.WithLogger(quiet), gateway.WithUpstream(upstreamOf(t, "up", up)),
		gateway.WithRoute(gateway.Route{Path: "/upload", Upstream: "up"}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Close() })
	addr := serveOn(t, gateway.ServerConfig{BodyStallTimeout: 200 * time.Millisecond}, g)

	conns := make([]net.Conn, clients)
	for i := range conns {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		// One byte of the promised thousand, then nothing.
		if _, err := io.WriteString(c, "POST /upload HTTP/1.1\r\nHost: gw.test\r\nContent-Length: 1000\r\n\r\nx"); err != nil {
			t.Fatal(err)
		}
		conns[i] = c
	}
	for i, c := range conns {
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatalf("client %d: no answer within 10s: %v", i, err)
		}
		resp.Body.Close()
		if got, want := resp.StatusCode, http.StatusRequestTimeout; got != want {
			t.Errorf("client %d: status = %d, want %d", i, got, want)
		}
		if got, want := resp.Header.Get("Content-Type"), "application/problem+json"; got != want {
			t.Errorf("client %d: Content-Type = %q, want %q", i, got, want)
		}
		if _, err := io.Copy(io.Discard, c); err != nil {
			t.Errorf("client %d: the connection was not closed within 10s: %v", i, err)
		}
	}
	for range clients {
		select {
		case err := <-ended:
			if err == nil {
				t.Error("an upstream read the whole body, want the request canceled")
			}
		case <-time.After(20 * time.Second):
			t.Fatal("an upstream request was still open 20s after the 408s")
		}
	}
	waitFor(t, 20*time.Second, func() bool { return open.Load() == 0 })
}

func TestServeLetsSteadyUploadsThrough(t *testing.T) {
	t.Parallel()
	// The upload lasts two stall windows with a write every fifteenth of
	// one (200ms): a loaded machine that does not run the writer, or the
	// proxy's reader, for two seconds still does not stall it.
	const stall = 3 * time.Second
	const chunks, size = 30, 1024
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		fmt.Fprint(w, len(b))
	}))
	t.Cleanup(up.Close)
	g, err := gateway.New(gateway.WithLogger(quiet), gateway.WithUpstream(upstreamOf(t, "up", up)),
		gateway.WithRoute(gateway.Route{Path: "/upload", Upstream: "up"}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Close() })
	addr := serveOn(t, gateway.ServerConfig{BodyStallTimeout: stall}, g)
	pr, pw := io.Pipe()
	go func() {
		// Longer in all than the stall window, never stalling.
		for range chunks {
			if _, err := pw.Write([]byte(strings.Repeat("u", size))); err != nil {
				return
			}
			time.Sleep(stall / 15)
		}
		pw.Close()
	}()
	req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/upload", pr)
	req.ContentLength = chunks * size
	c := &http.Client{Timeout: 30 * time.Second}
	defer c.CloseIdleConnections()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if got, want := resp.StatusCode, http.StatusOK; got != want {
		t.Fatalf("status = %d, want %d (%s)", got, want, b)
	}
	if got, want := string(b), fmt.Sprint(chunks*size); got != want {
		t.Errorf("the upstream read %s bytes, want %s", got, want)
	}
}

func TestServerConfigMistakesNameTheField(t *testing.T) {
	t.Parallel()
	p := newPKI(t, "c")
	tlsSection := "tls: {cert_file: " + filepath.Join(p.dir, "server.pem") + ", key_file: " + filepath.Join(p.dir, "server-key.pem") + "}\n"
	tests := []struct {
		name, yaml, want string
	}{
		{"a negative header timeout", "server: {read_header_timeout: -1s}", "gw.yaml:1: server.read_header_timeout: must not be negative"},
		{"a negative idle timeout", "server: {idle_timeout: -1s}", "server.idle_timeout: must not be negative"},
		{"a negative header size", "server: {max_header_bytes: -1}", "server.max_header_bytes: must not be negative"},
		{"a negative rate grace", "server: {body_rate_grace: -1s}", "server.body_rate_grace: must not be negative"},
		{"a negative body timeout", "server: {body_timeout: -1s}", "server.body_timeout: must not be negative"},
		{"a negative shutdown grace", "server: {shutdown_grace: -1s}", "server.shutdown_grace: must not be negative"},
		{"h2c with tls", tlsSection + "server:\n  h2c: true", "gw.yaml:3: server.h2c: is for a plain listener"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg, err := config.Parse("gw.yaml", []byte(tt.yaml), nil)
			if err != nil {
				t.Fatal(err)
			}
			_, err = cfg.ServerConfig()
			wantErrContaining(t, err, tt.want)
		})
	}
	t.Run("an unknown field", func(t *testing.T) {
		t.Parallel()
		_, err := config.Parse("gw.yaml", []byte("server: {h2: true}"), nil)
		wantErrContaining(t, err, "server.h2: unknown field")
	})
	t.Run("Serve refuses an invalid configuration and closes the listener", func(t *testing.T) {
		t.Parallel()
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		err = gateway.ServerConfig{IdleTimeout: -time.Second}.Serve(context.Background(), l, http.NotFoundHandler())
		wantErrContaining(t, err, "server.idle_timeout")
		if _, err := l.Accept(); !errors.Is(err, net.ErrClosed) {
			t.Errorf("Accept after Serve: %v, want net.ErrClosed", err)
		}
	})
}

func TestServerConfigDecodesTheServerSection(t *testing.T) {
	t.Parallel()
	cfg, err := config.Parse("gw.yaml", []byte(`
server:
  h2c: true
  read_header_timeout: 5s
  idle_timeout: 1m
  max_header_bytes: 65536
  body_stall_timeout: 10s
  body_min_rate: 1024
  body_rate_grace: 2s
  body_timeout: 10m
  shutdown_grace: 20s
`), nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := cfg.ServerConfig()
	if err != nil {
		t.Fatal(err)
	}
	want := gateway.ServerConfig{
		H2C:               true,
		ReadHeaderTimeout: 5 * time.Second,
		IdleTimeout:       time.Minute,
		MaxHeaderBytes:    65536,
		BodyStallTimeout:  10 * time.Second,
		BodyMinRate:       1024,
		BodyRateGrace:     2 * time.Second,
		BodyTimeout:       10 * time.Minute,
		ShutdownGrace:     20 * time.Second,
	}
	if got.TLS != nil {
		t.Error("TLS is set without a tls section")
	}
	got.BodySkip = nil
	if fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", want) {
		t.Errorf("server = %+v\nwant %+v", got, want)
	}
}
