package gateway_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/gateway"
	"github.com/portico-dev/portico/gateway/config"
	"github.com/portico-dev/portico/middleware"
	"github.com/portico-dev/portico/middleware/cache"
)

// cachedServer starts an upstream whose responses may be stored for a
// minute and say body, with {consumer} and {tenant} replaced by the
// identity headers the gateway sends.
func cachedServer(t *testing.T, body string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		_, _ = io.WriteString(w, strings.NewReplacer("{consumer}", r.Header.Get("X-Consumer-ID"),
			"{tenant}", r.Header.Get("X-Consumer-Tenant")).Replace(body))
	}))
	t.Cleanup(srv.Close)
	return srv
}

// cacheStep is one request of a sequence and what it must get.
type cacheStep struct {
	name     string
	path     string
	header   []string // name, value pairs
	wantBody string
	wantHit  bool
	wantVary string // checked when not empty
}

// runCacheSteps sends the steps in order: each depends on what the ones
// before stored.
func runCacheSteps(t *testing.T, base string, steps []cacheStep) {
	t.Helper()
	for _, s := range steps {
		resp := fetch(t, base+s.path, s.header...)
		body := readAll(t, resp)
		if got, want := resp.StatusCode, http.StatusOK; got != want {
			t.Errorf("%s: status %d, want %d (%s)", s.name, got, want, body)
			continue
		}
		if body != s.wantBody {
			t.Errorf("%s: body %q, want %q", s.name, body, s.wantBody)
		}
		cs := resp.Header.Get("Cache-Status")
		if hit := strings.Contains(cs, "; hit"); hit != s.wantHit {
			t.Errorf("%s: Cache-Status %q, want hit %v", s.name, cs, s.wantHit)
		}
		if s.wantVary != "" {
			if got := strings.Join(resp.Header.Values("Vary"), ", "); got != s.wantVary {
				t.Errorf("%s: Vary %q, want %q", s.name, got, s.wantVary)
			}
		}
	}
}

func cached(ttl time.Duration) gateway.Policy {
	return gateway.Policy{Cache: &gateway.Cache{TTL: ttl}}
}

func TestCacheKeepsRoutesOnOnePathApart(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		routes []gateway.Route
	}{
		{name: "named routes told apart by a header never see each other's entries", routes: []gateway.Route{
			{
				Name:     "items-beta",
				Path:     "/items",
				Headers:  map[string]string{"X-Channel": "beta"},
				Upstream: "beta",
				Policy:   cached(time.Minute),
			},
			{
				Name:     "items",
				Path:     "/items",
				Upstream: "stable",
				Policy:   cached(time.Minute),
			},
		}},
		{name: "unnamed routes told apart by a header never see each other's entries", routes: []gateway.Route{
			{
				Path:     "/items",
				Headers:  map[string]string{"X-Channel": "beta"},
				Upstream: "beta",
				Policy:   cached(time.Minute),
			},
			{Path: "/items", Upstream: "stable", Policy: cached(time.Minute)},
		}},
		{name: "routes with one name told apart by a header never see each other's entries", routes: []gateway.Route{
			{
				Name:     "items",
				Path:     "/items",
				Headers:  map[string]string{"X-Channel": "beta"},
				Upstream: "beta",
				Policy:   cached(time.Minute),
			},
			{
				Name:     "items",
				Path:     "/items",
				Upstream: "stable",
				Policy:   cached(time.Minute),
			},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, srv := newGateway(t,
				gateway.WithUpstream(upstreamOf(t, "stable", cachedServer(t, "stable items"))),
				gateway.WithUpstream(upstreamOf(t, "beta", cachedServer(t, "beta items"))),
				gateway.WithRoute(tt.routes...))
			runCacheSteps(t, srv.URL, []cacheStep{
				{name: "the stable route fetches", path: "/items", wantBody: "stable items"},
				{
					name:     "the beta route is not served the stable entry",
					path:     "/items",
					header:   []string{"X-Channel", "beta"},
					wantBody: "beta items",
				},
				{
					name:     "the stable route hits its own entry",
					path:     "/items",
					wantBody: "stable items",
					wantHit:  true,
				},
				{
					name:     "the beta route hits its own entry",
					path:     "/items",
					header:   []string{"X-Channel", "beta"},
					wantBody: "beta items",
					wantHit:  true,
				},
			})
		})
	}
}

func TestCacheKeepsAPIVersionsApart(t *testing.T) {
	t.Parallel()
	accept := func(v string) []string { return []string{"Accept", "application/vnd.acme+json; version=" + v} }
	_, srv := newGateway(t,
		gateway.WithUpstream(upstreamOf(t, "orders-v1", cachedServer(t, "orders v1"))),
		gateway.WithUpstream(upstreamOf(t, "orders-v2", cachedServer(t, "orders v2"))),
		gateway.WithRoute(
			gateway.Route{
				Name:   "orders",
				Path:   "/orders",
				Policy: cached(time.Minute),
				Versions: &gateway.Versions{
					Targets: map[string]gateway.VersionTarget{"v1": {Upstream: "orders-v1"}, "v2": {Upstream: "orders-v2"}}},
			},
			gateway.Route{
				Name:   "invoices",
				Path:   "/invoices",
				Policy: cached(time.Minute),
				Versions: &gateway.Versions{
					Header: "-", Default: "v1",
					Targets: map[string]gateway.VersionTarget{"v1": {Upstream: "orders-v1"}, "v2": {Upstream: "orders-v2"}}},
			},
			gateway.Route{
				Name:   "payments",
				Path:   "/payments",
				Policy: cached(time.Minute),
				Versions: &gateway.Versions{
					Header: "X-Api-Version", Param: "-",
					Targets: map[string]gateway.VersionTarget{"v1": {Upstream: "orders-v1"}, "v2": {Upstream: "orders-v2"}}},
			},
		))
	runCacheSteps(t, srv.URL, []cacheStep{
		{
			name:     "version 1 by API-Version fetches",
			path:     "/orders",
			header:   []string{"API-Version", "1"},
			wantBody: "orders v1",
		},
		{
			name:     "version 2 by API-Version is not served version 1",
			path:     "/orders",
			header:   []string{"API-Version", "2"},
			wantBody: "orders v2",
		},
		{
			name:     "version 1 by API-Version hits its entry",
			path:     "/orders",
			header:   []string{"API-Version", "v1"},
			wantBody: "orders v1",
			wantHit:  true,
		},
		{
			name:     "version 2 by API-Version hits its entry",
			path:     "/orders",
			header:   []string{"API-Version", "2"},
			wantBody: "orders v2",
			wantHit:  true,
		},
		{
			name:     "version 1 by Accept is version 1's entry",
			path:     "/orders",
			header:   accept("1"),
			wantBody: "orders v1",
			wantHit:  true,
		},

		{name: "the default version of an Accept-versioned route fetches", path: "/invoices", wantBody: "orders v1"},
		{
			name:     "version 2 by Accept is not served the default version",
			path:     "/invoices",
			header:   accept("2"),
			wantBody: "orders v2",
		},
		{
			name:     "version 1 by Accept is the default version's entry",
			path:     "/invoices",
			header:   accept("1"),
			wantBody: "orders v1",
			wantHit:  true,
		},
		{
			name:     "version 2 by Accept hits its entry",
			path:     "/invoices",
			header:   accept("2"),
			wantBody: "orders v2",
			wantHit:  true,
		},

		{
			name:     "version 2 by a custom header fetches",
			path:     "/payments",
			header:   []string{"X-Api-Version", "2"},
			wantBody: "orders v2",
		},
		{
			name:     "version 1 by a custom header is not served version 2",
			path:     "/payments",
			header:   []string{"X-Api-Version", "1"},
			wantBody: "orders v1",
		},
		{
			name:     "version 2 by a custom header hits its entry",
			path:     "/payments",
			header:   []string{"X-Api-Version", "2"},
			wantBody: "orders v2",
			wantHit:  true,
		},
	})
}

func TestVersionedRoutesSendVaryForTheFieldsTheyRead(t *testing.T) {
	t.Parallel()
	targets := map[string]gateway.VersionTarget{"v1": {Upstream: "app"}}
	_, srv := newGateway(t,
		gateway.WithUpstream(upstreamOf(t, "app", cachedServer(t, "v1"))),
		gateway.WithRoute(
			gateway.Route{Path: "/both", Policy: cached(time.Minute), Versions: &gateway.Versions{Default: "v1", Targets: targets}},
			gateway.Route{Path: "/custom", Versions: &gateway.Versions{Default: "v1", Header: "X-Api-Version", Targets: targets}},
			gateway.Route{Path: "/header", Versions: &gateway.Versions{Default: "v1", Param: "-", Targets: targets}},
			gateway.Route{Path: "/accept", Versions: &gateway.Versions{Default: "v1", Header: "-", Targets: targets}},
			gateway.Route{Path: "/path", Versions: &gateway.Versions{
				Default: "v1",
				Header:  "-",
				Param:   "-",
				Targets: targets,
			}},
		))
	runCacheSteps(t, srv.URL, []cacheStep{
		{
			name:     "a route reading the header and Accept names both on a miss",
			path:     "/both",
			wantBody: "v1",
			wantVary: "API-Version, Accept",
		},
		{
			name:     "a route reading the header and Accept names both on a hit",
			path:     "/both",
			wantBody: "v1",
			wantHit:  true,
			wantVary: "API-Version, Accept",
		},
		{
			name:     "a route reading a custom header names it",
			path:     "/custom",
			wantBody: "v1",
			wantVary: "X-Api-Version, Accept",
		},
		{
			name:     "a route reading the header alone names it",
			path:     "/header",
			wantBody: "v1",
			wantVary: "API-Version",
		},
		{
			name:     "a route reading Accept alone names it",
			path:     "/accept",
			wantBody: "v1",
			wantVary: "Accept",
		},
	})
	resp := fetch(t, srv.URL+"/path")
	if got := resp.Header.Values("Vary"); len(got) != 0 {
		t.Errorf("a route reading the path alone: Vary %q, want none", got)
	}
}

func TestCacheScopesKeepCallersApart(t *testing.T) {
	t.Parallel()
	const bobKey, carolKey = "bob-secret-key-0123456789", "carol-secret-key-0123456789"
	_, srv := newGateway(t,
		gateway.WithUpstream(upstreamOf(t, "app", cachedServer(t, "for {consumer} of {tenant}"))),
		config.WithConsumers(
			config.ConsumerConfig{Consumer: middleware.Consumer{ID: "alice", Tenant: "acme"}, Keys: []config.APIKeyConfig{{ID: "a1", Secret: keyed}}},
			config.ConsumerConfig{Consumer: middleware.Consumer{ID: "bob", Tenant: "acme"}, Keys: []config.APIKeyConfig{{ID: "b1", Secret: bobKey}}},
			config.ConsumerConfig{Consumer: middleware.Consumer{ID: "carol", Tenant: "globex"}, Keys: []config.APIKeyConfig{{ID: "c1", Secret: carolKey}}},
		),
		gateway.WithRoute(
			gateway.Route{Path: "/mine", Upstream: "app", Policy: gateway.Policy{Auth: &gateway.Auth{},
				Cache: &gateway.Cache{TTL: time.Minute, Scope: "consumer"}}},
			gateway.Route{Path: "/team", Upstream: "app", Policy: gateway.Policy{Auth: &gateway.Auth{},
				Cache: &gateway.Cache{TTL: time.Minute, Scope: "tenant"}}},
		))
	alice, bob, carol := []string{"X-API-Key", keyed}, []string{"X-API-Key", bobKey}, []string{"X-API-Key", carolKey}
	runCacheSteps(t, srv.URL, []cacheStep{
		{
			name:     "alice fetches her own",
			path:     "/mine",
			header:   alice,
			wantBody: "for alice of acme",
		},
		{
			name:     "bob is not served alice's entry",
			path:     "/mine",
			header:   bob,
			wantBody: "for bob of acme",
		},
		{
			name:     "alice hits her entry",
			path:     "/mine",
			header:   alice,
			wantBody: "for alice of acme",
			wantHit:  true,
		},
		{
			name:     "bob hits his entry",
			path:     "/mine",
			header:   bob,
			wantBody: "for bob of acme",
			wantHit:  true,
		},

		{
			name:     "alice fetches for her tenant",
			path:     "/team",
			header:   alice,
			wantBody: "for alice of acme",
		},
		{
			name:     "carol of another tenant is not served acme's entry",
			path:     "/team",
			header:   carol,
			wantBody: "for carol of globex",
		},
		{
			name:     "bob of the same tenant shares acme's entry",
			path:     "/team",
			header:   bob,
			wantBody: "for alice of acme",
			wantHit:  true,
		},
		{
			name:     "carol hits her tenant's entry",
			path:     "/team",
			header:   carol,
			wantBody: "for carol of globex",
			wantHit:  true,
		},
	})
}

func TestCacheNamespaceSharesEntriesBetweenRoutes(t *testing.T) {
	t.Parallel()
	shared := gateway.Policy{Cache: &gateway.Cache{TTL: time.Minute, Namespace: "shared-users"}}
	_, srv := newGateway(t,
		gateway.WithUpstream(upstreamOf(t, "web", cachedServer(t, "users from web"))),
		gateway.WithUpstream(upstreamOf(t, "mobile", cachedServer(t, "users from mobile"))),
		gateway.WithUpstream(upstreamOf(t, "tv", cachedServer(t, "users from tv"))),
		gateway.WithRoute(
			gateway.Route{
				Name:     "users-mobile",
				Path:     "/users",
				Headers:  map[string]string{"X-Client": "mobile"},
				Upstream: "mobile",
				Policy:   shared,
			},
			gateway.Route{
				Name:     "users-tv",
				Path:     "/users",
				Headers:  map[string]string{"X-Client": "tv"},
				Upstream: "tv",
				Policy:   cached(time.Minute),
			},
			gateway.Route{
				Name:     "users",
				Path:     "/users",
				Upstream: "web",
				Policy:   shared,
			},
		))
	runCacheSteps(t, srv.URL, []cacheStep{
		{name: "a route in the namespace fetches", path: "/users", wantBody: "users from web"},
		{
			name:     "another route in the namespace is served that entry",
			path:     "/users",
			header:   []string{"X-Client", "mobile"},
			wantBody: "users from web",
			wantHit:  true,
		},
		{
			name:     "a route outside the namespace is not",
			path:     "/users",
			header:   []string{"X-Client", "tv"},
			wantBody: "users from tv",
		},
	})
}

func TestCacheEntriesSurviveARebuildOfTheSameConfiguration(t *testing.T) {
	t.Parallel()
	store := cache.NewMemory(cache.MemoryConfig{})
	opts := []gateway.Option{
		gateway.WithStores(gateway.Stores{Cache: store}),
		gateway.WithUpstream(upstreamOf(t, "stable", cachedServer(t, "stable items"))),
		gateway.WithUpstream(upstreamOf(t, "beta", cachedServer(t, "beta items"))),
		gateway.WithRoute(
			gateway.Route{
				Path:     "/items",
				Headers:  map[string]string{"X-Channel": "beta"},
				Upstream: "beta",
				Policy:   cached(time.Minute),
			},
			gateway.Route{Path: "/items", Upstream: "stable", Policy: cached(time.Minute)},
		),
	}
	_, first := newGateway(t, opts...)
	runCacheSteps(t, first.URL, []cacheStep{
		{name: "the first build fetches for the stable route", path: "/items", wantBody: "stable items"},
		{
			name:     "the first build fetches for the beta route",
			path:     "/items",
			header:   []string{"X-Channel", "beta"},
			wantBody: "beta items",
		},
	})
	// The second build is reached under the first one's host, so the
	// requests are for the same resource.
	g2, _ := newGateway(t, opts...)
	host := strings.TrimPrefix(first.URL, "http://")
	for _, s := range []struct {
		name, channel, want string
	}{
		{name: "the stable route", want: "stable items"},
		{name: "the beta route", channel: "beta", want: "beta items"},
	} {
		req := httptest.NewRequest(http.MethodGet, "http://"+host+"/items", nil)
		if s.channel != "" {
			req.Header.Set("X-Channel", s.channel)
		}
		w := httptest.NewRecorder()
		g2.ServeHTTP(w, req)
		if got := w.Body.String(); got != s.want {
			t.Errorf("%s after the rebuild: body %q, want %q", s.name, got, s.want)
		}
		if cs := w.Header().Get("Cache-Status"); !strings.Contains(cs, "; hit") {
			t.Errorf("%s after the rebuild: Cache-Status %q, want a hit", s.name, cs)
		}
	}
}

// buildYAML builds a quiet gateway from a configuration file without
// environment variables.
func buildYAML(yaml string) (*gateway.Gateway, error) {
	cfg, err := config.Parse("gw.yaml", []byte(yaml), func(string) (string, bool) { return "", false })
	if err != nil {
		return nil, err
	}
	return cfg.Build(gateway.WithLogger(quiet))
}

// TestRegressionCachedBodiesCrossedRoutesAndVersions: one cache store
// served every route, keyed by scope, host, path and query only, so two
// routes on one path told apart by a header, and API versions chosen by
// API-Version or Accept, were served each other's cached bodies with
// Cache-Status: hit. The gateway is built from a configuration file.
func TestRegressionCachedBodiesCrossedRoutesAndVersions(t *testing.T) {
	t.Parallel()
	users, admins := cachedServer(t, "users view"), cachedServer(t, "admin view")
	v1, v2 := cachedServer(t, "catalog v1"), cachedServer(t, "catalog v2")
	yaml := `
upstreams:
  - {name: users, instances: [{url: ` + users.URL + `}]}
  - {name: admins, instances: [{url: ` + admins.URL + `}]}
  - {name: catalog-v1, instances: [{url: ` + v1.URL + `}]}
  - {name: catalog-v2, instances: [{url: ` + v2.URL + `}]}
routes:
  - {path: /dashboard, headers: {X-Role: admin}, upstream: admins, policy: {cache: {ttl: 1m}}}
  - {path: /dashboard, upstream: users, policy: {cache: {ttl: 1m}}}
  - path: /catalog
    versions: {default: v1, targets: {v1: {upstream: catalog-v1}, v2: {upstream: catalog-v2}}}
    policy: {cache: {ttl: 1m}}
  - path: /catalog-by-header
    headers: {API-Version: "2"}
    upstream: catalog-v2
    policy: {cache: {ttl: 1m}}
  - {path: /catalog-by-header, upstream: catalog-v1, policy: {cache: {ttl: 1m}}}
`
	g, err := buildYAML(yaml)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Close() })
	base := httptestServer(t, g)
	runCacheSteps(t, base, []cacheStep{
		{name: "the users' dashboard fetches", path: "/dashboard", wantBody: "users view"},
		{
			name:     "the admin dashboard is not served the users' entry",
			path:     "/dashboard",
			header:   []string{"X-Role", "admin"},
			wantBody: "admin view",
		},
		{
			name:     "the users' dashboard hits its entry",
			path:     "/dashboard",
			wantBody: "users view",
			wantHit:  true,
		},
		{
			name:     "the admin dashboard hits its entry",
			path:     "/dashboard",
			header:   []string{"X-Role", "admin"},
			wantBody: "admin view",
			wantHit:  true,
		},

		{
			name:     "the default version fetches",
			path:     "/catalog",
			wantBody: "catalog v1",
			wantVary: "API-Version, Accept",
		},
		{
			name:     "version 2 by API-Version is not served version 1",
			path:     "/catalog",
			header:   []string{"API-Version", "2"},
			wantBody: "catalog v2",
		},
		{
			name:     "version 2 by Accept hits version 2's entry",
			path:     "/catalog",
			header:   []string{"Accept", "application/json; version=2"},
			wantBody: "catalog v2",
			wantHit:  true,
		},
		{
			name:     "version 1 by Accept hits the default version's entry",
			path:     "/catalog",
			header:   []string{"Accept", "application/json; version=1"},
			wantBody: "catalog v1",
			wantHit:  true,
		},

		{
			name:     "a header-matched version route fetches",
			path:     "/catalog-by-header",
			header:   []string{"API-Version", "2"},
			wantBody: "catalog v2",
		},
		{name: "the route beside it is not served that entry", path: "/catalog-by-header", wantBody: "catalog v1"},
		{
			name:     "the header-matched route hits its entry",
			path:     "/catalog-by-header",
			header:   []string{"API-Version", "2"},
			wantBody: "catalog v2",
			wantHit:  true,
		},
	})
}

func TestCacheNamespaceConfigIsChecked(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, namespace, want string
	}{
		{name: "a namespace with a space is refused", namespace: "'shared users'", want: `routes[0].policy.cache.namespace: "shared users" is not a namespace`},
		{name: "a namespace with a separator byte is refused", namespace: `"a\u0000b"`, want: `routes[0].policy.cache.namespace: "a\x00b" is not a namespace`},
		{name: "a namespace longer than 64 bytes is refused", namespace: strings.Repeat("n", 65), want: "routes[0].policy.cache.namespace:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			yaml := "upstreams: [{name: app, instances: [{url: 'http://127.0.0.1:1'}]}]\n" +
				"routes: [{path: /, upstream: app, policy: {cache: {ttl: 1s, namespace: " + tt.namespace + "}}}]\n"
			g, err := buildYAML(yaml)
			if err == nil {
				g.Close()
			}
			wantErrContaining(t, err, tt.want)
		})
	}
}

func TestCacheStageNamesItsSharedNamespace(t *testing.T) {
	t.Parallel()
	g, _ := newGateway(t, gateway.WithUpstream(upstreamOf(t, "app", cachedServer(t, "x"))),
		gateway.WithRoute(gateway.Route{
			Name:     "users",
			Path:     "/users",
			Upstream: "app",
			Policy:   gateway.Policy{Cache: &gateway.Cache{TTL: time.Minute, Scope: "tenant", Namespace: "shared-users"}},
		}))
	if got, want := strings.Join(g.Routes()[0].Chain, " "), "cache(ttl=1m0s, scope=tenant, namespace=shared-users)"; !strings.Contains(got, want) {
		t.Errorf("chain %q, want it to contain %q", got, want)
	}
}
