package resilience_test

import (
	"cmp"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portico-dev/portico/resilience"
)

// upstream is a loopback server that counts requests and connections and
// records the bodies it received.
type upstream struct {
	*httptest.Server
	hits   atomic.Int64
	conns  atomic.Int64
	mu     sync.Mutex
	bodies [][]byte
}

// newUpstream starts a server whose handler gets the 1-based request
// number.
func newUpstream(t *testing.T, h func(n int64, w http.ResponseWriter, r *http.Request)) *upstream {
	t.Helper()
	u := &upstream{}
	u.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := u.hits.Add(1)
		b, _ := io.ReadAll(r.Body)
		u.mu.Lock()
		u.bodies = append(u.bodies, b)
		u.mu.Unlock()
		h(n, w, r)
	}))
	u.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			u.conns.Add(1)
		}
	}
	u.Start()
	t.Cleanup(u.Close)
	return u
}

func (u *upstream) received() [][]byte {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([][]byte(nil), u.bodies...)
}

// status answers with code.
func status(code int) func(int64, http.ResponseWriter, *http.Request) {
	return func(_ int64, w http.ResponseWriter, _ *http.Request) { w.WriteHeader(code) }
}

// failFirst answers the first n requests with code, then 200 "ok".
func failFirst(n int64, code int) func(int64, http.ResponseWriter, *http.Request) {
	return func(i int64, w http.ResponseWriter, _ *http.Request) {
		if i <= n {
			w.WriteHeader(code)
			return
		}
		io.WriteString(w, "ok")
	}
}

// reset closes the connection abruptly (RST, thanks to SetLinger(0))
// after reading the request, before answering.
func reset(_ int64, w http.ResponseWriter, _ *http.Request) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(err)
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	conn.Close()
}

// hang blocks until the client goes away.
func hang(_ int64, _ http.ResponseWriter, r *http.Request) { <-r.Context().Done() }

// closedAddr returns the address of a port that refuses connections.
func closedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// newBase returns a private http.Transport that is closed with the test.
func newBase(t *testing.T) *http.Transport {
	t.Helper()
	tr := &http.Transport{MaxIdleConnsPerHost: 16}
	t.Cleanup(tr.CloseIdleConnections)
	return tr
}

// get sends a request with a generous deadline.
func do(t *testing.T, rt http.RoundTripper, method, url string, body io.Reader, hdr ...string) (*http.Response, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	req, err := http.NewRequestWithContext(ctx, method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	return rt.RoundTrip(req)
}

// readAll reads and closes a response body.
func readAll(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading body: %v", err)
	}
	return string(b)
}

// eventually polls cond until it holds or a generous deadline passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// clock is a manual clock for breakers and budgets.
type clock struct{ ns atomic.Int64 }

func newClock() *clock {
	c := &clock{}
	c.ns.Store(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	return c
}

func (c *clock) Now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *clock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

var errCanceled = context.Canceled

// newCancelable returns a GET request for url and the function that
// cancels it.
func newCancelable(t *testing.T, url string) (*http.Request, context.CancelFunc) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	return req, cancel
}

func stringsReader(s string) io.Reader { return strings.NewReader(s) }

// inRange fails the test unless lo <= got <= hi.
func inRange[T cmp.Ordered](t *testing.T, name string, got, lo, hi T) {
	t.Helper()
	if got < lo {
		t.Errorf("%s = %v, want at least %v (and at most %v)", name, got, lo, hi)
	}
	if got > hi {
		t.Errorf("%s = %v, want at most %v (and at least %v)", name, got, hi, lo)
	}
}

// wantRetryAfter fails the test unless err carries the Retry-After hint want.
func wantRetryAfter(t *testing.T, err error, want time.Duration) {
	t.Helper()
	got, ok := resilience.RetryAfter(err)
	if !ok {
		t.Fatalf("RetryAfter(%v) found no hint, want %v", err, want)
	}
	if got != want {
		t.Errorf("RetryAfter = %v, want %v", got, want)
	}
}

// gate blocks handlers until it is opened, by the test or, if the test
// fails first, by its cleanup, so that closing the server never hangs.
type gate struct {
	ch   chan struct{}
	once sync.Once
}

func newGate() *gate { return &gate{ch: make(chan struct{})} }

func (g *gate) open() { g.once.Do(func() { close(g.ch) }) }

// wait blocks until g opens or r's client goes away.
func (g *gate) wait(r *http.Request) {
	select {
	case <-g.ch:
	case <-r.Context().Done():
	}
}
