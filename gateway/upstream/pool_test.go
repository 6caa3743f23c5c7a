package upstream_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portico-dev/portico/gateway/upstream"
)

// TestNewRejectsBadConfig checks that each kind of mistake fails with a
// message naming the field.
func TestNewRejectsBadConfig(t *testing.T) {
	t.Parallel()
	ok := []upstream.Instance{{URL: "http://10.0.0.1:8080"}}
	tests := []struct {
		name string
		cfg  upstream.Config
		want string
	}{
		{"a pool needs a name", upstream.Config{Instances: ok}, "name:"},
		{"a pool needs instances or dns", upstream.Config{Name: "x"}, "instances:"},
		{"instances and dns exclude each other", upstream.Config{Name: "x", Instances: ok, DNS: &upstream.DNSConfig{Name: "a", Port: 80}}, "dns:"},
		{"an instance URL needs a scheme", upstream.Config{Name: "x", Instances: []upstream.Instance{ok[0], {URL: "10.0.0.2:8080"}}}, "instances[1].url:"},
		{"an instance URL needs a host", upstream.Config{Name: "x", Instances: []upstream.Instance{{URL: "http://"}}}, "instances[0].url:"},
		{"an instance URL takes no path", upstream.Config{Name: "x", Instances: []upstream.Instance{{URL: "http://a/v1"}}}, "instances[0].url:"},
		{"an instance URL takes no credentials", upstream.Config{Name: "x", Instances: []upstream.Instance{{URL: "http://u:p@a"}}}, "instances[0].url:"},
		{"only http and https are supported", upstream.Config{Name: "x", Instances: []upstream.Instance{{URL: "ftp://a"}}}, "instances[0].url:"},
		{"instances may not repeat", upstream.Config{Name: "x", Instances: []upstream.Instance{{URL: "http://a"}, {URL: "http://a:80"}}}, "instances[1].url:"},
		{"a weight may not be negative", upstream.Config{Name: "x", Instances: []upstream.Instance{{URL: "http://a", Weight: -1}}}, "instances[0].weight:"},
		{"an unknown balancer is named", upstream.Config{Name: "x", Instances: ok, Balancer: "fastest"}, "balancer:"},
		{"consistent hashing needs a key", upstream.Config{Name: "x", Instances: ok, Balancer: upstream.ConsistentHash}, "hash_on:"},
		{"a hash key needs consistent hashing", upstream.Config{Name: "x", Instances: ok, HashOn: upstream.HashKey{Header: "X"}}, "hash_on:"},
		{"a hash key has one source", upstream.Config{
			Name:      "x",
			Instances: ok,
			Balancer:  upstream.ConsistentHash,
			HashOn:    upstream.HashKey{Header: "X", ClientIP: true},
		}, "hash_on:"},
		{"sticky needs a cookie", upstream.Config{
			Name:      "x",
			Instances: ok,
			Balancer:  upstream.ConsistentHash,
			HashOn:    upstream.HashKey{Header: "X", Sticky: true},
		}, "hash_on.sticky:"},
		{"a health check path starts with a slash", upstream.Config{Name: "x", Instances: ok, HealthCheck: &upstream.HealthCheck{Path: "healthz"}}, "health_check.path:"},
		{"a health check interval may not be negative", upstream.Config{Name: "x", Instances: ok, HealthCheck: &upstream.HealthCheck{Interval: -time.Second}}, "health_check.interval:"},
		{"a health check timeout fits in the interval", upstream.Config{Name: "x", Instances: ok, HealthCheck: &upstream.HealthCheck{Interval: time.Second, Timeout: 2 * time.Second}}, "health_check.timeout:"},
		{"expected statuses are HTTP statuses", upstream.Config{Name: "x", Instances: ok, HealthCheck: &upstream.HealthCheck{ExpectStatus: []int{200, 700}}}, "health_check.expect_status[1]:"},
		{"ejection periods may not be negative", upstream.Config{Name: "x", Instances: ok, Outlier: &upstream.OutlierDetection{BaseEjection: -1}}, "outlier.base_ejection:"},
		{"the maximum ejection covers the base", upstream.Config{Name: "x", Instances: ok, Outlier: &upstream.OutlierDetection{BaseEjection: time.Minute, MaxEjection: time.Second}}, "outlier.max_ejection:"},
		{"the ejected share is a percentage", upstream.Config{Name: "x", Instances: ok, Outlier: &upstream.OutlierDetection{MaxEjectedPercent: 150}}, "outlier.max_ejected_percent:"},
		{"a slow threshold may not be negative", upstream.Config{Name: "x", Instances: ok, Outlier: &upstream.OutlierDetection{Slow: &upstream.SlowOutlier{Threshold: -time.Second}}}, "outlier.slow.threshold:"},
		{"a slow series may not be negative", upstream.Config{Name: "x", Instances: ok, Outlier: &upstream.OutlierDetection{Slow: &upstream.SlowOutlier{Consecutive: -1}}}, "outlier.slow.consecutive:"},
		{"a peer factor below one is refused", upstream.Config{Name: "x", Instances: ok, Outlier: &upstream.OutlierDetection{Slow: &upstream.SlowOutlier{PeerFactor: 0.5}}}, "outlier.slow.peer_factor:"},
		{"a peer factor is a number", upstream.Config{Name: "x", Instances: ok, Outlier: &upstream.OutlierDetection{Slow: &upstream.SlowOutlier{PeerFactor: math.NaN()}}}, "outlier.slow.peer_factor:"},
		{"outlier detection needs a criterion", upstream.Config{Name: "x", Instances: ok, Outlier: &upstream.OutlierDetection{Consecutive5xx: -1, ConsecutiveConnErrors: -1}}, "outlier:"},
		{"dns needs a name", upstream.Config{Name: "x", DNS: &upstream.DNSConfig{Port: 80}}, "dns.name:"},
		{"dns A records need a port", upstream.Config{Name: "x", DNS: &upstream.DNSConfig{Name: "api"}}, "dns.port:"},
		{"dns SRV records carry their port", upstream.Config{Name: "x", DNS: &upstream.DNSConfig{Name: "_http._tcp.api", SRV: true, Port: 80}}, "dns.port:"},
		{"dns scheme is http or https", upstream.Config{Name: "x", DNS: &upstream.DNSConfig{Name: "api", Port: 80, Scheme: "grpc"}}, "dns.scheme:"},
		{"transport and tls exclude each other", upstream.Config{
			Name:      "x",
			Instances: ok,
			Transport: http.DefaultTransport,
			TLS:       newTLSConfig(),
		}, "tls:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, err := upstream.New(tt.cfg)
			if err == nil {
				p.Close()
				t.Fatal("New accepted the config")
			}
			if !strings.HasPrefix(err.Error(), tt.want) {
				t.Fatalf("error %q, want it to start with %q", err, tt.want)
			}
		})
	}
}

// TestRoundTripRewritesOnlySchemeAndHost checks the outgoing request: the
// path and query are kept, Host is the instance's unless the caller
// overrode it, and the caller's request is left untouched.
func TestRoundTripRewritesOnlySchemeAndHost(t *testing.T) {
	t.Parallel()
	a := newBackend(t, "a")
	p := newPool(t, upstream.Config{Instances: []upstream.Instance{{URL: a.url()}}})
	tests := []struct {
		name     string
		host     string // req.Host to set; "-" keeps what NewRequest set
		wantHost string
	}{
		{"a Host equal to the URL's placeholder becomes the instance's", "-", a.hostPort()},
		{"an empty Host becomes the instance's", "", a.hostPort()},
		{"an overridden Host is kept", "api.example.com", "api.example.com"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, "http://api-pool/v1/items?id=7&q=a%20b", nil)
			if tt.host != "-" {
				req.Host = tt.host
			}
			before := req.URL.String() + " " + req.Host
			resp, err := p.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if got := resp.Header.Get("X-Seen-URI"); got != "/v1/items?id=7&q=a%20b" {
				t.Errorf("instance saw %q", got)
			}
			if got := resp.Header.Get("X-Seen-Host"); got != tt.wantHost {
				t.Errorf("instance saw Host %q, want %q", got, tt.wantHost)
			}
			if after := req.URL.String() + " " + req.Host; after != before {
				t.Errorf("caller's request changed from %q to %q", before, after)
			}
		})
	}
}

// TestUpgradeKeepsTheConnection checks that a 101 response's body is the
// raw connection, writable, as httputil.ReverseProxy needs for WebSocket.
func TestUpgradeKeepsTheConnection(t *testing.T) {
	t.Parallel()
	echo := newBackendWith(t, "echo", func(w http.ResponseWriter, r *http.Request) {
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n")
		brw.Flush()
		line, _ := brw.ReadString('\n')
		brw.WriteString(line)
		brw.Flush()
	})
	p := newPool(t, upstream.Config{Instances: []upstream.Instance{{URL: echo.url()}}})
	req, _ := http.NewRequest(http.MethodGet, "http://pool/ws", nil)
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", "echo")
	resp, err := p.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	rw, ok := resp.Body.(io.ReadWriteCloser)
	if got, want := resp.StatusCode, http.StatusSwitchingProtocols; got != want {
		t.Fatalf("status %d, want %d", got, want)
	}
	if !ok {
		t.Fatalf("body %T, want an io.ReadWriteCloser", resp.Body)
	}
	io.WriteString(rw, "ping\n")
	if line, _ := bufio.NewReader(rw).ReadString('\n'); line != "ping\n" {
		t.Fatalf("echo %q", line)
	}
	if s := p.Status()[0]; s.InFlight != 0 {
		t.Errorf("in flight %d after an upgrade, want 0", s.InFlight)
	}
}

// TestConcurrentPicksWhileDiscoveryChanges runs picks from many
// goroutines while DNS discovery swaps the instances and outlier
// detection ejects, for the race detector; every request must be served.
func TestConcurrentPicksWhileDiscoveryChanges(t *testing.T) {
	t.Parallel()
	for _, bal := range upstream.Balancers() {
		t.Run(string(bal), func(t *testing.T) {
			t.Parallel()
			a, b, c := newBackend(t, "a"), newBackend(t, "b"), newBackend(t, "c")
			c.status.Store(http.StatusInternalServerError)
			res := &fakeResolver{}
			all := []*backend{a, b, c}
			res.setSRV(nil, srvFor(t, a, 0, 1), srvFor(t, b, 0, 2), srvFor(t, c, 0, 1))
			cfg := upstream.Config{
				DNS: &upstream.DNSConfig{
					Name:     "_http._tcp.api.test",
					SRV:      true,
					Resolver: res,
					Interval: time.Millisecond,
				},
				Balancer:    bal,
				Outlier:     &upstream.OutlierDetection{Consecutive5xx: 1, BaseEjection: time.Millisecond},
				HealthCheck: &upstream.HealthCheck{Path: "/healthz", Interval: 5 * time.Millisecond, Timeout: 5 * time.Millisecond},
			}
			if bal == upstream.ConsistentHash {
				cfg.HashOn = upstream.HashKey{Header: "X-User"}
			}
			p := newPool(t, cfg)
			p.Start(t.Context())
			// One goroutine changes the DNS answer and reads the status
			// while four send requests.
			stop := make(chan struct{})
			var churn sync.WaitGroup
			churn.Go(func() {
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					case <-time.After(time.Millisecond):
					}
					var recs []*net.SRV
					for j, bk := range all[:2+i%2] {
						recs = append(recs, srvFor(t, bk, 0, uint16(1+j)))
					}
					res.setSRV(nil, recs...)
					p.Status()
					p.Ready()
				}
			})
			var workers sync.WaitGroup
			for w := range 4 {
				workers.Go(func() {
					for i := range 100 {
						key := fmt.Sprintf("user-%d-%d", w, i%10)
						if _, resp, err := get(p, "/", "X-User", key); resp == nil {
							t.Errorf("request refused: %v", err)
							return
						}
					}
				})
			}
			workers.Wait()
			close(stop)
			churn.Wait()
		})
	}
}

// TestCloseStopsGoroutines starts health checks and discovery, closes the
// pool, and relies on goleak (TestMain) and on Close returning; Close and
// Start after Close do nothing.
func TestCloseStopsGoroutines(t *testing.T) {
	t.Parallel()
	a := newBackend(t, "a")
	res := &fakeResolver{}
	res.setSRV(nil, srvFor(t, a, 0, 1))
	p, err := upstream.New(upstream.Config{
		Name: "x",
		DNS: &upstream.DNSConfig{
			Name:     "_http._tcp.a",
			SRV:      true,
			Resolver: res,
			Interval: time.Millisecond,
		},
		HealthCheck: &upstream.HealthCheck{Interval: time.Millisecond, Timeout: time.Millisecond},
	})
	if err != nil {
		t.Fatal(err)
	}
	p.Start(context.Background())
	waitFor(t, "some lookups", func() bool { return res.lookups.Load() > 3 })
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	n := res.lookups.Load()
	p.Close()
	p.Start(context.Background())
	time.Sleep(20 * time.Millisecond)
	if got := res.lookups.Load(); got != n {
		t.Fatalf("%d lookups after Close", got-n)
	}
	// A closed pool still serves with its last instances.
	name, _, err := get(p, "/")
	if err != nil {
		t.Fatalf("closed pool: %v", err)
	}
	if got, want := name, "a"; got != want {
		t.Fatalf("closed pool served by %q, want %q", got, want)
	}
}

// TestStartStopsWithItsContext checks that canceling Start's context stops
// the goroutines as Close does.
func TestStartStopsWithItsContext(t *testing.T) {
	t.Parallel()
	res := &fakeResolver{}
	res.set(nil, "127.0.0.1")
	p := newPool(t, upstream.Config{DNS: &upstream.DNSConfig{
		Name:     "a",
		Port:     1,
		Resolver: res,
		Interval: time.Millisecond,
	}})
	ctx, cancel := context.WithCancel(context.Background())
	p.Start(ctx)
	waitFor(t, "some lookups", func() bool { return res.lookups.Load() > 3 })
	cancel()
	var n int64
	waitFor(t, "lookups to stop", func() bool {
		n = res.lookups.Load()
		time.Sleep(20 * time.Millisecond)
		return res.lookups.Load() == n
	})
}

// TestNoInstanceError checks that the error wraps ErrNoInstance and names
// the pool, and that the request body is closed.
func TestNoInstanceError(t *testing.T) {
	t.Parallel()
	res := &fakeResolver{}
	p := newPool(t, upstream.Config{Name: "orders", DNS: &upstream.DNSConfig{Name: "a", Port: 80, Resolver: res}})
	body := &closeRecorder{Reader: strings.NewReader("x")}
	req, _ := http.NewRequest(http.MethodPost, "http://orders/", body)
	_, err := p.RoundTrip(req)
	if !errors.Is(err, upstream.ErrNoInstance) {
		t.Fatalf("error %v, want ErrNoInstance", err)
	}
	if !strings.Contains(err.Error(), `"orders"`) {
		t.Errorf("error %v does not name the pool", err)
	}
	if !body.closed {
		t.Error("request body not closed")
	}
}

type closeRecorder struct {
	io.Reader
	closed bool
}

func (c *closeRecorder) Close() error { c.closed = true; return nil }

// TestTrackAttemptsAvoidsTriedInstances checks that successive round
// trips under one tracking context go to instances not yet tried, even
// when the hash key points at the same one, and fall back to tried ones
// when none is left.
func TestTrackAttemptsAvoidsTriedInstances(t *testing.T) {
	t.Parallel()
	a, b, c := newBackend(t, "a"), newBackend(t, "b"), newBackend(t, "c")
	p := newPool(t, upstream.Config{
		Instances: []upstream.Instance{{URL: a.url()}, {URL: b.url()}, {URL: c.url()}},
		Balancer:  upstream.ConsistentHash,
		HashOn:    upstream.HashKey{Header: "X-User"},
	})
	send := func(ctx context.Context) string {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://pool/", nil)
		req.Header.Set("X-User", "ann")
		resp, err := p.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.Header.Get("X-Instance")
	}
	untracked := send(context.Background())
	for range 3 {
		if got := send(context.Background()); got != untracked {
			t.Fatalf("without tracking, the key moved from %s to %s", untracked, got)
		}
	}
	ctx := upstream.TrackAttempts(context.Background())
	if upstream.TrackAttempts(ctx) != ctx {
		t.Fatal("TrackAttempts on a tracked context should return it unchanged")
	}
	seen := map[string]bool{}
	for i := range 3 {
		name := send(ctx)
		if seen[name] {
			t.Fatalf("attempt %d went to %s again although an untried instance remained", i+1, name)
		}
		seen[name] = true
	}
	if name := send(ctx); name == "" {
		t.Fatal("with every instance tried, the pool must still pick one")
	}
	if first := send(upstream.TrackAttempts(context.Background())); first != untracked {
		t.Errorf("a new request's first attempt went to %s, want the key's instance %s", first, untracked)
	}
}
