package gateway_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portico-dev/portico/gateway"
	"github.com/portico-dev/portico/gateway/config"
)

// counter is an upstream that answers "n=<requests so far>", or 500
// while failing is set, and 503 to health checks while sick is set.
type counter struct {
	*httptest.Server
	n             atomic.Int64
	failing, sick atomic.Bool
}

func newCounter(t *testing.T) *counter {
	t.Helper()
	c := &counter{}
	c.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/health") {
			if c.sick.Load() {
				w.WriteHeader(http.StatusServiceUnavailable)
			}
			return
		}
		n := c.n.Add(1)
		if c.failing.Load() {
			w.WriteHeader(http.StatusInternalServerError)
		}
		fmt.Fprintf(w, "n=%d", n)
	}))
	t.Cleanup(c.Close)
	return c
}

// exchange makes a request and returns its status, the Idempotent-Replayed
// header and the body.
func exchange(t *testing.T, method, url, key string) (int, string, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(`{"model":"a","messages":[{"role":"user","content":"hi"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
		req.Header.Set("Authorization", "Bearer portico-demo-key")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Idempotent-Replayed"), string(b)
}

func status(t *testing.T, method, url, key string) int {
	t.Helper()
	s, _, _ := exchange(t, method, url, key)
	return s
}

// learner is what a piece of state needs in a test: a configuration
// with the piece's own setting, requests that teach the gateway
// something, and a check that it still knows it.
type learner struct {
	config     func(setting string) string
	learn      func(t *testing.T, base string)
	remembered func(t *testing.T, base string) bool
}

// pieces are the pieces of state a reload must keep.
var pieces = []struct {
	name string
	// setting is the piece's own setting; changed is another value of it,
	// or "" when no change of its own is observable (see the case).
	setting, changed string
	// keptOnChange says the piece is kept even when its setting changes.
	keptOnChange bool
	learner      func(t *testing.T) learner
}{
	{
		name:         "a used-up quota",
		setting:      "limit: 2",
		changed:      "limit: 1",
		keptOnChange: false,
		learner: func(t *testing.T) learner {
			return twoThenRefused(t, "/q", "quota: {%s, key: ip}")
		},
	},
	{
		name:         "an empty rate-limit bucket",
		setting:      "requests: 2",
		changed:      "requests: 1",
		keptOnChange: false,
		learner: func(t *testing.T) learner {
			return twoThenRefused(t, "/r", "rate_limit: {%s, per: 1h, key: ip}")
		},
	},
	{
		name:         "a cached response",
		setting:      "ttl: 1h",
		changed:      "ttl: 2h",
		keptOnChange: false,
		learner: func(t *testing.T) learner {
			up := newCounter(t)
			return learner{
				config: func(s string) string {
					return fmt.Sprintf("upstreams: [{name: up, instances: [{url: %q}]}]\n"+
						"routes: [{name: c, prefix: /c, upstream: up, policy: {cache: {%s}}}]\n", up.URL, s)
				},
				learn: func(t *testing.T, base string) {
					if _, _, body := exchange(t, "GET", base+"/c", ""); body != "n=1" {
						t.Fatalf("learning: body %q, want n=1", body)
					}
				},
				remembered: func(t *testing.T, base string) bool {
					_, _, body := exchange(t, "GET", base+"/c", "")
					return body == "n=1"
				},
			}
		},
	},
	// Forgetting an idempotency record would run a retried request twice,
	// so records are kept whatever the route's idempotency settings.
	{
		name:         "an idempotency record",
		setting:      "ttl: 24h",
		changed:      "ttl: 48h",
		keptOnChange: true,
		learner: func(t *testing.T) learner {
			up := newCounter(t)
			return learner{
				config: func(s string) string {
					return fmt.Sprintf("upstreams: [{name: up, instances: [{url: %q}]}]\n"+
						"routes: [{name: i, prefix: /i, upstream: up, policy: {idempotency: {%s}}}]\n", up.URL, s)
				},
				learn: func(t *testing.T, base string) {
					if _, _, body := exchange(t, "POST", base+"/i", "k1"); body != "n=1" {
						t.Fatalf("learning: body %q, want n=1", body)
					}
				},
				remembered: func(t *testing.T, base string) bool {
					_, replayed, body := exchange(t, "POST", base+"/i", "k1")
					return replayed == "true" && body == "n=1"
				},
			}
		},
	},
	// A call reserves its maximum cost, $0.001029 (5 input tokens and the
	// default 1,024 output tokens at $1 per million), and spends $0.000005:
	// a budget of $0.00103 admits one call, and no second.
	{
		name:         "a spent AI budget",
		setting:      "usd: 0.00103",
		changed:      "usd: 0.001031",
		keptOnChange: false,
		learner: func(*testing.T) learner {
			return learner{
				config: func(s string) string {
					return "consumers: [{id: demo, api_keys: [{id: k, secret: portico-demo-key}]}]\n" +
						"ai:\n  providers: [{name: d, type: demo}]\n  models: [{alias: a, candidates: [{provider: d, model: m1}]}]\n" +
						"  prices: {m1: {input: 1, output: 1}}\n  budgets: [{" + s + "}]\n"
				},
				learn: func(t *testing.T, base string) {
					if got := status(t, "POST", base+"/v1/chat/completions", "k"); got != http.StatusOK {
						t.Fatalf("learning: status %d, want 200", got)
					}
				},
				remembered: func(t *testing.T, base string) bool {
					return status(t, "POST", base+"/v1/chat/completions", "k") == http.StatusTooManyRequests
				},
			}
		},
	},
	{
		name:         "an open circuit breaker",
		setting:      "failures: 1",
		changed:      "failures: 2",
		keptOnChange: false,
		learner: func(t *testing.T) learner {
			up := newCounter(t)
			return learner{
				config: func(s string) string {
					return fmt.Sprintf("upstreams: [{name: up, instances: [{url: %q}]}]\n"+
						"routes: [{name: b, prefix: /b, upstream: up, policy: {breaker: {%s, delay: 1h}}}]\n", up.URL, s)
				},
				learn: func(t *testing.T, base string) {
					up.failing.Store(true)
					defer up.failing.Store(false)
					if got := status(t, "GET", base+"/b", ""); got != http.StatusInternalServerError {
						t.Fatalf("learning: status %d, want 500", got)
					}
				},
				remembered: func(t *testing.T, base string) bool {
					return status(t, "GET", base+"/b", "") == http.StatusServiceUnavailable
				},
			}
		},
	},
	{
		name:         "an ejected instance",
		setting:      "consecutive_5xx: 1",
		changed:      "consecutive_5xx: 2",
		keptOnChange: false,
		learner: func(t *testing.T) learner {
			good, bad := newCounter(t), newCounter(t)
			bad.failing.Store(true)
			return learner{
				config: func(s string) string {
					return fmt.Sprintf("upstreams: [{name: up, instances: [{url: %q}, {url: %q}], outlier: {%s, base_ejection: 1h}}]\n"+
						"routes: [{name: o, prefix: /o, upstream: up}]\n", good.URL, bad.URL, s)
				},
				learn: func(t *testing.T, base string) {
					for range 2 { // round robin: one of the two is the bad one
						status(t, "GET", base+"/o", "")
					}
					if bad.n.Load() == 0 {
						t.Fatal("learning: the bad instance got no request")
					}
				},
				remembered: func(t *testing.T, base string) bool {
					for range 6 {
						if status(t, "GET", base+"/o", "") != http.StatusOK {
							return false
						}
					}
					return true
				},
			}
		},
	},
	// A new pool is checked before it takes traffic, so an unhealthy
	// instance is out of a fresh pool too: no change of its own shows.
	{
		name:         "an unhealthy instance",
		setting:      "interval: 1h",
		changed:      "",
		keptOnChange: false,
		learner: func(t *testing.T) learner {
			good, sick := newCounter(t), newCounter(t)
			sick.sick.Store(true)
			return learner{
				config: func(s string) string {
					return fmt.Sprintf("upstreams: [{name: up, instances: [{url: %q}, {url: %q}], health_check: {path: /health, %s}}]\n"+
						"routes: [{name: h, prefix: /h, upstream: up}]\n", good.URL, sick.URL, s)
				},
				learn: func(t *testing.T, base string) {
					// The instance recovers, but the next check is an hour away.
					sick.sick.Store(false)
				},
				remembered: func(t *testing.T, base string) bool {
					for range 6 {
						status(t, "GET", base+"/h", "")
					}
					return sick.n.Load() == 0
				},
			}
		},
	},
}

func TestStateSurvivesAReload(t *testing.T) {
	t.Parallel()
	// unrelated is a change that concerns no piece of state.
	unrelated := func(v int) string { return fmt.Sprintf("trusted_proxies: [10.9.9.%d]\n", v) }
	modes := []struct {
		name     string
		rewrite  func(l learner, setting, changed string) string
		afresh   bool
		needsNew bool
	}{
		{
			name:     "of the same file",
			rewrite:  func(l learner, s, _ string) string { return l.config(s) + unrelated(1) },
			afresh:   false,
			needsNew: false,
		},
		{
			name:     "of a file with an unrelated change",
			rewrite:  func(l learner, s, _ string) string { return l.config(s) + unrelated(2) },
			afresh:   false,
			needsNew: false,
		},
		{
			name:     "of a file that changes its own setting",
			rewrite:  func(l learner, _, c string) string { return l.config(c) + unrelated(1) },
			afresh:   true,
			needsNew: true,
		},
	}
	for _, p := range pieces {
		for _, m := range modes {
			if m.needsNew && p.changed == "" {
				continue
			}
			t.Run(p.name+" after a reload "+m.name, func(t *testing.T) {
				t.Parallel()
				l := p.learner(t)
				path := filepath.Join(t.TempDir(), "gateway.yaml")
				writeFile(t, path, l.config(p.setting)+unrelated(1))
				rl, base := startReloader(t, path)
				l.learn(t, base)
				if !l.remembered(t, base) {
					t.Fatal("the gateway did not learn before the reload")
				}
				writeFile(t, path, m.rewrite(l, p.setting, p.changed))
				if err := rl.Reload(context.Background()); err != nil {
					t.Fatal(err)
				}
				want := !m.afresh || p.keptOnChange
				if got := l.remembered(t, base); got != want {
					t.Errorf("remembered after the reload = %t, want %t", got, want)
				}
			})
		}
	}
}

// startReloader serves the file at path through a Reloader until the
// test ends.
func startReloader(t *testing.T, path string) (*config.Reloader, string) {
	t.Helper()
	rl, err := config.NewReloader(config.ReloadConfig{
		Load: func(st *gateway.State) (*gateway.Gateway, error) {
			return config.LoadGateway(path, gateway.WithLogger(quiet), gateway.WithState(st))
		},
		Path:   path,
		Drain:  5 * time.Second,
		Logger: quiet,
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(rl)
	t.Cleanup(func() {
		srv.Close()
		if err := rl.Close(); err != nil {
			t.Errorf("closing the reloader: %v", err)
		}
	})
	return rl, srv.URL
}

func TestANewPoolIsCheckedBeforeItTakesTraffic(t *testing.T) {
	t.Parallel()
	good := newCounter(t)
	// down fails every request, and takes its time to fail a check, so
	// a pool swapped in before its first check is over sends it traffic.
	var served atomic.Int64
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/health") {
			time.Sleep(300 * time.Millisecond)
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		served.Add(1)
		w.WriteHeader(http.StatusInternalServerError)
	}))
	t.Cleanup(down.Close)
	cfg := func(path string) string {
		return fmt.Sprintf("upstreams: [{name: up, instances: [{url: %q}, {url: %q}], health_check: {path: %s, interval: 1h}}]\n"+
			"routes: [{name: h, prefix: /h, upstream: up}]\n", good.URL, down.URL, path)
	}
	path := filepath.Join(t.TempDir(), "gateway.yaml")
	writeFile(t, path, cfg("/health"))
	rl, base := startReloader(t, path)
	writeFile(t, path, cfg("/health/v2")) // a new pool, unchecked
	if err := rl.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	for i := range 6 {
		if got, want := status(t, "GET", base+"/h", ""), http.StatusOK; got != want {
			t.Errorf("request %d after the reload: status %d, want %d", i+1, got, want)
		}
	}
	if got := served.Load(); got != 0 {
		t.Errorf("requests the down instance got = %d, want 0", got)
	}
}

func TestAPoolNoBuildUsesIsClosedWithTheLastGatewayThatUsedIt(t *testing.T) {
	t.Parallel()
	up := newCounter(t)
	var checks atomic.Int64
	checked := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { checks.Add(1) }))
	t.Cleanup(checked.Close)
	path := filepath.Join(t.TempDir(), "gateway.yaml")
	writeFile(t, path, fmt.Sprintf("upstreams: [{name: gone, instances: [{url: %q}], health_check: {interval: 20ms}}, {name: up, instances: [{url: %q}]}]\n"+
		"routes: [{name: r, prefix: /r, upstream: up}, {name: g, prefix: /g, upstream: gone}]\n", checked.URL, up.URL))
	rl, _ := startReloader(t, path)
	writeFile(t, path, fmt.Sprintf("upstreams: [{name: up, instances: [{url: %q}]}]\nroutes: [{name: r, prefix: /r, upstream: up}]\n", up.URL))
	if err := rl.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	// The replaced gateway had no request in flight: it is closed at once,
	// and with it the pool only it used.
	deadline := time.Now().Add(10 * time.Second)
	for {
		before := checks.Load()
		time.Sleep(200 * time.Millisecond)
		if checks.Load() == before {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the pool no build uses is still checking its instance 10s after the reload")
		}
	}
}

func TestAStateIsClosedOnce(t *testing.T) {
	t.Parallel()
	st := gateway.NewState()
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Errorf("a second Close: %v", err)
	}
	_, err := gateway.New(gateway.WithState(st))
	wantErrContaining(t, err, "state is closed")
}

func TestGatewaysBuiltWithOneStateShareItsPieces(t *testing.T) {
	t.Parallel()
	up := newCounter(t)
	st := gateway.NewState()
	t.Cleanup(func() { _ = st.Close() })
	route := gateway.Route{
		Name:     "q",
		Prefix:   "/q",
		Upstream: "up",
		Policy:   gateway.Policy{Quota: &gateway.Quota{Limit: 1, Key: "ip"}},
	}
	build := func() *httptest.Server {
		g, err := gateway.New(gateway.WithState(st), gateway.WithLogger(quiet),
			gateway.WithUpstream(upstreamOf(t, "up", up.Server)), gateway.WithRoute(route))
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(g)
		t.Cleanup(func() { srv.Close(); _ = g.Close() })
		return srv
	}
	first, second := build(), build()
	if got, want := status(t, "GET", first.URL+"/q", ""), http.StatusOK; got != want {
		t.Fatalf("the first gateway: status %d, want %d", got, want)
	}
	if got, want := status(t, "GET", second.URL+"/q", ""), http.StatusTooManyRequests; got != want {
		t.Errorf("the second gateway, after the first used the quota: status %d, want %d", got, want)
	}
}

func TestAReloadKeepsTheKeysOfAJWTIssuer(t *testing.T) {
	t.Parallel()
	up := newCounter(t)
	var fetches atomic.Int64
	issuer := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fetches.Add(1)
		_, _ = io.WriteString(w, `{"keys":[]}`)
	}))
	t.Cleanup(issuer.Close)
	path := filepath.Join(t.TempDir(), "gateway.yaml")
	file := func(v int) string {
		return fmt.Sprintf("upstreams: [{name: up, instances: [{url: %q}]}]\n"+
			"auth_methods: [{name: corp, jwt: {jwks_url: %q, algorithms: [RS256]}}]\n"+
			"routes: [{name: r, prefix: /r, upstream: up, policy: {auth: {methods: [corp]}}}]\n"+
			"trusted_proxies: [10.9.9.%d]\n", up.URL, issuer.URL, v)
	}
	writeFile(t, path, file(1))
	rl, _ := startReloader(t, path)
	waitUntil(t, "the first fetch of the key set", func() bool { return fetches.Load() == 1 })
	writeFile(t, path, file(2))
	if err := rl.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	// A key set made anew fetches at once; give it time to show.
	time.Sleep(300 * time.Millisecond)
	if got, want := fetches.Load(), int64(1); got != want {
		t.Errorf("key set fetches after the reload = %d, want %d", got, want)
	}
}

// waitUntil polls cond for up to 10 seconds.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestAPoolKeptByAReloadKeepsCheckingItsInstancesAfterTheOldGatewayCloses(t *testing.T) {
	t.Parallel()
	var checks atomic.Int64
	up := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { checks.Add(1) }))
	t.Cleanup(up.Close)
	path := filepath.Join(t.TempDir(), "gateway.yaml")
	file := func(v int) string {
		return fmt.Sprintf("upstreams: [{name: up, instances: [{url: %q}], health_check: {interval: 20ms}}]\n"+
			"routes: [{name: r, prefix: /r, upstream: up}]\ntrusted_proxies: [10.9.9.%d]\n", up.URL, v)
	}
	writeFile(t, path, file(1))
	rl, _ := startReloader(t, path)
	old := rl.Current()
	writeFile(t, path, file(2))
	if err := rl.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	// Closing the replaced gateway, as its retirement does, gives its
	// pieces back; the pool the new gateway uses must stay open.
	if err := old.Close(); err != nil {
		t.Fatal(err)
	}
	after := checks.Load()
	waitUntil(t, "health checks after the old gateway closed", func() bool { return checks.Load() >= after+3 })
}

// twoThenRefused is the learner of a limit on a route at path that admits
// two requests and then answers 429; policy is the route's policy with %s
// where the limit's setting goes.
func twoThenRefused(t *testing.T, path, policy string) learner {
	up := newCounter(t)
	return learner{
		config: func(s string) string {
			return fmt.Sprintf("upstreams: [{name: up, instances: [{url: %q}]}]\n"+
				"routes: [{name: limited, prefix: %s, upstream: up, policy: {"+policy+"}}]\n", up.URL, path, s)
		},
		learn: func(t *testing.T, base string) {
			for range 2 {
				if got := status(t, "GET", base+path, ""); got != http.StatusOK {
					t.Fatalf("learning: status %d, want 200", got)
				}
			}
		},
		remembered: func(t *testing.T, base string) bool {
			return status(t, "GET", base+path, "") == http.StatusTooManyRequests
		},
	}
}
