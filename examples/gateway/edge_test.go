package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// The edge conformance suite: black-box probes of the example gateway,
// started by run with its own configuration, over raw sockets, so that
// nothing between the probe and the gateway cleans or escapes what is
// sent. Each probe asserts its exact outcome: the status, and for a
// request that must be forwarded, what the upstream received; for one
// that must not, that the upstream never saw it.

const edgeSecret = "the private secret"

// edgeConfig routes to two upstreams: files (http.FileServer over
// public/hello.txt and private/secret.txt) and echo, which describes the
// request it received.
const edgeConfig = `
middleware: [request_id, recover, client_ip, telemetry, access_log]
consumers:
  - id: alice
    api_keys: [{id: a1, secret: alice-key}]
upstreams:
  - {name: files, instances: [{url: "FILES"}]}
  - {name: echo, instances: [{url: "ECHO"}]}
routes:
  - {name: public, prefix: /api/public, strip_prefix: /api, upstream: files}
  - {name: private, prefix: /api/private, strip_prefix: /api, upstream: files, policy: {auth: {}}}
  - {name: file, path: "/f/{name}", rewrite: "/public/{name}", upstream: files}
  - {name: users, path: /api/users, upstream: echo}
  - {name: echo, prefix: /echo, upstream: echo}
`

// received is what an upstream saw of one probe.
type received struct {
	URI    string      `json:"uri"`
	Host   string      `json:"host"`
	Header http.Header `json:"header"`
}

// edge is a running example gateway and what its upstreams received,
// by the X-Probe header each probe sends.
type edge struct {
	addr     string
	echoHost string
	mu       sync.Mutex
	seen     map[string]received
}

func (e *edge) record(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.mu.Lock()
		e.seen[r.Header.Get("X-Probe")] = received{URI: r.RequestURI, Host: r.Host, Header: r.Header.Clone()}
		e.mu.Unlock()
		next.ServeHTTP(w, r)
	})
}

func (e *edge) received(id string) (received, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	r, ok := e.seen[id]
	return r, ok
}

// startEdge starts the upstreams and the example gateway, stopped when
// the test ends.
func startEdge(t *testing.T) *edge {
	t.Helper()
	e := &edge{seen: map[string]received{}}
	dir := t.TempDir()
	for name, body := range map[string]string{"public/hello.txt": "hello", "private/secret.txt": edgeSecret} {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	files := httptest.NewServer(e.record(http.FileServer(http.Dir(dir))))
	t.Cleanup(files.Close)
	echo := httptest.NewServer(e.record(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(received{URI: r.RequestURI, Host: r.Host})
	})))
	t.Cleanup(echo.Close)
	e.echoHost = echo.Listener.Addr().String()

	cfg := filepath.Join(t.TempDir(), "edge.yaml")
	yaml := strings.NewReplacer("FILES", files.URL, "ECHO", echo.URL).Replace(edgeConfig)
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	addrs := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-config", cfg, "-addr", "127.0.0.1:0", "-admin-addr", "127.0.0.1:0", "-log-level", "error"},
			io.Discard, func(string) (string, bool) { return "", false }, func(p, _ net.Addr) { addrs <- p })
	}()
	select {
	case a := <-addrs:
		e.addr = a.String()
	case err := <-done:
		cancel()
		t.Fatalf("run: %v", err)
	case <-time.After(30 * time.Second):
		cancel()
		t.Fatal("the gateway did not start")
	}
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("run: %v", err)
		}
	})
	return e
}

// probe is one raw request and its expected outcome.
type probe struct {
	name string
	// line is the request line, such as "GET /api/users HTTP/1.1".
	line string
	// header holds raw header lines. "Host: edge.test", "Connection:
	// close" and "X-Probe" are added, Host only unless noHost or a Host
	// line is given.
	header []string
	noHost bool
	// status is the expected response status.
	status int
	// forward is what the upstream must receive as the request target;
	// "" means the request must not reach any upstream.
	forward string
	// host is the Host the upstream must receive: "echo" for the echo
	// upstream's own address. Checked only with forward.
	host string
	// saw, if set, is a header name and the one value the upstream must
	// receive for it. Checked only with forward.
	saw [2]string
	// payload is the request body, written after the header.
	payload string
	// want, if set, must be in the response body.
	want string
}

// send writes p on a new connection and reads the response.
func (e *edge) send(t *testing.T, id string, p probe) (*http.Response, string) {
	t.Helper()
	var b strings.Builder
	b.WriteString(p.line + "\r\n")
	hasHost := false
	for _, h := range p.header {
		hasHost = hasHost || strings.HasPrefix(strings.ToLower(h), "host:")
		b.WriteString(h + "\r\n")
	}
	if !hasHost && !p.noHost {
		b.WriteString("Host: edge.test\r\n")
	}
	b.WriteString("X-Probe: " + id + "\r\nConnection: close\r\n\r\n" + p.payload)
	return e.sendRaw(t, b.String())
}

// sendRaw writes raw on a new connection, from another goroutine so that
// a large request cannot block the read of an early response.
func (e *edge) sendRaw(t *testing.T, raw string) (*http.Response, string) {
	t.Helper()
	conn, err := net.Dial("tcp", e.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	wrote := make(chan struct{})
	go func() {
		defer close(wrote)
		_, _ = io.WriteString(conn, raw) // the gateway may answer and close first
	}()
	defer func() { <-wrote }()
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("reading the response: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

// check sends p and asserts its outcome.
func (e *edge) check(t *testing.T, id string, p probe) {
	t.Helper()
	resp, body := e.send(t, id, p)
	t.Logf("%s: status %d", p.line, resp.StatusCode)
	if got, want := resp.StatusCode, p.status; got != want {
		t.Errorf("status = %d, want %d (body %.200q)", got, want, body)
	}
	if p.want != "" && !strings.Contains(body, p.want) {
		t.Errorf("body %.200q does not hold %q", body, p.want)
	}
	if strings.Contains(body, edgeSecret) && !strings.Contains(strings.Join(p.header, "\n"), "alice-key") {
		t.Errorf("the private secret came back without a key")
	}
	got, reached := e.received(id)
	if p.forward == "" {
		if reached {
			t.Errorf("the upstream received the request as %q; want it not to", got.URI)
		}
		return
	}
	if !reached {
		t.Fatalf("the upstream did not receive the request; want %q", p.forward)
	}
	if got.URI != p.forward {
		t.Errorf("the upstream received %q, want %q", got.URI, p.forward)
	}
	if p.host == "echo" && got.Host != e.echoHost {
		t.Errorf("the upstream received Host %q, want its own address %q", got.Host, e.echoHost)
	}
	if name := p.saw[0]; name != "" {
		if got, want := got.Header.Values(name), []string{p.saw[1]}; !slices.Equal(got, want) {
			t.Errorf("the upstream received %s %q, want %q", name, got, want)
		}
	}
}

func TestEdgeConformance(t *testing.T) {
	t.Parallel()
	e := startEdge(t)
	const key = "X-API-Key: alice-key"
	probes := []probe{
		// Paths: dot segments and their encodings.
		{
			name:    "the public file is served",
			line:    "GET /api/public/hello.txt HTTP/1.1",
			status:  200,
			forward: "/public/hello.txt",
			want:    "hello",
		},
		{name: "the private file needs a key", line: "GET /api/private/secret.txt HTTP/1.1", status: 401},
		{
			name:    "the private file is served with a key",
			line:    "GET /api/private/secret.txt HTTP/1.1",
			header:  []string{key},
			status:  200,
			forward: "/private/secret.txt",
			want:    edgeSecret,
		},
		{name: "dot segments resolve to the private route", line: "GET /api/public/../private/secret.txt HTTP/1.1", status: 401},
		{
			name:    "dot segments with a key are forwarded resolved",
			line:    "GET /api/public/../private/secret.txt HTTP/1.1",
			header:  []string{key},
			status:  200,
			forward: "/private/secret.txt",
		},
		{
			name:    "single dots are dropped",
			line:    "GET /api/./users HTTP/1.1",
			status:  200,
			forward: "/api/users",
			host:    "echo",
		},
		{
			name:    "double dots above the root stop at the root",
			line:    "GET /../../api/users HTTP/1.1",
			status:  200,
			forward: "/api/users",
		},
		{name: "escaped double dots are refused", line: "GET /api/public/%2e%2e/private/secret.txt HTTP/1.1", status: 400},
		{name: "upper-case escaped double dots are refused", line: "GET /api/public/%2E%2E/private/secret.txt HTTP/1.1", status: 400},
		{name: "a half-escaped double dot is refused", line: "GET /api/public/.%2e/private/secret.txt HTTP/1.1", status: 400},
		{name: "an escaped slash is refused", line: "GET /api/public/..%2fprivate/secret.txt HTTP/1.1", status: 400},
		{name: "an escaped backslash is refused", line: "GET /api/public/..%5cprivate/secret.txt HTTP/1.1", status: 400},
		{name: "a backslash is refused", line: `GET /api/public/..\private\secret.txt HTTP/1.1`, status: 400},
		{name: "a template parameter holding an escaped traversal is refused", line: "GET /f/..%2fprivate%2fsecret.txt HTTP/1.1", status: 400},
		{
			name:    "a double-escaped traversal stays data in one segment",
			line:    "GET /f/..%252fprivate%252fsecret.txt HTTP/1.1",
			status:  404,
			forward: "/public/..%252fprivate%252fsecret.txt",
		},
		{name: "a dot segment with parameters is refused", line: "GET /api/public/..;/private/secret.txt HTTP/1.1", status: 400},
		{name: "an escaped NUL is refused", line: "GET /echo/a%00b HTTP/1.1", status: 400},
		{name: "an escaped line feed is refused", line: "GET /echo/a%0d%0aX-Injected:%201 HTTP/1.1", status: 400},
		{
			name:    "an escaped letter is decoded",
			line:    "GET /api/%75sers HTTP/1.1",
			status:  200,
			forward: "/api/users",
		},
		{
			name:    "other escapes are kept with upper-case hex",
			line:    "GET /echo/a%3bb%c3%a9 HTTP/1.1",
			status:  200,
			forward: "/echo/a%3Bb%C3%A9",
		},
		{
			name:    "the query is forwarded as sent",
			line:    "GET /echo/./q?a=%2e%2e&b=../x HTTP/1.1",
			status:  200,
			forward: "/echo/q?a=%2e%2e&b=../x",
		},
		// Double slashes.
		{
			name:    "double slashes are merged",
			line:    "GET //api//users HTTP/1.1",
			status:  200,
			forward: "/api/users",
		},
		{name: "double slashes cannot skip the private route", line: "GET /api/public//..//private/secret.txt HTTP/1.1", status: 401},
		// Case: paths are case-sensitive.
		{name: "an upper-case prefix matches no route", line: "GET /API/users HTTP/1.1", status: 404},
		{name: "an upper-case segment matches no route", line: "GET /api/USERS HTTP/1.1", status: 404},
		// ';' parameters belong to their segment.
		{name: "a parameter keeps a path from matching an exact route", line: "GET /api/users;x=1 HTTP/1.1", status: 404},
		{
			name:    "a parameter is forwarded under a prefix route",
			line:    "GET /echo/users;x=1 HTTP/1.1",
			status:  200,
			forward: "/echo/users;x=1",
		},
		// Request-target forms.
		{
			name:    "an absolute-form target goes to the route's upstream, not its host",
			line:    "GET http://evil.example/echo/x HTTP/1.1",
			status:  200,
			forward: "/echo/x",
			host:    "echo",
		},
		{
			name:    "an absolute-form target with a port goes to the route's upstream",
			line:    "GET http://127.0.0.1:1/echo/x HTTP/1.1",
			status:  200,
			forward: "/echo/x",
			host:    "echo",
		},
		{name: "an absolute-form target without a path is the root", line: "GET http://evil.example HTTP/1.1", status: 404},
		{name: "an asterisk target outside OPTIONS is refused", line: "GET * HTTP/1.1", status: 400},
		{name: "OPTIONS * is answered by the server itself", line: "OPTIONS * HTTP/1.1", status: 200},
		{
			name:   "CONNECT in authority form is not tunnelled",
			line:   "CONNECT evil.example:443 HTTP/1.1",
			header: []string{"Host: evil.example:443"},
			status: 501,
		},
		{name: "CONNECT in origin form is not tunnelled", line: "CONNECT /echo/x HTTP/1.1", status: 501},
		{
			name:   "TRACE is not served",
			line:   "TRACE /echo/x HTTP/1.1",
			header: []string{"Cookie: session=s3cret"},
			status: 501,
		},
		// Malformed headers.
		{
			name:   "a CR in a header value is refused",
			line:   "GET /echo/x HTTP/1.1",
			header: []string{"X-A: a\rb"},
			status: 400,
		},
		{
			name:   "a NUL in a header value is refused",
			line:   "GET /echo/x HTTP/1.1",
			header: []string{"X-A: a\x00b"},
			status: 400,
		},
		{
			name:   "a NUL in a header name is refused",
			line:   "GET /echo/x HTTP/1.1",
			header: []string{"X-\x00A: b"},
			status: 400,
		},
		{
			name:   "a space in a header name is refused",
			line:   "GET /echo/x HTTP/1.1",
			header: []string{"X A: b"},
			status: 400,
		},
		{
			name:    "a folded header line is unfolded with a space (RFC 9112 §5.2)",
			line:    "GET /echo/x HTTP/1.1",
			header:  []string{"X-A: a", " b"},
			status:  200,
			forward: "/echo/x",
			saw:     [2]string{"X-A", "a b"},
		},
		{
			name:    "Transfer-Encoding overrides Content-Length (RFC 9112 §6.1)",
			line:    "POST /echo/x HTTP/1.1",
			header:  []string{"Content-Length: 30", "Transfer-Encoding: chunked"},
			payload: "0\r\n\r\n",
			status:  200,
			forward: "/echo/x",
		},
		{
			name:    "an unknown Transfer-Encoding is refused",
			line:    "POST /echo/x HTTP/1.1",
			header:  []string{"Transfer-Encoding: gzip, chunked"},
			payload: "0\r\n\r\n",
			status:  501,
		},
		{
			name:   "two different Content-Lengths are refused",
			line:   "POST /echo/x HTTP/1.1",
			header: []string{"Content-Length: 1", "Content-Length: 2"},
			status: 400,
		},
		// Host.
		{
			name:   "a missing Host on HTTP/1.1 is refused",
			line:   "GET /echo/x HTTP/1.1",
			noHost: true,
			status: 400,
		},
		{
			name:    "a missing Host on HTTP/1.0 is served",
			line:    "GET /echo/x HTTP/1.0",
			noHost:  true,
			status:  200,
			forward: "/echo/x",
			host:    "echo",
		},
		{
			name:   "two Host headers are refused",
			line:   "GET /echo/x HTTP/1.1",
			header: []string{"Host: a.example", "Host: b.example"},
			status: 400,
		},
		{
			name:   "a Host with a space is refused",
			line:   "GET /echo/x HTTP/1.1",
			header: []string{"Host: a b"},
			status: 400,
		},
		{
			name:    "a Host with an out-of-range port is served with the upstream's own Host",
			line:    "GET /echo/x HTTP/1.1",
			header:  []string{"Host: evil:99999"},
			status:  200,
			forward: "/echo/x",
			host:    "echo",
		},
		{
			name:    "an empty Host is served with the upstream's own Host",
			line:    "GET /echo/x HTTP/1.1",
			header:  []string{"Host:"},
			status:  200,
			forward: "/echo/x",
			host:    "echo",
		},
		{
			name:    "a foreign Host is served with the upstream's own Host",
			line:    "GET /echo/x HTTP/1.1",
			header:  []string{"Host: evil.example"},
			status:  200,
			forward: "/echo/x",
			host:    "echo",
		},
	}
	for i, p := range probes {
		t.Run(p.name, func(t *testing.T) {
			t.Parallel()
			e.check(t, strconv.Itoa(i), p)
		})
	}
	t.Run("oversized headers are refused with 431", func(t *testing.T) {
		t.Parallel()
		resp, _ := e.sendRaw(t, "GET /echo/x HTTP/1.1\r\nHost: edge.test\r\nX-Probe: big\r\nX-Big: "+
			strings.Repeat("a", 1<<20+8<<10)+"\r\n\r\n")
		t.Logf("oversized headers: status %d", resp.StatusCode)
		if got, want := resp.StatusCode, http.StatusRequestHeaderFieldsTooLarge; got != want {
			t.Errorf("status = %d, want %d", got, want)
		}
		if _, ok := e.received("big"); ok {
			t.Error("the upstream received the request")
		}
	})
}

// TestEdgeClientIPHeaders probes client-IP headers sent by a peer that is
// not a trusted proxy: none may reach the upstream as sent.
func TestEdgeClientIPHeaders(t *testing.T) {
	t.Parallel()
	e := startEdge(t)
	const spoofed = "203.0.113.66"
	headers := []string{"X-Forwarded-For", "X-Real-IP", "True-Client-IP", "Forwarded"}
	var lines []string
	for _, h := range headers {
		v := spoofed
		if h == "Forwarded" {
			v = "for=" + spoofed
		}
		lines = append(lines, h+": "+v)
	}
	lines = append(lines, "X-Forwarded-Host: evil.example", "X-Forwarded-Proto: https")
	e.check(t, "ip", probe{
		line:    "GET /echo/ip HTTP/1.1",
		header:  lines,
		status:  200,
		forward: "/echo/ip",
		host:    "echo",
	})
	got, _ := e.received("ip")
	for _, h := range headers {
		t.Run(h+" does not reach the upstream as sent", func(t *testing.T) {
			for _, v := range got.Header.Values(h) {
				if strings.Contains(v, spoofed) {
					t.Errorf("%s = %q reached the upstream", h, v)
				}
			}
		})
	}
	t.Run("X-Forwarded-For names the peer", func(t *testing.T) {
		if got, want := got.Header.Get("X-Forwarded-For"), "127.0.0.1"; got != want {
			t.Errorf("X-Forwarded-For = %q, want %q", got, want)
		}
	})
	t.Run("X-Forwarded-Proto is the gateway's", func(t *testing.T) {
		if got, want := got.Header.Get("X-Forwarded-Proto"), "http"; got != want {
			t.Errorf("X-Forwarded-Proto = %q, want %q", got, want)
		}
	})
	t.Run("X-Forwarded-Host is the Host the client used", func(t *testing.T) {
		if got, want := got.Header.Get("X-Forwarded-Host"), "edge.test"; got != want {
			t.Errorf("X-Forwarded-Host = %q, want %q", got, want)
		}
	})
}
