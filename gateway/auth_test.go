package gateway_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/gateway"
	"github.com/portico-dev/portico/gateway/config"
	"github.com/portico-dev/portico/middleware"
	"github.com/portico-dev/portico/middleware/ratelimit"
)

// keyed is the API key of alice in the tests; only its hash is configured.
const keyed = "alice-secret-key-0123456789"

func authGateway(t *testing.T, routes ...gateway.Route) string {
	t.Helper()
	up, _ := countingServer(t, "app")
	_, srv := newGateway(t, gateway.WithUpstream(upstreamOf(t, "app", up)),
		config.WithConsumers(
			config.ConsumerConfig{Consumer: middleware.Consumer{
				ID:     "alice",
				Tenant: "acme",
				Plan:   "gold",
				Scopes: []string{"orders:read"},
			},
				Keys: []config.APIKeyConfig{{ID: "alice-1", Secret: keyed}}},
			config.ConsumerConfig{Consumer: middleware.Consumer{ID: "bob", Plan: "free"},
				Keys: []config.APIKeyConfig{{ID: "bob-1", SHA256: sha256Hex("bob-secret-key-0123456789")}}},
		),
		gateway.WithRoute(routes...))
	return srv.URL
}

func getWith(t *testing.T, url string, header ...string) (*http.Response, echo) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Add(header[i], header[i+1])
	}
	return do(t, http.DefaultClient, req)
}

func TestAPIKeyAuthentication(t *testing.T) {
	t.Parallel()
	url := authGateway(t, gateway.Route{Path: "/orders", Upstream: "app",
		Policy: gateway.Policy{Auth: &gateway.Auth{Methods: []string{"api_key"}}}})
	for _, c := range []struct {
		name   string
		header []string
		want   int
	}{
		{"a request without a key is answered 401", nil, 401},
		{"a wrong key is answered 401", []string{"X-API-Key", "nope"}, 401},
		{"a key in X-API-Key is accepted", []string{"X-API-Key", keyed}, 200},
		{"a key as a Bearer token is accepted", []string{"Authorization", "Bearer " + keyed}, 200},
		{"a key configured by its hash is accepted", []string{"X-API-Key", "bob-secret-key-0123456789"}, 200},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			resp, _ := getWith(t, url+"/orders", c.header...)
			if resp.StatusCode != c.want {
				t.Fatalf("status %d, want %d", resp.StatusCode, c.want)
			}
			if c.want != 401 {
				return
			}
			if resp.Header.Get("WWW-Authenticate") == "" {
				t.Errorf("401 lacks a challenge: %v", resp.Header)
			}
			if got, want := resp.Header.Get("Content-Type"), "application/problem+json"; got != want {
				t.Errorf("401 Content-Type = %q, want %q", got, want)
			}
		})
	}
}

func TestScopesAndIdentity(t *testing.T) {
	t.Parallel()
	url := authGateway(t,
		gateway.Route{Path: "/orders", Upstream: "app",
			Policy: gateway.Policy{Auth: &gateway.Auth{Scopes: []string{"orders:read"}}}},
		gateway.Route{Path: "/admin", Upstream: "app",
			Policy: gateway.Policy{Auth: &gateway.Auth{Scopes: []string{"admin", "orders:write"}, AnyScope: true}}},
		gateway.Route{Path: "/public", Upstream: "app",
			Policy: gateway.Policy{Auth: &gateway.Auth{Anonymous: true}}},
		gateway.Route{Path: "/open", Upstream: "app"},
	)
	t.Run("a consumer lacking a required scope is answered 403", func(t *testing.T) {
		t.Parallel()
		if resp, _ := getWith(t, url+"/orders", "X-API-Key", "bob-secret-key-0123456789"); resp.StatusCode != http.StatusForbidden {
			t.Errorf("bob on /orders: %d, want 403", resp.StatusCode)
		}
		if resp, _ := getWith(t, url+"/admin", "X-API-Key", keyed); resp.StatusCode != http.StatusForbidden {
			t.Errorf("alice on /admin (any of admin, orders:write): %d, want 403", resp.StatusCode)
		}
	})
	t.Run("the verified consumer reaches the upstream in the identity headers", func(t *testing.T) {
		t.Parallel()
		resp, e := getWith(t, url+"/orders", "X-API-Key", keyed)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d", resp.StatusCode)
		}
		for k, want := range map[string]string{"X-Consumer-Id": "alice", "X-Consumer-Tenant": "acme", "X-Consumer-Plan": "gold", "X-Consumer-Scopes": "orders:read"} {
			if got := e.Header.Get(k); got != want {
				t.Errorf("%s = %q, want %q", k, got, want)
			}
		}
	})
	for _, path := range []string{"/orders", "/public", "/open"} {
		t.Run("a spoofed identity header never reaches the upstream on "+path, func(t *testing.T) {
			t.Parallel()
			hdr := []string{"X-Consumer-ID", "root", "X-Consumer_Plan", "unlimited", "X-Consumer-Scopes", "admin"}
			if path == "/orders" {
				hdr = append(hdr, "X-API-Key", keyed)
			}
			resp, e := getWith(t, url+path, hdr...)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d", resp.StatusCode)
			}
			for k, v := range e.Header {
				if strings.EqualFold(strings.ReplaceAll(k, "_", "-"), "X-Consumer-Plan") && path != "/orders" {
					t.Errorf("%s: %s = %v reached the upstream", path, k, v)
				}
				for _, spoof := range []string{"root", "unlimited"} {
					if strings.Contains(strings.Join(v, ","), spoof) {
						t.Errorf("%s: spoofed %s = %v reached the upstream", path, k, v)
					}
				}
			}
		})
	}
	t.Run("an anonymous route admits callers without a key but refuses a bad one", func(t *testing.T) {
		t.Parallel()
		if resp, _ := getWith(t, url+"/public"); resp.StatusCode != http.StatusOK {
			t.Errorf("anonymous: %d, want 200", resp.StatusCode)
		}
		if resp, _ := getWith(t, url+"/public", "X-API-Key", "bad"); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("bad key: %d, want 401", resp.StatusCode)
		}
	})
}

func TestRateLimitsAndQuotas(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	up, hits := countingServer(t, "app")
	_, srv := newGateway(t, gateway.WithUpstream(upstreamOf(t, "app", up)),
		gateway.WithClock(func() time.Time { return now }),
		config.WithConsumers(
			config.ConsumerConfig{Consumer: middleware.Consumer{ID: "alice", Plan: "gold"}, Keys: []config.APIKeyConfig{{ID: "alice-1", Secret: keyed}}},
			config.ConsumerConfig{Consumer: middleware.Consumer{ID: "bob", Plan: "free"},
				Keys: []config.APIKeyConfig{{ID: "bob-1", Secret: "bob-secret-key-0123456789"}}},
		),
		gateway.WithRoute(
			gateway.Route{Path: "/limited", Upstream: "app", Policy: gateway.Policy{
				Auth:      &gateway.Auth{},
				RateLimit: &gateway.RateLimit{Requests: 1, Per: time.Minute, Plans: map[string]ratelimit.Limit{"gold": {Requests: 3, Period: time.Minute}}},
			}},
			gateway.Route{Path: "/quota", Upstream: "app", Policy: gateway.Policy{
				Auth:  &gateway.Auth{},
				Quota: &gateway.Quota{Limit: 2, Cost: 1},
			}},
		))
	count := func(path, key string, n int) (ok int, last *http.Response) {
		for range n {
			resp, _ := getWith(t, srv.URL+path, "X-API-Key", key)
			if resp.StatusCode == http.StatusOK {
				ok++
			}
			last = resp
		}
		return ok, last
	}
	t.Run("each plan gets its own rate and the excess gets 429 with RateLimit headers", func(t *testing.T) {
		before := hits.Load()
		ok, last := count("/limited", keyed, 4)
		if got, want := ok, 3; got != want {
			t.Errorf("gold: %d allowed, want %d", got, want)
		}
		if got, want := last.StatusCode, http.StatusTooManyRequests; got != want {
			t.Errorf("gold: last status %d, want %d", got, want)
		} else {
			for _, name := range []string{"RateLimit", "RateLimit-Policy", "Retry-After"} {
				if last.Header.Get(name) == "" {
					t.Errorf("429 without %s: %v", name, last.Header)
				}
			}
		}
		if ok, _ := count("/limited", "bob-secret-key-0123456789", 2); ok != 1 {
			t.Errorf("free: %d allowed, want 1", ok)
		}
		if got := hits.Load() - before; got != 4 {
			t.Errorf("upstream saw %d requests, want 4", got)
		}
	})
	t.Run("a quota stops a consumer for the rest of the day", func(t *testing.T) {
		ok, last := count("/quota", keyed, 3)
		if got, want := ok, 2; got != want {
			t.Errorf("%d allowed, want %d", got, want)
		}
		if got, want := last.StatusCode, http.StatusTooManyRequests; got != want {
			t.Errorf("last status %d, want %d", got, want)
		}
		if ok, _ := count("/quota", "bob-secret-key-0123456789", 1); ok != 1 {
			t.Error("bob's quota was used by alice")
		}
	})
}

func TestAccessConfigMistakesNameTheField(t *testing.T) {
	t.Parallel()
	head := "upstreams: [{name: app, instances: [{url: http://127.0.0.1:1}]}]\n"
	for _, c := range []struct{ name, yaml, want string }{
		{"a consumer's method is set per request, never in a file", "consumers: [{id: a, method: apikey}]\nroutes: [{path: /, upstream: app}]",
			"consumers[0].method: unknown field (known: api_keys, id, metadata, plan, roles, scopes, tenant)"},
		{"a consumer without an ID", "consumers: [{tenant: acme}]\nroutes: [{path: /, upstream: app}]",
			"consumers[0].id: is required"},
		{"a key hash that is not hex", "consumers: [{id: a, api_keys: [{id: k, sha256: xyz}]}]\nroutes: [{path: /, upstream: app}]",
			"consumers[0].api_keys[0].sha256: is not a SHA-256 hash"},
		{"a key without hash or secret", "consumers: [{id: a, api_keys: [{id: k}]}]\nroutes: [{path: /, upstream: app}]",
			"consumers[0].api_keys[0].sha256: set sha256"},
		{"an unset secret variable", "consumers: [{id: a, api_keys: [{id: k, secret: '${NO_SUCH_KEY}'}]}]\nroutes: [{path: /, upstream: app}]",
			"consumers[0].api_keys[0].secret: environment variable NO_SUCH_KEY is not set"},
		{"a route naming an unknown authenticator", "consumers: [{id: a, api_keys: [{id: k, secret: s}]}]\nroutes: [{path: /, upstream: app, policy: {auth: {methods: [jwt]}}}]",
			`routes[0].policy.auth.methods[0]: "jwt" is not an authenticator (defined: api_key)`},
		{"auth without any authenticator", "routes: [{path: /, upstream: app, policy: {auth: {}}}]",
			"routes[0].policy.auth: the gateway has no authenticator"},
		{"a rate limit without requests", "routes: [{path: /, upstream: app, policy: {rate_limit: {per: 1s}}}]",
			"routes[0].policy.rate_limit.requests: must be at least 1"},
		{"a rate-limit key that does not exist", "routes: [{path: /, upstream: app, policy: {rate_limit: {requests: 1, key: user}}}]",
			`routes[0].policy.rate_limit.key: "user" is not a key`},
		{"a quota period that does not exist", "routes: [{path: /, upstream: app, policy: {quota: {limit: 1, period: week}}}]",
			`routes[0].policy.quota.period: "week" is not a period`},
		{"a JWT issuer without algorithms", "auth_methods: [{name: corp, jwt: {jwks_url: 'http://127.0.0.1:1/jwks'}}]\nroutes: [{path: /, upstream: app}]",
			"auth_methods[0].jwt.algorithms: is required"},
		{"an authenticator of two kinds", "auth_methods: [{name: x, api_key: {}, client_cert: {}}]\nroutes: [{path: /, upstream: app}]",
			"auth_methods[0].name: set exactly one"},
		{"a store without redis", "store: {fail_closed: true}\nroutes: [{path: /, upstream: app}]",
			"store.redis: is required"},
		{"a cache scope that does not exist", "routes: [{path: /, upstream: app, policy: {cache: {ttl: 1s, scope: user}}}]",
			`routes[0].policy.cache.scope: "user" is not a scope`},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			cfg, err := config.Parse("gw.yaml", []byte(head+c.yaml), func(string) (string, bool) { return "", false })
			if err == nil {
				var g *gateway.Gateway
				g, err = cfg.Build(gateway.WithLogger(quiet))
				if err == nil {
					g.Close()
				}
			}
			if err == nil {
				t.Fatalf("err = nil, want it to contain %q", c.want)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v\nwant it to contain %q", err, c.want)
			}
			if !strings.Contains(err.Error(), "gw.yaml:") {
				t.Errorf("err = %v, want the file and line", err)
			}
		})
	}
}

func TestAccessConfigWorksEndToEnd(t *testing.T) {
	t.Parallel()
	up, _ := countingServer(t, "app")
	yaml := `
upstreams: [{name: app, instances: [{url: ` + up.URL + `}]}]
consumers:
  - id: alice
    plan: gold
    scopes: [read]
    api_keys:
      - {id: alice-1, secret: "${ALICE_KEY}"}
identity: {consumer: X-User}
routes:
  - path: /r
    upstream: app
    policy:
      auth: {scopes: [read]}
      rate_limit: {requests: 1, per: 1m, key: api_key}
`
	env := map[string]string{"ALICE_KEY": keyed}
	cfg, err := config.Parse("gw.yaml", []byte(yaml), func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	g, err := cfg.Build(gateway.WithLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	srv := httptestServer(t, g)
	resp, e := getWith(t, srv+"/r", "X-API-Key", keyed, "X-User", "mallory")
	if got, want := resp.StatusCode, http.StatusOK; got != want {
		t.Errorf("status %d, want %d", got, want)
	}
	if got, want := e.Header.Get("X-User"), "alice"; got != want {
		t.Errorf("X-User %q, want %q", got, want)
	}
	if resp, _ := getWith(t, srv+"/r", "X-API-Key", keyed); resp.StatusCode != http.StatusTooManyRequests {
		t.Errorf("second request: %d, want 429", resp.StatusCode)
	}
	var chain []string
	for _, r := range g.Routes() {
		chain = r.Chain
	}
	b, _ := json.Marshal(chain)
	if want := `["auth(api_key)","authorize(all: read)","identity","rate_limit(1/1m0s, key=api_key)","proxy"]`; string(b) != want {
		t.Errorf("chain = %s, want %s", b, want)
	}
}

func TestAConfiguredConsumerCarriesEveryIdentityField(t *testing.T) {
	t.Parallel()
	up, _ := countingServer(t, "app")
	yaml := `
upstreams: [{name: app, instances: [{url: ` + up.URL + `}]}]
consumers:
  - id: alice
    tenant: acme
    plan: gold
    scopes: [read, write]
    roles: [admin]
    metadata: {team: checkout}
    api_keys: [{id: alice-1, secret: "${ALICE_KEY}"}]
routes:
  - {path: /r, upstream: app, policy: {auth: {roles: [admin]}}}
`
	env := map[string]string{"ALICE_KEY": keyed}
	cfg, err := config.Parse("gw.yaml", []byte(yaml), func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	if got, want := cfg.Consumers[0].Metadata["team"], "checkout"; got != want {
		t.Errorf("metadata team = %q, want %q", got, want)
	}
	g, err := cfg.Build(gateway.WithLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	resp, e := getWith(t, httptestServer(t, g)+"/r", "X-API-Key", keyed)
	if got, want := resp.StatusCode, http.StatusOK; got != want {
		t.Fatalf("status = %d, want %d (the role admin must pass)", got, want)
	}
	for header, want := range map[string]string{"X-Consumer-Id": "alice", "X-Consumer-Tenant": "acme",
		"X-Consumer-Plan": "gold", "X-Consumer-Scopes": "read write", "X-Consumer-Roles": "admin"} {
		if got := e.Header.Get(header); got != want {
			t.Errorf("%s = %q, want %q", header, got, want)
		}
	}
}

func TestARegisteredKeyFunctionNamesTheBucket(t *testing.T) {
	t.Parallel()
	up, _ := countingServer(t, "app")
	_, srv := newGateway(t, gateway.WithUpstream(upstreamOf(t, "app", up)),
		gateway.WithKey("account", func(r *http.Request) string { return r.URL.Query().Get("account") }),
		gateway.WithRoute(gateway.Route{Path: "/r", Upstream: "app",
			Policy: gateway.Policy{RateLimit: &gateway.RateLimit{Requests: 1, Per: time.Minute, Key: "account"}}}))
	for _, c := range []struct {
		account string
		want    int
	}{{"a", http.StatusOK}, {"b", http.StatusOK}, {"a", http.StatusTooManyRequests}} {
		if resp, _ := getWith(t, srv.URL+"/r?account="+c.account); resp.StatusCode != c.want {
			t.Errorf("account %s: %d, want %d", c.account, resp.StatusCode, c.want)
		}
	}
}
