package upstream_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portico-dev/portico/gateway/upstream"
)

// backend is a loopback upstream instance that names itself in every
// response and can be told to fail.
type backend struct {
	name   string
	srv    *httptest.Server
	hits   atomic.Int64
	status atomic.Int64 // status for non-health requests; 0 means 200
	health atomic.Int64 // status for /healthz; 0 means 200
	// checkHost is the Host header of the last health check.
	checkHost atomic.Value
}

func newBackend(t *testing.T, name string) *backend {
	t.Helper()
	return newBackendWith(t, name, nil)
}

// newBackendWith is newBackend with a handler for every request but the
// health check.
func newBackendWith(t *testing.T, name string, h http.HandlerFunc) *backend {
	t.Helper()
	b := &backend{name: name}
	b.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" {
			b.checkHost.Store(r.Host)
			if s := b.health.Load(); s != 0 {
				w.WriteHeader(int(s))
			}
			return
		}
		b.hits.Add(1)
		w.Header().Set("X-Instance", b.name)
		if h != nil {
			h(w, r)
			return
		}
		w.Header().Set("X-Seen-Host", r.Host)
		w.Header().Set("X-Seen-URI", r.RequestURI)
		if s := b.status.Load(); s != 0 {
			w.WriteHeader(int(s))
		}
		io.WriteString(w, b.name)
	}))
	t.Cleanup(b.srv.Close)
	return b
}

func (b *backend) url() string { return b.srv.URL }

// hostPort returns the backend's listening address.
func (b *backend) hostPort() string { return strings.TrimPrefix(b.srv.URL, "http://") }

// newPool builds a pool and closes it at the end of the test.
func newPool(t *testing.T, cfg upstream.Config) *upstream.Pool {
	t.Helper()
	if cfg.Name == "" {
		cfg.Name = "test"
	}
	p, err := upstream.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// get sends a GET through rt and returns the name of the instance that
// answered, or an error.
func get(rt http.RoundTripper, path string, header ...string) (string, *http.Response, error) {
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, "http://pool"+path, nil)
	if err != nil {
		return "", nil, err
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Add(header[i], header[i+1])
	}
	resp, err := rt.RoundTrip(req)
	if err != nil {
		return "", nil, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode >= 500 {
		return resp.Header.Get("X-Instance"), resp, fmt.Errorf("status %d", resp.StatusCode)
	}
	return resp.Header.Get("X-Instance"), resp, nil
}

// waitFor polls cond until it holds or a generous deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// status returns the status of the instance with the given URL.
func status(t *testing.T, p *upstream.Pool, url string) upstream.InstanceStatus {
	t.Helper()
	for _, s := range p.Status() {
		if s.URL == url {
			return s
		}
	}
	t.Fatalf("no instance %s in %+v", url, p.Status())
	return upstream.InstanceStatus{}
}

// fakeClock is a settable clock.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// fakeResolver answers from settable records and counts lookups.
type fakeResolver struct {
	mu      sync.Mutex
	ips     []net.IPAddr
	srv     []*net.SRV
	err     error
	lookups atomic.Int64
}

func (r *fakeResolver) set(err error, ips ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.err = err
	if err != nil {
		return
	}
	r.ips = r.ips[:0]
	for _, ip := range ips {
		r.ips = append(r.ips, net.IPAddr{IP: net.ParseIP(ip)})
	}
}

func (r *fakeResolver) setSRV(err error, records ...*net.SRV) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.err = err
	if err == nil {
		r.srv = records
	}
}

func (r *fakeResolver) LookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, error) {
	defer r.lookups.Add(1)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil {
		return nil, r.err
	}
	return append([]net.IPAddr(nil), r.ips...), nil
}

func (r *fakeResolver) LookupSRV(ctx context.Context, service, proto, name string) (string, []*net.SRV, error) {
	defer r.lookups.Add(1)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil {
		return "", nil, r.err
	}
	return name, append([]*net.SRV(nil), r.srv...), nil
}

// srvFor returns an SRV record pointing at a backend.
func srvFor(t *testing.T, b *backend, priority, weight uint16) *net.SRV {
	t.Helper()
	host, port, err := net.SplitHostPort(b.hostPort())
	if err != nil {
		t.Fatal(err)
	}
	var p uint16
	fmt.Sscan(port, &p)
	return &net.SRV{
		Target:   host + ".",
		Port:     p,
		Priority: priority,
		Weight:   weight,
	}
}

// dialMap returns a transport that dials the backends under fixed names
// ("b0.test:80", "b1.test:80", ...), so that tests whose outcome depends on
// instance keys (the hash ring) see the same keys on every run. It returns
// the instances under those names.
func dialMap(t *testing.T, backends []*backend, weights []int) (*http.Transport, []upstream.Instance) {
	t.Helper()
	addrs := make(map[string]string, len(backends))
	instances := make([]upstream.Instance, len(backends))
	for i, b := range backends {
		name := fmt.Sprintf("b%d.test:80", i)
		addrs[name] = b.hostPort()
		instances[i] = upstream.Instance{URL: "http://" + name, Weight: weights[i]}
	}
	tr := upstream.NewTransport(nil)
	var d net.Dialer
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		real, ok := addrs[addr]
		if !ok {
			return nil, fmt.Errorf("dialMap: unknown address %s", addr)
		}
		return d.DialContext(ctx, network, real)
	}
	t.Cleanup(tr.CloseIdleConnections)
	return tr, instances
}

// newTLSConfig returns an empty client TLS configuration.
func newTLSConfig() *tls.Config { return &tls.Config{MinVersion: tls.VersionTLS12} }
