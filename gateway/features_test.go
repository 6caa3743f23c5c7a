package gateway_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portico-dev/portico/gateway"
	"github.com/portico-dev/portico/gateway/config"
	"github.com/portico-dev/portico/middleware"
)

// jsonServer answers every request with body, counting them.
func jsonServer(t *testing.T, body string) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Internal", "secret")
		_, _ = io.WriteString(w, strings.ReplaceAll(body, "{path}", r.URL.Path))
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

func readAll(t *testing.T, resp *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// fetch sends a GET with headers given as name, value pairs; the body
// is left to read.
func fetch(t *testing.T, url string, header ...string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Add(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = resp.Body.Close() })
	return resp
}

func TestCachePolicy(t *testing.T) {
	t.Parallel()
	up, hits := jsonServer(t, `{"n":1}`)
	_, srv := newGateway(t, gateway.WithUpstream(upstreamOf(t, "app", up)),
		config.WithConsumers(
			config.ConsumerConfig{Consumer: middleware.Consumer{ID: "alice", Tenant: "a"}, Keys: []config.APIKeyConfig{{ID: "a1", Secret: keyed}}},
			config.ConsumerConfig{Consumer: middleware.Consumer{ID: "bob", Tenant: "b"},
				Keys: []config.APIKeyConfig{{ID: "b1", Secret: "bob-secret-key-0123456789"}}},
		),
		gateway.WithRoute(
			gateway.Route{Path: "/shared", Upstream: "app", Policy: gateway.Policy{Cache: &gateway.Cache{TTL: time.Minute}}},
			gateway.Route{Path: "/mine", Upstream: "app", Policy: gateway.Policy{Auth: &gateway.Auth{},
				Cache: &gateway.Cache{TTL: time.Minute, Scope: "consumer"}}},
		))
	t.Run("a response without caching headers is stored for the route's TTL", func(t *testing.T) {
		for range 3 {
			resp, _ := getWith(t, srv.URL+"/shared")
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d", resp.StatusCode)
			}
		}
		if n := hits.Load(); n != 1 {
			t.Errorf("upstream saw %d requests, want 1", n)
		}
		resp, _ := getWith(t, srv.URL+"/shared")
		if cs := resp.Header.Get("Cache-Status"); !strings.Contains(cs, "hit") {
			t.Errorf("Cache-Status = %q, want a hit", cs)
		}
	})
	t.Run("a consumer-scoped cache never serves one consumer's response to another", func(t *testing.T) {
		before := hits.Load()
		getWith(t, srv.URL+"/mine", "X-API-Key", keyed)
		getWith(t, srv.URL+"/mine", "X-API-Key", keyed)
		getWith(t, srv.URL+"/mine", "X-API-Key", "bob-secret-key-0123456789")
		if n := hits.Load() - before; n != 2 {
			t.Errorf("upstream saw %d requests, want 2 (one per consumer)", n)
		}
	})
}

func TestIdempotencyPolicy(t *testing.T) {
	t.Parallel()
	up, hits := jsonServer(t, `{"created":true}`)
	_, srv := newGateway(t, gateway.WithUpstream(upstreamOf(t, "app", up)),
		gateway.WithRoute(gateway.Route{Path: "/payments", Upstream: "app",
			Policy: gateway.Policy{Idempotency: &gateway.Idempotency{Required: true}}}))
	post := func(key, body string) *http.Response {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/payments", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if key != "" {
			req.Header.Set("Idempotency-Key", key)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		return resp
	}
	if resp := post("", `{"amount":1}`); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("without a key: %d, want 400", resp.StatusCode)
	}
	a, b := post("k1", `{"amount":1}`), post("k1", `{"amount":1}`)
	if got, want := a.StatusCode, http.StatusOK; got != want {
		t.Errorf("first call: status %d, want %d", got, want)
	}
	if got, want := b.StatusCode, http.StatusOK; got != want {
		t.Errorf("replay: status %d, want %d", got, want)
	}
	if got, want := readAll(t, b), `{"created":true}`; got != want {
		t.Errorf("replay: body %s, want %s", got, want)
	}
	if n := hits.Load(); n != 1 {
		t.Errorf("upstream saw %d payments, want 1", n)
	}
	if resp := post("k1", `{"amount":2}`); resp.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("same key, other body: %d, want 422", resp.StatusCode)
	}
}

func TestTransformPolicy(t *testing.T) {
	t.Parallel()
	up, _ := jsonServer(t, `{"id":1,"internal":"x","user":{"password":"p"}}`)
	_, srv := newGateway(t, gateway.WithUpstream(upstreamOf(t, "app", up)),
		gateway.WithRoute(gateway.Route{Path: "/users/{id}", Upstream: "app", Policy: gateway.Policy{Transform: &gateway.Transform{
			Response:     middleware.HeaderRules{Remove: []string{"X-Internal"}, Set: map[string]string{"X-User": "{path.id}"}},
			ResponseBody: middleware.JSONRules{Remove: []string{"internal", "user.password"}, Add: map[string]any{"v": 2}},
		}}}))
	resp := fetch(t, srv.URL+"/users/7")
	body := readAll(t, resp)
	if body != `{"id":1,"user":{},"v":2}` {
		t.Errorf("body = %s", body)
	}
	if got := resp.Header.Get("X-Internal"); got != "" {
		t.Errorf("X-Internal = %q, want it removed", got)
	}
	if got, want := resp.Header.Get("X-User"), "7"; got != want {
		t.Errorf("X-User = %q, want %q", got, want)
	}
}

func TestVersionedRoute(t *testing.T) {
	t.Parallel()
	v1, _ := jsonServer(t, `{"v":1,"path":"{path}"}`)
	v2, _ := jsonServer(t, `{"v":2,"path":"{path}"}`)
	_, srv := newGateway(t, gateway.WithUpstream(upstreamOf(t, "v1", v1), upstreamOf(t, "v2", v2)),
		gateway.WithRoute(gateway.Route{Prefix: "/", Versions: &gateway.Versions{StripPath: true, Default: "v1",
			Targets: map[string]gateway.VersionTarget{"v1": {Upstream: "v1"}, "v2": {Upstream: "v2", AddPrefix: "/next"}}}}))
	for _, c := range []struct {
		name, path string
		header     []string
		want       string
	}{
		{
			name:   "the version in the path picks the pool and is stripped",
			path:   "/v2/orders",
			header: nil,
			want:   `{"v":2,"path":"/next/orders"}`,
		},
		{
			name:   "the API-Version header picks the pool",
			path:   "/orders",
			header: []string{"API-Version", "v2"},
			want:   `{"v":2,"path":"/next/orders"}`,
		},
		{
			name:   "the Accept media type picks the pool",
			path:   "/orders",
			header: []string{"Accept", "application/json; version=v2"},
			want:   `{"v":2,"path":"/next/orders"}`,
		},
		{
			name:   "a request naming no version gets the default",
			path:   "/orders",
			header: nil,
			want:   `{"v":1,"path":"/orders"}`,
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			resp := fetch(t, srv.URL+c.path, c.header...)
			if got := readAll(t, resp); got != c.want {
				t.Errorf("got %d %s, want %s", resp.StatusCode, got, c.want)
			}
		})
	}
	t.Run("a version the route does not serve gets 400", func(t *testing.T) {
		t.Parallel()
		if resp, _ := getWith(t, srv.URL+"/orders", "API-Version", "v9"); resp.StatusCode != http.StatusBadRequest {
			t.Errorf("status %d, want 400", resp.StatusCode)
		}
	})
}

func TestLifecyclePolicy(t *testing.T) {
	t.Parallel()
	var now atomic.Pointer[time.Time]
	start := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	now.Store(&start)
	up, hits := jsonServer(t, `{}`)
	_, srv := newGateway(t, gateway.WithUpstream(upstreamOf(t, "app", up)),
		gateway.WithClock(func() time.Time { return *now.Load() }),
		gateway.WithRoute(gateway.Route{Path: "/v1/orders", Upstream: "app", Policy: gateway.Policy{Lifecycle: &gateway.Lifecycle{
			Deprecated: start.AddDate(0, -1, 0),
			Sunset:     start.AddDate(0, 1, 0),
			Link:       "https://example.com/migrate",
			Successor:  "/v2/orders",
		}}}))
	resp := fetch(t, srv.URL+"/v1/orders")
	if got, want := resp.StatusCode, http.StatusOK; got != want {
		t.Errorf("before sunset: status %d, want %d", got, want)
	}
	for _, name := range []string{"Deprecation", "Sunset"} {
		if resp.Header.Get(name) == "" {
			t.Errorf("before sunset: no %s header", name)
		}
	}
	if link := strings.Join(resp.Header.Values("Link"), ","); !strings.Contains(link, "/v2/orders") {
		t.Errorf("before sunset: Link %q does not name /v2/orders", link)
	}
	later := start.AddDate(0, 2, 0)
	now.Store(&later)
	before := hits.Load()
	resp = fetch(t, srv.URL+"/v1/orders")
	body := readAll(t, resp)
	if got, want := resp.StatusCode, http.StatusGone; got != want {
		t.Errorf("after sunset: status %d, want %d", got, want)
	}
	if !strings.Contains(body, "/v2/orders") {
		t.Errorf("after sunset: %s, want it to name the successor", body)
	}
	if hits.Load() != before {
		t.Error("a retired route reached the upstream")
	}
}

func TestComposedRoute(t *testing.T) {
	t.Parallel()
	users, _ := jsonServer(t, `{"user":"{path}"}`)
	orders, _ := jsonServer(t, `[{"order":"{path}"}]`)
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) }))
	t.Cleanup(down.Close)
	g, srv := newGateway(t, gateway.WithUpstream(upstreamOf(t, "users", users), upstreamOf(t, "orders", orders), upstreamOf(t, "recs", down)),
		gateway.WithRoute(gateway.Route{Name: "profile", Path: "/profile/{id}", Compose: &gateway.Compose{Calls: []gateway.ComposeCall{
			{Name: "user", Upstream: "users", Path: "/users/{path.id}"},
			{
				Name:     "orders",
				Key:      "orders",
				Upstream: "orders",
				Path:     "/orders/{path.id}",
			},
			{
				Name:     "recs",
				Key:      "recs",
				Upstream: "recs",
				Path:     "/recs",
				Optional: true,
			},
		}}}, gateway.Route{Name: "strict", Path: "/strict/{id}", Compose: &gateway.Compose{Calls: []gateway.ComposeCall{
			{Name: "user", Upstream: "users", Path: "/users/{path.id}"},
			{
				Name:     "recs",
				Key:      "recs",
				Upstream: "recs",
				Path:     "/recs",
			},
		}}}))
	resp := fetch(t, srv.URL+"/profile/42")
	var got map[string]any
	if err := json.Unmarshal([]byte(readAll(t, resp)), &got); err != nil {
		t.Fatal(err)
	}
	if got, want := resp.StatusCode, http.StatusOK; got != want {
		t.Errorf("status %d, want %d", got, want)
	}
	if got, want := got["user"], any("/users/42"); got != want {
		t.Errorf("user = %v, want %v", got, want)
	}
	if got, want := resp.Header.Get("Portico-Partial"), "recs"; got != want {
		t.Errorf("Portico-Partial = %q, want %q", got, want)
	}
	if o, _ := got["orders"].([]any); len(o) != 1 {
		t.Errorf("orders = %v", got["orders"])
	}
	strict := fetch(t, srv.URL+"/strict/42")
	body := readAll(t, strict)
	if got, want := strict.StatusCode, http.StatusBadGateway; got != want {
		t.Errorf("a required call failing: status %d, want %d", got, want)
	}
	if !strings.Contains(body, "recs") {
		t.Errorf("a required call failing: %s, want the problem to name the call", body)
	}
	if strings.Contains(body, down.URL) {
		t.Errorf("a required call failing: %s shows the call's address", body)
	}
	var chain []string
	for _, r := range g.Routes() {
		if r.Name == "profile" {
			chain = r.Chain
		}
	}
	if last := chain[len(chain)-1]; last != "compose(user, orders, recs)" {
		t.Errorf("chain = %v, want it to end in the compose stage", chain)
	}
}

func TestRouteTargetMistakesNameTheField(t *testing.T) {
	t.Parallel()
	head := "upstreams: [{name: app, instances: [{url: http://127.0.0.1:1}]}]\n"
	for _, c := range []struct{ name, yaml, want string }{
		{"versions and an upstream", "routes: [{path: /, upstream: app, versions: {targets: {v1: {upstream: app}}}}]", "routes[0].upstream: set upstream and split, or versions, or compose"},
		{"a version naming an unknown pool", "routes: [{path: /, versions: {targets: {v1: {upstream: nope}}}}]", `routes[0].versions.targets.v1.upstream: "nope" is not a defined upstream`},
		{"a default version without a target", "routes: [{path: /, versions: {default: v3, targets: {v1: {upstream: app}}}}]", `routes[0].versions.default: "v3" is not one of the targets`},
		{"a compose call without a path", "routes: [{path: /, compose: {calls: [{name: a, upstream: app}]}}]", "routes[0].compose.calls[0].path: must start with '/'"},
		{"two compose calls with one name", "routes: [{path: /, compose: {calls: [{name: a, upstream: app, path: /}, {name: a, upstream: app, path: /}]}}]", `routes[0].compose.calls[1].name: "a" is used twice`},
		{"a lifecycle sunset before deprecation", "routes: [{path: /, upstream: app, policy: {lifecycle: {deprecated: 2026-02-01T00:00:00Z, sunset: 2026-01-01T00:00:00Z}}}]", "routes[0].policy.lifecycle.sunset: is before deprecated"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			cfg, err := config.Parse("gw.yaml", []byte(head+c.yaml), func(string) (string, bool) { return "", false })
			if err == nil {
				var g *gateway.Gateway
				if g, err = cfg.Build(gateway.WithLogger(quiet)); err == nil {
					g.Close()
				}
			}
			if err == nil {
				t.Fatalf("err = nil, want it to contain %q", c.want)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v\nwant it to contain %q", err, c.want)
			}
		})
	}
}

// Regression test: Idempotency.Methods says "If empty, POST and PATCH",
// and the served API document said so, but an empty list (a file's
// "methods: []") protected no method.
func TestAnEmptyIdempotencyMethodListProtectsPOSTAndPATCH(t *testing.T) {
	t.Parallel()
	up, hits := jsonServer(t, `{"created":true}`)
	_, srv := newGateway(t, gateway.WithUpstream(upstreamOf(t, "app", up)),
		gateway.WithRoute(gateway.Route{Path: "/payments", Upstream: "app",
			Policy: gateway.Policy{Idempotency: &gateway.Idempotency{Methods: []string{}}}}))
	for range 2 {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/payments", strings.NewReader(`{"amount":1}`))
		req.Header.Set("Idempotency-Key", "k1")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	if got, want := hits.Load(), int64(1); got != want {
		t.Errorf("two POSTs with one key reached the upstream %d times, want %d", got, want)
	}
}
