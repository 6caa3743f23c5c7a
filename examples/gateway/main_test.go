package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/portico-dev/portico/gateway"
	"github.com/portico-dev/portico/gateway/config"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestExampleConfigLoads(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("gateway.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	services := &lazyDemo{logger: slog.New(slog.DiscardHandler), env: func(string) (string, bool) { return "", false }}
	defer services.close()
	c, err := config.Parse("gateway.example.yaml", data, services.lookup)
	if err != nil {
		t.Fatal(err)
	}
	g, err := c.Build()
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	if _, err := c.ServerConfig(); err != nil {
		t.Errorf("the server section: %v", err)
	}
	routes := map[string][]string{}
	kinds := map[string]int{}
	for _, r := range g.Routes() {
		routes[r.Name] = r.Chain
		kinds[r.Kind]++
	}
	for kind, want := range map[string]int{
		"route":  10, // 7 routes and the 3 operations of the petstore API
		"ai":     5,  // chat completions, embeddings, models, a model, messages
		"prompt": 1,
	} {
		if kinds[kind] != want {
			t.Errorf("endpoints of kind %s = %d, want %d", kind, kinds[kind], want)
		}
	}
	for name, want := range map[string]string{
		"users": "request_id recover client_ip telemetry access_log lifecycle(deprecated=2026-06-01, sunset=2027-06-01) " +
			"auth(api_key, corp-sso, partner-tokens) authorize(all: orders:read) identity rate_limit(100/1m0s, key=consumer, plans=gold) " +
			"quota(month) cache(ttl=30s, scope=tenant) idempotency transform timeout(10s) retry(attempts=3) hedge(delay=50ms, max_extra=1) breaker(failures=5) bulkhead(max=200) per_try_timeout(2s) proxy",
		"petstore createPet": "request_id recover client_ip telemetry access_log auth(api_key, corp-sso; anonymous) authorize(all: pets:write) " +
			"identity validate idempotency timeout(5s) proxy",
	} {
		if got := strings.Join(routes[name], " "); got != want {
			t.Errorf("%s: chain\n%s\nwant\n%s", name, got, want)
		}
	}
	if n := len(g.Upstreams()); n != 5 {
		t.Errorf("upstreams = %d, want 5", n)
	}
}

func TestTheExampleConfigRunsFromTheRepositoryRootAgainstHealthyLoopbackServices(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("gateway.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	// The command in the file's header, run from the repository root.
	m := regexp.MustCompile(`go run \./examples/gateway -config (\S+)`).FindSubmatch(data)
	if m == nil {
		t.Fatal("the example configuration's header gives no command")
	}
	path := filepath.Join("..", "..", filepath.FromSlash(string(m[1])))
	_, admin, logs := start(t, nil, "-config", path, "-addr", "127.0.0.1:0", "-admin-addr", "127.0.0.1:0", "-log-level", "error")
	c := &http.Client{Timeout: 30 * time.Second}
	defer c.CloseIdleConnections()
	var ups []gateway.UpstreamInfo
	deadline := time.Now().Add(time.Minute)
	for {
		resp, err := c.Get(admin + "/upstreams")
		if err != nil {
			t.Fatal(err)
		}
		ups = nil
		err = json.NewDecoder(resp.Body).Decode(&ups)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if allHealthy(ups) || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if got, want := len(ups), 5; got != want {
		t.Errorf("upstreams = %d, want %d", got, want)
	}
	for _, u := range ups {
		if len(u.Instances) == 0 {
			t.Errorf("upstream %s has no instances", u.Name)
		}
		for _, in := range u.Instances {
			host := strings.TrimPrefix(in.URL, "http://")
			if ip := net.ParseIP(strings.Split(host, ":")[0]); ip == nil {
				t.Errorf("upstream %s: instance %s has no IP address", u.Name, in.URL)
			} else if !ip.IsLoopback() {
				t.Errorf("upstream %s: instance %s is not on loopback", u.Name, in.URL)
			}
			if !in.Healthy {
				t.Errorf("upstream %s: instance %s is not healthy\n%s", u.Name, in.URL, logs)
			}
		}
	}
}

// allHealthy reports whether every instance of every upstream is healthy.
func allHealthy(ups []gateway.UpstreamInfo) bool {
	for _, u := range ups {
		if len(u.Instances) == 0 {
			return false
		}
		for _, in := range u.Instances {
			if !in.Healthy {
				return false
			}
		}
	}
	return len(ups) > 0
}

// syncBuffer collects the program's logs, safe for concurrent use.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// start runs the program with args and the environment env until the
// test ends, and returns the proxy's and the admin's base URLs and the
// logs.
func start(t *testing.T, env map[string]string, args ...string) (proxy, admin string, logs *syncBuffer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	addrs := make(chan [2]net.Addr, 1)
	done := make(chan error, 1)
	logs = &syncBuffer{}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	go func() {
		done <- run(ctx, args, logs, lookup, func(p, a net.Addr) { addrs <- [2]net.Addr{p, a} })
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("run: %v", err)
		}
	})
	select {
	case a := <-addrs:
		return "http://" + a[0].String(), "http://" + a[1].String(), logs
	case err := <-done:
		done <- err
		t.Fatalf("run: %v\n%s", err, logs)
	case <-time.After(30 * time.Second):
		t.Fatal("the gateway did not start")
	}
	return "", "", nil
}

func TestDefaultRunServesTheDemo(t *testing.T) {
	t.Parallel()
	proxy, admin, _ := start(t, nil, "-addr", "127.0.0.1:0", "-admin-addr", "127.0.0.1:0", "-log-level", "error")
	c := &http.Client{Timeout: 30 * time.Second}
	defer c.CloseIdleConnections()
	fetch := func(url string) (*http.Response, string) {
		t.Helper()
		resp, err := c.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}

	// The README's curl lines.
	instances := map[string]bool{}
	for range 4 {
		resp, body := fetch(proxy + "/api/users")
		if got, want := resp.StatusCode, http.StatusOK; got != want {
			t.Fatalf("/api/users: status %d, want %d (%q)", got, want, body)
		}
		if !strings.Contains(body, "Ada") {
			t.Fatalf("/api/users: %q, want Ada", body)
		}
		instances[resp.Header.Get("X-Instance")] = true
	}
	for _, name := range []string{"users-1", "users-2"} {
		if !instances[name] {
			t.Errorf("users was not balanced to %s: %v", name, instances)
		}
	}
	resp, body := fetch(proxy + "/api/orders/42")
	if got, want := resp.StatusCode, http.StatusOK; got != want {
		t.Errorf("/api/orders/42: status %d, want %d (%q)", got, want, body)
	}
	if !strings.Contains(body, `"id":"42"`) {
		t.Errorf("/api/orders/42: %q, want id 42", body)
	}
	resp, body = fetch(admin + "/routes")
	if got, want := resp.StatusCode, http.StatusOK; got != want {
		t.Errorf("/routes: status %d, want %d (%q)", got, want, body)
	}
	if !strings.Contains(body, `"chain"`) {
		t.Errorf("/routes: %q, want each route's chain", body)
	}
	// The demo consumer's key opens /api/me; nothing else does.
	if resp, _ := fetch(proxy + "/api/me"); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("/api/me without a key: %d, want 401", resp.StatusCode)
	}
	req, _ := http.NewRequest(http.MethodGet, proxy+"/api/me", nil)
	req.Header.Set("X-API-Key", "portico-demo-key")
	if resp, err := c.Do(req); err != nil {
		t.Errorf("/api/me with the demo key: %v", err)
	} else {
		resp.Body.Close()
		if got, want := resp.StatusCode, http.StatusOK; got != want {
			t.Errorf("/api/me with the demo key: status %d, want %d", got, want)
		}
		if resp.Header.Get("RateLimit-Policy") == "" {
			t.Error("/api/me with the demo key: no RateLimit-Policy header")
		}
	}
	// The AI endpoints answer offline through the demo provider.
	req, _ = http.NewRequest(http.MethodPost, proxy+"/v1/chat/completions",
		strings.NewReader(`{"model":"demo","messages":[{"role":"user","content":"Hello!"}]}`))
	req.Header.Set("Authorization", "Bearer portico-demo-key")
	if resp, err := c.Do(req); err != nil {
		t.Error(err)
	} else {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if got, want := resp.StatusCode, http.StatusOK; got != want {
			t.Errorf("/v1/chat/completions with the demo key: status %d, want %d (%s)", got, want, b)
		}
		if !strings.Contains(string(b), `"content":"You said: Hello!"`) {
			t.Errorf("/v1/chat/completions with the demo key: %s, want the demo's echo", b)
		}
	}
	resp, body = fetch(proxy + "/v1/models")
	if got, want := resp.StatusCode, http.StatusUnauthorized; got != want {
		t.Errorf("/v1/models without a key: status %d, want %d (%s)", got, want, body)
	}
	if !strings.Contains(body, "invalid_api_key") {
		t.Errorf("/v1/models without a key: %s, want invalid_api_key", body)
	}
	if resp, _ := fetch(admin + "/readyz"); resp.StatusCode != http.StatusOK {
		t.Errorf("/readyz: %d", resp.StatusCode)
	}
	_, body = fetch(admin + "/metrics")
	for _, want := range []string{`http_server_request_duration_seconds_count{`, `http_route="/api/orders/{id}"`} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	resp, err := c.Get(proxy + "/api/orders/events")
	if err != nil {
		t.Fatal(err)
	}
	first := make([]byte, 5)
	_, err = io.ReadFull(resp.Body, first)
	resp.Body.Close()
	if err != nil {
		t.Errorf("SSE first event: %v", err)
	}
	if got, want := string(first), "id: 1"; got != want {
		t.Errorf("SSE first event %q, want %q", got, want)
	}
}

func TestCPUProfileIsWrittenWhenTheGatewayStops(t *testing.T) {
	t.Parallel()
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") }))
	defer up.Close()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "gateway.yaml")
	doc := "upstreams:\n  - {name: backend, instances: [{url: \"" + up.URL + "\"}]}\nroutes:\n  - {name: r, prefix: /r, upstream: backend}\n"
	if err := os.WriteFile(cfg, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	prof := filepath.Join(dir, "cpu.pprof")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addrs := make(chan net.Addr, 1)
	done := make(chan error, 1)
	logs := &syncBuffer{}
	args := []string{"-config", cfg, "-addr", "127.0.0.1:0", "-admin-addr", "127.0.0.1:0", "-log-level", "error", "-cpuprofile", prof}
	go func() {
		done <- run(ctx, args, logs, func(string) (string, bool) { return "", false }, func(p, _ net.Addr) { addrs <- p })
	}()
	select {
	case a := <-addrs:
		c := &http.Client{Timeout: 30 * time.Second}
		resp, err := c.Get("http://" + a.String() + "/r")
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		c.CloseIdleConnections()
	case err := <-done:
		t.Fatalf("run: %v\n%s", err, logs)
	}
	cancel()
	if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
		t.Fatalf("run: %v", err)
	}
	b, err := os.ReadFile(prof)
	if err != nil {
		t.Fatal(err)
	}
	// A pprof profile is a gzip-compressed protocol buffer.
	if got, want := b, []byte{0x1f, 0x8b}; !bytes.HasPrefix(got, want) {
		t.Errorf("the profile starts with % x, want the gzip header % x", got[:min(len(got), 2)], want)
	}
}
