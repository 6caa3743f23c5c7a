package config_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/gateway"
	"github.com/portico-dev/portico/gateway/config"
	"github.com/portico-dev/portico/gateway/internal/gwtest"
	"github.com/portico-dev/portico/internal/redistest"
)

// platformYAML is a config file with a platform section; %s is the
// upstream's URL, %d a number that changes between reloads.
const platformYAML = `
middleware: [request_id]
upstreams:
  - name: orders
    instances: [{url: %q}]
routes:
  - name: orders
    prefix: /orders
    upstream: orders
    policy:
      auth: {methods: [platform]}
      subscription: orders
      cache: {ttl: 1m, scope: consumer}
      quota: {limit: 1000}
  - name: version
    path: /version/%d
    upstream: orders
platform:
  file: platform.db
  admin_tokens:
    root: ${ADMIN_TOKEN}
  call_log:
    ring: 100
    resolution: 1s
    retention: 1m
`

func TestAConfigFileWithAPlatformSectionKeepsItsStateAcrossReloadsAndRestarts(t *testing.T) {
	t.Parallel()
	up := gwtest.EchoServer(t, "orders")
	path := filepath.Join(t.TempDir(), "gateway.yaml")
	write := func(n int) {
		if err := os.WriteFile(path, fmt.Appendf(nil, platformYAML, up.URL, n), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	env := func(k string) (string, bool) {
		if k == "ADMIN_TOKEN" {
			return gwtest.PlatformToken, true
		}
		return "", false
	}
	start := func() (*config.Reloader, string, string) {
		rl, err := config.NewReloader(config.ReloadConfig{
			Load: func(st *gateway.State) (*gateway.Gateway, error) {
				data, err := os.ReadFile(path)
				if err != nil {
					return nil, err
				}
				c, err := config.Parse(path, data, env)
				if err != nil {
					return nil, err
				}
				return c.Build(gateway.WithLogger(gwtest.Quiet), gateway.WithState(st))
			},
			Drain: 5 * time.Second, Logger: gwtest.Quiet,
		})
		if err != nil {
			t.Fatal(err)
		}
		pub := httptest.NewServer(rl)
		adm := httptest.NewServer(gateway.Admin(gateway.AdminConfig{Gateway: rl.Current}))
		t.Cleanup(func() {
			pub.Close()
			adm.Close()
			_ = rl.Close()
		})
		return rl, pub.URL, adm.URL + "/platform"
	}

	write(1)
	rl, pub, adm := start()
	key := gwtest.Onboard(t, adm)
	gwtest.SubscribeAndApprove(t, pub, adm, key)
	before := gwtest.Call(t, http.MethodGet, pub+"/orders/1", key, nil, http.StatusOK).Header.Get("X-Request-Id")

	write(2)
	if err := rl.Reload(context.Background()); err != nil {
		t.Fatalf("reloading with the platform file open: %v", err)
	}
	gwtest.Call(t, http.MethodGet, pub+"/version/2", "", nil, http.StatusOK)
	gwtest.Call(t, http.MethodGet, pub+"/orders/1", key, nil, http.StatusOK)
	gwtest.Call(t, http.MethodGet, adm+"/api/subscriptions?state=active", gwtest.PlatformToken, nil, http.StatusOK)
	r := gwtest.Call(t, http.MethodGet, adm+"/api/calls?tenant=acme", gwtest.PlatformToken, nil, http.StatusOK)
	if !strings.Contains(string(r.Body), `"request_id":"`+before+`"`) {
		t.Errorf("call log after the reload = %s, want the call made before it (request ID %q) kept", r.Body, before)
	}

	// A restart: everything closed, then opened again from the file.
	if err := rl.Close(); err != nil {
		t.Fatal(err)
	}
	_, pub, adm = start()
	gwtest.Call(t, http.MethodGet, pub+"/orders/1", key, nil, http.StatusOK)
	gwtest.Call(t, http.MethodPost, adm+"/api/subscriptions/shop.orders/revoke", gwtest.PlatformToken, map[string]string{"reason": "unpaid"}, http.StatusOK)
	gwtest.Call(t, http.MethodGet, pub+"/orders/1", key, nil, http.StatusForbidden)
}

func TestThePortalShowsAConsumerTheQuotaItHasLeft(t *testing.T) {
	t.Parallel()
	up := gwtest.EchoServer(t, "orders")
	pub, adm := serveFile(t, filepath.Join(t.TempDir(), "g.yaml"), fmt.Sprintf(platformYAML, up.URL, 1),
		gwtest.Env(map[string]string{"ADMIN_TOKEN": gwtest.PlatformToken}))
	key := gwtest.Onboard(t, adm+"/platform")
	gwtest.SubscribeAndApprove(t, pub, adm+"/platform", key)
	type quota struct {
		API               string
		Limit, Used, Left int64
	}
	quotas := func() []quota {
		var usage struct{ Quotas []quota }
		if err := json.Unmarshal(gwtest.Call(t, http.MethodGet, pub+"/subscriptions/usage", key, nil, http.StatusOK).Body, &usage); err != nil {
			t.Fatal(err)
		}
		if got, want := len(usage.Quotas), 1; got != want {
			t.Fatalf("quotas = %+v, want one", usage.Quotas)
		}
		return usage.Quotas
	}
	before := quotas()[0]
	for range 3 {
		gwtest.Call(t, http.MethodGet, pub+"/orders/1", key, nil, http.StatusOK)
	}
	after := quotas()[0]
	if got, want := after.API, "orders"; got != want {
		t.Errorf("quota of API %q, want %q", got, want)
	}
	if got, want := after.Left, before.Left-3; got != want {
		t.Errorf("quota left after three calls = %d, want %d", got, want)
	}
	if got, want := after.Used+after.Left, int64(1000); got != want {
		t.Errorf("used + left = %d, want the limit %d", got, want)
	}
}

func TestAGatewayFromAConfigFileWithoutAStateOwnsItsPlatformFile(t *testing.T) {
	t.Parallel()
	up := gwtest.EchoServer(t, "orders")
	path := filepath.Join(t.TempDir(), "gateway.yaml")
	data := fmt.Appendf(nil, platformYAML, up.URL, 1)
	env := func(string) (string, bool) { return gwtest.PlatformToken, true }
	for range 2 { // the second build opens the file the first one closed
		c, err := config.Parse(path, data, env)
		if err != nil {
			t.Fatal(err)
		}
		g, err := c.Build(gateway.WithLogger(gwtest.Quiet))
		if err != nil {
			t.Fatal(err)
		}
		if config.PlatformOf(g) == nil {
			t.Error("the gateway has no platform")
		}
		if err := g.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestAMistakeInThePlatformSectionNamesTheField(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tests := []struct {
		name    string
		section string
		want    string
	}{
		{"neither a file nor redis", "platform: {admin_tokens: {root: %s}}", "platform.file: is required"},
		{"both a file and redis", "platform: {file: p.db, redis: true, admin_tokens: {root: %s}}", "platform.redis: set either file or redis"},
		{"redis without a store", "platform: {redis: true, admin_tokens: {root: %s}}", "platform.redis: needs the store section's redis address"},
		{"no admin token", "platform: {file: p.db}%.0s", "platform.admin_tokens: is required"},
		{"a short admin token", "platform: {file: p.db, admin_tokens: {root: short}}%.0s", "platform.admin_tokens.root: the token must be at least 16 bytes"},
		{"a negative refresh", "platform: {file: p.db, refresh: -1s, admin_tokens: {root: %s}}", "platform.refresh: must not be negative"},
		{"a currency that is not a code", "platform: {file: p.db, currency: euro, admin_tokens: {root: %s}}", "platform.currency: \"euro\" is not an ISO 4217 code"},
		{"a negative ring", "platform: {file: p.db, admin_tokens: {root: %s}, call_log: {ring: -1}}", "platform.call_log.ring: must not be negative"},
		{"a retention shorter than the resolution", "platform: {file: p.db, admin_tokens: {root: %s}, call_log: {resolution: 1m, retention: 1s}}", "platform.call_log.retention: must be at least one resolution"},
		{"an unknown field", "platform: {file: p.db, admin_tokens: {root: %s}, tokens: {}}", "platform.tokens"},
		{"a call-log sink of no kind", "platform: {file: p.db, admin_tokens: {root: %s}, call_log: {sinks: [{}]}}", "platform.call_log.sinks[0]: set exactly one of loki, file or otlp"},
		{"a call-log sink of two kinds", "platform: {file: p.db, admin_tokens: {root: %s}, call_log: {sinks: [{otlp: {}}, {otlp: {}, file: {path: c.jsonl}}]}}", "platform.call_log.sinks[1]: set exactly one of loki, file or otlp"},
		{"a loki sink without a URL", "platform: {file: p.db, admin_tokens: {root: %s}, call_log: {sinks: [{loki: {}}]}}", "platform.call_log.sinks[0].loki.url: is required"},
		{"a loki sink with a bad URL", "platform: {file: p.db, admin_tokens: {root: %s}, call_log: {sinks: [{loki: {url: 'loki:3100'}}]}}", "platform.call_log.sinks[0].loki.url: \"loki:3100\" is not an http(s) URL"},
		{"a file sink without a path", "platform: {file: p.db, admin_tokens: {root: %s}, call_log: {sinks: [{file: {}}]}}", "platform.call_log.sinks[0].file.path: is required"},
		{"a file sink with negative sizes", "platform: {file: p.db, admin_tokens: {root: %s}, call_log: {sinks: [{file: {path: c.jsonl, max_bytes: -1}}]}}", "platform.call_log.sinks[0].file.max_bytes: must not be negative"},
		{"a file sink keeping fewer than none", "platform: {file: p.db, admin_tokens: {root: %s}, call_log: {sinks: [{file: {path: c.jsonl, keep: -1}}]}}", "platform.call_log.sinks[0].file.keep: must not be negative"},
		{"a negative queue", "platform: {file: p.db, admin_tokens: {root: %s}, call_log: {queue: -1}}", "platform.call_log.queue: must not be negative"},
		{"an unknown sink kind", "platform: {file: p.db, admin_tokens: {root: %s}, call_log: {sinks: [{kafka: {}}]}}", "platform.call_log.sinks[0].kafka"},
		{"a subscription that is not an API ID", "platform: {file: p.db, admin_tokens: {root: %s}}\nroutes: [{name: x, prefix: /x, upstream: u, policy: {auth: {methods: [platform]}, subscription: 'a b'}}]", "routes[0].policy.subscription: \"a b\" is not an API ID"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(dir, fmt.Sprintf("g%d.yaml", i))
			data := "upstreams: [{name: u, instances: [{url: 'http://127.0.0.1:1'}]}]\n" + fmt.Sprintf(tt.section, gwtest.PlatformToken)
			if !strings.Contains(data, "routes:") {
				data += "\nroutes: [{name: x, prefix: /x, upstream: u}]"
			}
			c, err := config.Parse(path, []byte(data), nil)
			if err == nil {
				var g *gateway.Gateway
				g, err = c.Build(gateway.WithLogger(gwtest.Quiet))
				if err == nil {
					g.Close()
					t.Fatal("the configuration was accepted")
				}
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestThePlatformSectionSetsTheDashboardsHealthPanelCurrencyAndRange(t *testing.T) {
	t.Parallel()
	up := gwtest.EchoServer(t, "orders")
	data := fmt.Sprintf(`
upstreams:
  - name: orders
    instances: [{url: %q}]
    health_check: {path: /, interval: 1h, healthy_threshold: 1}
  - name: down
    instances: [{url: "http://127.0.0.1:1"}]
routes: [{name: orders, prefix: /orders, upstream: orders}]
platform:
  file: platform.db
  admin_tokens: {root: %s}
  upstream_health: true
  currency: EUR
  call_log: {retention: 24h}
`, up.URL, gwtest.PlatformToken)
	adm := adminOf(t, filepath.Join(t.TempDir(), "g.yaml"), data)
	page := string(gwtest.Call(t, http.MethodGet, adm+"/platform/dashboard", gwtest.PlatformToken, nil, http.StatusOK).Body)
	for _, want := range []string{
		`data-upstream="orders">orders 1/1 healthy`,
		`data-upstream="down">down 1/1 healthy`, // no health check: trusted until outlier detection says otherwise
		`0.0000 EUR`,
		`window=24h0m0s`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("dashboard lacks %q", want)
		}
	}
}

func TestThePlatformSectionDocumentedInTheExampleConfigParses(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile(filepath.Join("..", "examples", "gateway", "gateway.example.yaml"))
	if err != nil {
		t.Skipf("the example configuration is not beside the package: %v", err)
	}
	// The block is commented out in the example; uncomment it, with its
	// file in a temporary directory.
	var section []string
	in := false
	for line := range strings.Lines(string(data)) {
		switch {
		case strings.HasPrefix(line, "# platform:"):
			in = true
		case in && !strings.HasPrefix(line, "#"):
			in = false
		}
		if in {
			section = append(section, strings.TrimPrefix(line, "# "))
		}
	}
	if len(section) < 5 {
		t.Fatalf("the example configuration documents no platform section")
	}
	doc := strings.Join(section, "")
	doc = strings.Replace(doc, "/var/lib/portico/platform.db", filepath.Join(t.TempDir(), "platform.db"), 1)
	doc += "upstreams: [{name: u, instances: [{url: 'http://127.0.0.1:1'}]}]\n" +
		"routes: [{name: users, prefix: /users, upstream: u, policy: {auth: {methods: [platform]}, subscription: users}}]\n"
	c, err := config.Parse("example-platform.yaml", []byte(doc), func(string) (string, bool) { return gwtest.PlatformToken, true })
	if err != nil {
		t.Fatalf("the documented platform section does not parse: %v\n%s", err, doc)
	}
	g, err := c.Build(gateway.WithLogger(gwtest.Quiet))
	if err != nil {
		t.Fatalf("the documented platform section does not build: %v", err)
	}
	defer g.Close()
	if chain := strings.Join(g.Routes()[0].Chain, " "); !strings.Contains(chain, "subscription(users)") {
		t.Errorf("chain = %s, want the subscription stage", chain)
	}
}

func TestTwoReplicasWithARedisPlatformSeeARevocationOnTheNextRequest(t *testing.T) {
	t.Parallel()
	rs := redistest.Start(t)
	up := gwtest.EchoServer(t, "orders")
	yaml := fmt.Sprintf(`
upstreams: [{name: orders, instances: [{url: %q}]}]
store: {redis: {address: %q, prefix: "replicas:", timeout: 5s}}
routes: [{name: orders, prefix: /orders, upstream: orders, policy: {auth: {methods: [platform]}, subscription: orders}}]
platform: {redis: true, admin_tokens: {root: %s}}
`, up.URL, rs.Addr(), gwtest.PlatformToken)
	replica := func() (pub, adm string) {
		c, err := config.Parse("gw.yaml", []byte(yaml), nil)
		if err != nil {
			t.Fatal(err)
		}
		g, err := c.Build(gateway.WithLogger(gwtest.Quiet))
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		g.Start(ctx)
		t.Cleanup(func() {
			cancel()
			_ = g.Close()
		})
		return gwtest.Serve(t, g), gwtest.Serve(t, gateway.Admin(gateway.AdminConfig{Gateway: func() *gateway.Gateway { return g }})) + "/platform"
	}
	pub1, adm1 := replica()
	pub2, _ := replica()
	key := gwtest.Onboard(t, adm1)
	gwtest.SubscribeAndApprove(t, pub1, adm1, key)
	gwtest.Call(t, http.MethodGet, pub2+"/orders/1", key, nil, http.StatusOK)
	gwtest.Call(t, http.MethodPost, adm1+"/api/subscriptions/shop.orders/revoke", gwtest.PlatformToken, map[string]string{"reason": "unpaid"}, http.StatusOK)
	gwtest.Call(t, http.MethodGet, pub2+"/orders/1", key, nil, http.StatusForbidden)
}
