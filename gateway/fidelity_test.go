package gateway_test

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/gateway"
	"github.com/portico-dev/portico/gateway/upstream"
	"github.com/portico-dev/portico/middleware"
)

func TestStatusHeadersAndTrailersPassThrough(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var code int
		fmt.Sscanf(strings.TrimPrefix(r.URL.Path, "/"), "%d", &code)
		w.Header().Add("Set-Cookie", "a=1")
		w.Header().Add("Set-Cookie", "b=2")
		w.Header().Add("X-Multi", "one")
		w.Header().Add("X-Multi", "two")
		w.Header().Set("Trailer", "X-Checksum")
		w.WriteHeader(code)
		io.WriteString(w, "body")
		w.Header().Set("X-Checksum", "abc123")
		w.Header().Set(http.TrailerPrefix+"X-Late", "late")
	}))
	t.Cleanup(srv.Close)
	_, gw := newGateway(t, gateway.WithUpstream(upstreamOf(t, "svc", srv)), gateway.WithRoute(gateway.Route{Prefix: "/", Upstream: "svc"}))
	for _, code := range []int{200, 201, 404, 418, 451, 500, 503, 599} {
		t.Run(fmt.Sprintf("status %d reaches the client with its headers and trailers", code), func(t *testing.T) {
			t.Parallel()
			resp, err := gw.Client().Get(fmt.Sprintf("%s/%d", gw.URL, code))
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != code {
				t.Errorf("status = %d, want %d", resp.StatusCode, code)
			}
			if string(body) != "body" {
				t.Errorf("body = %q", body)
			}
			if got := resp.Header.Values("Set-Cookie"); !slices.Equal(got, []string{"a=1", "b=2"}) {
				t.Errorf("Set-Cookie = %q", got)
			}
			if got := resp.Header.Values("X-Multi"); !slices.Equal(got, []string{"one", "two"}) {
				t.Errorf("X-Multi = %q", got)
			}
			if got := resp.Trailer.Get("X-Checksum"); got != "abc123" {
				t.Errorf("trailer X-Checksum = %q", got)
			}
			if got := resp.Trailer.Get("X-Late"); got != "late" {
				t.Errorf("undeclared trailer X-Late = %q", got)
			}
		})
	}
}

// chains are the global chains streaming is tested through: none, and
// every built-in middleware, whose response-writer wrappers must keep
// Flush and Hijack working.
var chains = []struct {
	name   string
	opt    gateway.Option
	policy gateway.Policy
}{
	{"without middleware", nil, gateway.Policy{}},
	{"through every built-in middleware and policy", gateway.WithChain("request_id", "recover", "client_ip", "telemetry", "access_log"),
		gateway.Policy{
			Timeout:  time.Minute,
			Retry:    &gateway.Retry{Attempts: 2, PerTry: time.Minute},
			Breaker:  &gateway.Breaker{},
			Bulkhead: &gateway.Bulkhead{MaxConcurrent: 8},
		}},
	{"through every limit, cache and transformation stage", gateway.WithKey("any", func(*http.Request) string { return "k" }),
		gateway.Policy{
			Lifecycle:   &gateway.Lifecycle{Deprecated: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)},
			RateLimit:   &gateway.RateLimit{Requests: 1000, Key: "any"},
			Quota:       &gateway.Quota{Limit: 1000, Key: "ip"},
			Cache:       &gateway.Cache{TTL: time.Minute},
			Idempotency: &gateway.Idempotency{},
			Transform:   &gateway.Transform{Response: middleware.HeaderRules{Set: map[string]string{"X-Via": "portico"}}},
		}},
}

func TestServerSentEventsAreNotBuffered(t *testing.T) {
	t.Parallel()
	for _, c := range chains {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			testSSE(t, c.opt, c.policy)
		})
	}
}

func testSSE(t *testing.T, chain gateway.Option, policy gateway.Policy) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, "data: first\n\n")
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
			return
		}
		io.WriteString(w, "data: second\n\n")
	}))
	t.Cleanup(srv.Close)
	_, gw := newGateway(t, chain, gateway.WithUpstream(upstreamOf(t, "sse", srv)), gateway.WithRoute(gateway.Route{Path: "/events", Upstream: "sse", Policy: policy}))

	resp, err := gw.Client().Get(gw.URL + "/events")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	first := make(chan string, 1)
	go func() {
		line, _ := br.ReadString('\n')
		first <- line
	}()
	select {
	case line := <-first:
		if line != "data: first\n" {
			t.Fatalf("first line = %q", line)
		}
	case <-time.After(10 * time.Second):
		close(release)
		t.Fatal("the first event did not arrive while the upstream held the second")
	}
	close(release)
	rest, _ := io.ReadAll(br)
	if !strings.Contains(string(rest), "data: second") {
		t.Errorf("second event missing: %q", rest)
	}
}

func TestWebSocketUpgradeEchoes(t *testing.T) {
	t.Parallel()
	for _, c := range chains {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			testWebSocket(t, c.opt, c.policy)
		})
	}
}

func testWebSocket(t *testing.T, chain gateway.Option, policy gateway.Policy) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Upgrade") != "websocket" {
			http.Error(w, "upgrade required", http.StatusUpgradeRequired)
			return
		}
		conn, rw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		io.WriteString(rw, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: test\r\n\r\n")
		rw.Flush()
		// Echo every line until the client closes.
		for {
			line, err := rw.ReadString('\n')
			if err != nil {
				return
			}
			rw.WriteString("echo: " + line)
			rw.Flush()
		}
	}))
	t.Cleanup(srv.Close)
	_, gw := newGateway(t, chain, gateway.WithUpstream(upstreamOf(t, "ws", srv)), gateway.WithRoute(gateway.Route{Path: "/ws", Upstream: "ws", Policy: policy}))

	conn, err := net.Dial("tcp", strings.TrimPrefix(gw.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	io.WriteString(conn, "GET /ws HTTP/1.1\r\nHost: gw\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("status = %d, want 101", resp.StatusCode)
	}
	for _, msg := range []string{"hello", "world"} {
		io.WriteString(conn, msg+"\n")
		got, err := br.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if got != "echo: "+msg+"\n" {
			t.Errorf("echo = %q", got)
		}
	}
}

// zeros yields n bytes without holding them.
type zeros struct{ n int64 }

func (z *zeros) Read(p []byte) (int, error) {
	if z.n <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > z.n {
		p = p[:z.n]
	}
	clear(p)
	z.n -= int64(len(p))
	return len(p), nil
}

// TestLargeUploadStreams runs alone (no t.Parallel) so the heap it
// measures is the gateway's, not other tests'.
func TestLargeUploadStreams(t *testing.T) {
	if testing.Short() {
		t.Skip("streams 1 GiB")
	}
	const size = 1 << 30
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, err := io.Copy(io.Discard, r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		fmt.Fprint(w, n)
	}))
	t.Cleanup(srv.Close)
	_, gw := newGateway(t, gateway.WithUpstream(upstreamOf(t, "sink", srv)), gateway.WithRoute(gateway.Route{Path: "/upload", Upstream: "sink"}))

	var peak uint64
	done := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		var ms runtime.MemStats
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapInuse)
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	}()
	req, _ := http.NewRequest(http.MethodPost, gw.URL+"/upload", &zeros{n: size})
	req.ContentLength = size
	resp, err := gw.Client().Do(req)
	close(done)
	<-sampled
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if string(body) != fmt.Sprint(size) {
		t.Errorf("upstream received %s bytes, want %d", body, size)
	}
	if peak > 64<<20 {
		t.Errorf("heap peaked at %d MiB, want under 64 MiB", peak>>20)
	}
	t.Logf("heap peak %.1f MiB", float64(peak)/(1<<20))
}

func TestHTTP2ToUpstreamsThatSpeakIt(t *testing.T) {
	t.Parallel()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, r.Proto)
	}))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(srv.Close)
	roots := x509.NewCertPool()
	roots.AddCert(srv.Certificate())
	pool, err := upstream.New(upstream.Config{Name: "h2", Instances: []upstream.Instance{{URL: srv.URL}},
		TLS: &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}})
	if err != nil {
		t.Fatal(err)
	}
	_, gw := newGateway(t, gateway.WithUpstream(pool), gateway.WithRoute(gateway.Route{Path: "/proto", Upstream: "h2"}))
	resp, err := gw.Client().Get(gw.URL + "/proto")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if string(body) != "HTTP/2.0" {
		t.Errorf("the upstream was reached over %q, want HTTP/2.0", body)
	}
}
