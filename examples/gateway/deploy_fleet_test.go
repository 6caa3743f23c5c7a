package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/portico-dev/portico/gateway"
	"github.com/portico-dev/portico/gateway/config"
	"github.com/portico-dev/portico/gateway/upstream"
	"github.com/portico-dev/portico/internal/redistest"
)

// TestManifestReplicasShareTheDeployedRedis is the regression test for
// manifests that deployed Redis, gave the gateway its address and
// password, and never used them: the config had no store, so each replica
// kept its own limits. Two replicas are built from the ConfigMap's config
// with the Deployment's environment, pointed at a real redis-server set up
// as redis.yaml sets up its own; what one replica counts, caches or
// remembers, the other sees.
func TestManifestReplicasShareTheDeployedRedis(t *testing.T) {
	t.Parallel()
	docs := manifests(t)
	key, text := gatewayConfig(t, docs)
	env := podEnv(t, docs, "Deployment/portico-gateway")
	srv, password := deployedRedis(t, docs)
	svc := redisService(t, docs)

	cfg := parseWith(t, key, text, env)
	if cfg.Store == nil {
		t.Fatal("the config has no store: replicas would not share limits, caches or idempotency keys")
	}
	if cfg.Store.Redis == nil {
		t.Fatal("the config has no store.redis: replicas would not share limits, caches or idempotency keys")
	}
	if got, want := cfg.Store.Redis.Address, svc; got != want {
		t.Errorf("store.redis.address = %q in the pods, want the Redis Service %q", got, want)
	}
	if got, want := cfg.Store.Redis.Password, password; got != want {
		t.Errorf("store.redis.password = %q in the pods, want the password Redis requires, %q", got, want)
	}
	if got, want := cfg.Store.Replicas, deploymentReplicas(docs); got != want {
		t.Errorf("store.replicas = %d, want the Deployment's %d replicas", got, want)
	}
	// In the cluster the Service name reaches Redis; here the test's server.
	for name, v := range env {
		if v == svc {
			env[name] = srv.Addr()
		}
	}
	cfg = parseWith(t, key, text, env)
	ping := redis.NewClient(&redis.Options{Addr: cfg.Store.Redis.Address, Password: cfg.Store.Redis.Password})
	if err := ping.Ping(context.Background()).Err(); err != nil {
		t.Fatalf("the config's address and password do not reach the deployed Redis: %v", err)
	}
	ping.Close()

	shop := newShop(t)
	a, b := replica(t, key, text, env, shop), replica(t, key, text, env, shop)
	t.Run("a response cached by one replica is served by the other", func(t *testing.T) { sharedCache(t, a, b, shop) })
	t.Run("a POST retried on the other replica is replayed, not run twice", func(t *testing.T) { sharedIdempotency(t, a, b, shop) })
	t.Run("a quota used up through one replica is used up on the other", func(t *testing.T) { sharedQuota(t, a, b) })
	t.Run("a rate limit drained through one replica holds on the other", func(t *testing.T) {
		rl := cfg.Routes[routeIndex(t, cfg, "users")].Policy.RateLimit
		sharedRateLimit(t, a, b, float64(rl.Requests)/rl.Per.Seconds())
	})
}

// deployedRedis starts redis-server and configures it with the arguments
// redis.yaml gives its container, such as the password it requires,
// which it returns.
func deployedRedis(t *testing.T, docs map[string]map[string]any) (*redistest.Server, string) {
	t.Helper()
	srv := redistest.Start(t)
	env := podEnv(t, docs, "Deployment/portico-redis")
	args := toStrings(dig(docs["Deployment/portico-redis"], "spec", "template", "spec", "containers", 0, "args"))
	if len(args)%2 != 0 {
		t.Fatalf("redis args are not --name value pairs: %q", args)
	}
	ref := regexp.MustCompile(`\$\(([A-Za-z_][A-Za-z0-9_]*)\)`) // Kubernetes' $(VAR) in args
	settings := map[string]string{}
	var names []string
	for i := 0; i < len(args); i += 2 {
		name := strings.TrimPrefix(args[i], "--")
		settings[name] = ref.ReplaceAllStringFunc(args[i+1], func(m string) string { return env[ref.FindStringSubmatch(m)[1]] })
		names = append(names, name)
	}
	password := settings["requirepass"]
	if password == "" {
		t.Fatal("redis.yaml does not make Redis require a password")
	}
	c := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	defer c.Close()
	for _, name := range names {
		if name == "requirepass" {
			continue // last: it ends this unauthenticated client's access
		}
		if err := c.ConfigSet(context.Background(), name, settings[name]).Err(); err != nil {
			t.Fatalf("redis.yaml's --%s %s: %v", name, settings[name], err)
		}
	}
	if err := c.ConfigSet(context.Background(), "requirepass", password).Err(); err != nil {
		t.Fatal(err)
	}
	return srv, password
}

// redisService returns the address the Redis Service gives pods.
func redisService(t *testing.T, docs map[string]map[string]any) string {
	t.Helper()
	port := dig(docs["Service/portico-redis"], "spec", "ports", 0, "port")
	if port == nil {
		t.Fatal("the Redis Service has no port")
	}
	return net.JoinHostPort("portico-redis", fmt.Sprint(port))
}

func deploymentReplicas(docs map[string]map[string]any) int {
	n, _ := dig(docs["Deployment/portico-gateway"], "spec", "replicas").(int)
	return n
}

func parseWith(t *testing.T, key, text string, env map[string]string) *config.File {
	t.Helper()
	cfg, err := config.Parse(key, []byte(text), func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func routeIndex(t *testing.T, cfg *config.File, name string) int {
	t.Helper()
	for i, r := range cfg.Routes {
		if r.Name == name {
			return i
		}
	}
	t.Fatalf("the config has no route %q", name)
	return -1
}

// quotaForTest is the orders quota the replicas get: small enough to use
// up in a test.
const quotaForTest = 6

// replica builds and serves one gateway replica from the config, as a pod
// does with env as its environment. Three things differ from a pod, each
// because of where the test runs: the upstreams are the test's shop, not
// cluster DNS names; the Redis timeout is longer than the file's 200ms,
// since a stall of a loaded test machine would send the replica to its
// local fallback (another test's subject); and the orders quota is
// lowered from the file's 1000 a day, to be used up.
func replica(t *testing.T, key, text string, env map[string]string, shop *shop) *httptest.Server {
	t.Helper()
	cfg := parseWith(t, key, text, env)
	for i := range cfg.Upstreams {
		cfg.Upstreams[i].DNS = nil
		cfg.Upstreams[i].Instances = []upstream.Instance{{URL: shop.URL}}
	}
	cfg.Store.Redis.Timeout = 10 * time.Second
	cfg.Routes[routeIndex(t, cfg, "orders")].Policy.Quota.Limit = quotaForTest
	g, err := cfg.Build(gateway.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	g.Start(ctx)
	s := httptest.NewServer(g)
	t.Cleanup(func() {
		s.Close()
		cancel()
		g.Close()
	})
	return s
}

// shop is the users and orders services: it counts the requests each
// method and path get, and numbers the orders it creates.
type shop struct {
	*httptest.Server
	mu     sync.Mutex
	hits   map[string]int
	orders int
}

func newShop(t *testing.T) *shop {
	s := &shop{hits: map[string]int{}}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		s.mu.Lock()
		s.hits[r.Method+" "+r.URL.Path]++
		s.orders += boolInt(r.Method == http.MethodPost)
		n := s.orders
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if r.Method == http.MethodPost {
			w.WriteHeader(http.StatusCreated)
			fmt.Fprintf(w, `{"order":%d}`, n)
			return
		}
		fmt.Fprintf(w, `{"path":%q}`, r.URL.Path)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *shop) count(method, path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hits[method+" "+path]
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// answer is what a test request got.
type answer struct {
	status int
	header http.Header
	body   string
}

func send(t *testing.T, s *httptest.Server, method, path, idemKey, body string) answer {
	t.Helper()
	req, err := http.NewRequest(method, s.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Host = "shop.example.com" // what clients ask the Service for, whichever pod answers
	if idemKey != "" {
		req.Header.Set("Idempotency-Key", idemKey)
	}
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return answer{resp.StatusCode, resp.Header, string(b)}
}

// sendUntil repeats a request to s until ok accepts the answer, for what a
// replica stores once it has answered; it fails the test after 10s.
func sendUntil(t *testing.T, s *httptest.Server, method, path, idemKey, body string, ok func(answer) bool) answer {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		r := send(t, s, method, path, idemKey, body)
		if ok(r) {
			return r
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s %s: still %d %q after 10s", method, path, r.status, r.body)
		}
	}
}

func cacheHit(r answer) bool { return strings.Contains(r.header.Get("Cache-Status"), "; hit") }

func sharedCache(t *testing.T, a, b *httptest.Server, shop *shop) {
	first := send(t, a, http.MethodGet, "/api/users/42", "", "")
	if got, want := first.status, http.StatusOK; got != want {
		t.Fatalf("GET through replica A: %d %s, want %d", got, first.body, want)
	}
	// Replica A stores the response once it has answered: wait until A
	// serves it from the store, and so from Redis.
	sendUntil(t, a, http.MethodGet, "/api/users/42", "", "", cacheHit)
	r := send(t, b, http.MethodGet, "/api/users/42", "", "")
	if !cacheHit(r) {
		t.Errorf("replica B: Cache-Status %q, want a hit on what replica A stored", r.header.Get("Cache-Status"))
	}
	if got, want := r.body, first.body; got != want {
		t.Errorf("replica B answered %q, want replica A's %q", got, want)
	}
	if got, want := shop.count(http.MethodGet, "/users/42"), 1; got != want {
		t.Errorf("the users service was asked %d times, want %d", got, want)
	}
}

func sharedIdempotency(t *testing.T, a, b *httptest.Server, shop *shop) {
	const key, order = "5f0c8e4e-6a63-4f5e-9d0b-0f6f1d2a8c11", `{"item":"book"}`
	first := send(t, a, http.MethodPost, "/api/orders", key, order)
	if got, want := first.status, http.StatusCreated; got != want {
		t.Fatalf("POST through replica A: %d %s, want %d", got, first.body, want)
	}
	// Replica A completes the key once it has answered (409 until then).
	sendUntil(t, a, http.MethodPost, "/api/orders", key, order, func(r answer) bool { return r.status != http.StatusConflict })
	r := send(t, b, http.MethodPost, "/api/orders", key, order)
	if got, want := r.status, http.StatusCreated; got != want {
		t.Errorf("the retry through replica B: %d %s, want %d", got, r.body, want)
	}
	if got, want := r.header.Get("Idempotent-Replayed"), "true"; got != want {
		t.Errorf("the retry through replica B: Idempotent-Replayed %q, want %q", got, want)
	}
	if got, want := r.body, first.body; got != want {
		t.Errorf("the retry through replica B answered %q, want the first answer %q", got, want)
	}
	if got, want := shop.count(http.MethodPost, "/orders"), 1; got != want {
		t.Errorf("the orders service created %d orders, want %d", got, want)
	}
}

// remaining reads what the RateLimit header says is left of the named
// limit or quota, or -1.
func remaining(h http.Header, name string) int {
	for _, item := range strings.Split(strings.Join(h.Values("RateLimit"), ","), ",") {
		params := strings.Split(strings.TrimSpace(item), ";")
		if params[0] != strconv.Quote(name) {
			continue
		}
		for _, p := range params[1:] {
			if v, ok := strings.CutPrefix(p, "r="); ok {
				n, err := strconv.Atoi(v)
				if err == nil {
					return n
				}
			}
		}
	}
	return -1
}

func sharedQuota(t *testing.T, a, b *httptest.Server) {
	// Through A and B in turn: each request takes one from what is left,
	// whichever replica counts it, until none is left on either.
	replicas := []*httptest.Server{a, b}
	left := -1
	i := 0
	for ; i < 2*quotaForTest; i++ {
		r := send(t, replicas[i%2], http.MethodGet, "/api/orders", "", "")
		if r.status == http.StatusTooManyRequests {
			break
		}
		got := remaining(r.header, "orders-daily")
		switch {
		case left == 0:
			t.Fatalf("request %d, through replica %c: %d though none of the quota was left", i+1, "AB"[i%2], r.status)
		case left > 0 && got != left-1:
			t.Fatalf("request %d, through replica %c: %d left of the quota, want %d", i+1, "AB"[i%2], got, left-1)
		}
		left = got
	}
	if left != 0 {
		t.Fatalf("the quota answered 429 with %d left, want 0", left)
	}
	for j, s := range []*httptest.Server{replicas[i%2], replicas[(i+1)%2]} {
		r := send(t, s, http.MethodGet, "/api/orders", "", "")
		var p struct{ Quota string }
		_ = json.Unmarshal([]byte(r.body), &p)
		if got, want := r.status, http.StatusTooManyRequests; got != want {
			t.Errorf("replica %c after the quota was used up: status %d, want %d (%s)", "AB"[(i+j)%2], got, want, r.body)
		}
		if got, want := p.Quota, "orders-daily"; got != want {
			t.Errorf("replica %c after the quota was used up: quota %q, want %q", "AB"[(i+j)%2], got, want)
		}
	}
}

// sharedRateLimit drains the users limit through A, then asks B: B's
// bucket holds no more than refilled since A drained it (a private bucket
// would be full).
func sharedRateLimit(t *testing.T, a, b *httptest.Server, perSecond float64) {
	var drained time.Time
	for i := 0; ; i++ {
		if i == 1000 {
			t.Fatal("1000 requests through replica A did not drain the users rate limit")
		}
		drained = time.Now()
		if send(t, a, http.MethodGet, "/api/users/7", "", "").status == http.StatusTooManyRequests {
			break
		}
	}
	r := send(t, b, http.MethodGet, "/api/users/7", "", "")
	elapsed := time.Since(drained)
	refilled := int(perSecond*elapsed.Seconds()) + 1
	left := remaining(r.header, "users")
	t.Logf("replica B: %d %d left, %v after replica A's bucket was empty (%d refilled at most)", r.status, left, elapsed, refilled)
	if left < 0 {
		t.Fatalf("replica B's response has no RateLimit for users: %q", r.header.Values("RateLimit"))
	}
	if left > refilled {
		t.Errorf("replica B has %d left of the users rate limit, want at most the %d refilled since replica A drained it", left, refilled)
	}
}
