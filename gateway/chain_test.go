package gateway_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/portico-dev/portico/gateway"
	"github.com/portico-dev/portico/gateway/config"
	"github.com/portico-dev/portico/middleware"
	"github.com/portico-dev/portico/openapi"
)

func TestRoutesShowTheWholeChainInOrder(t *testing.T) {
	t.Parallel()
	up, _ := countingServer(t, "app")
	sunset := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	g, _ := newGateway(t, gateway.WithUpstream(upstreamOf(t, "app", up)),
		gateway.WithChain("request_id", "recover"),
		gateway.WithMiddleware("audit", func(h http.Handler) http.Handler { return h }),
		config.WithConsumers(config.ConsumerConfig{Consumer: middleware.Consumer{ID: "a"}, Keys: []config.APIKeyConfig{{ID: "k", Secret: keyed}}}),
		gateway.WithRoute(gateway.Route{
			Name:     "all",
			Path:     "/all",
			Upstream: "app",
			Policy: gateway.Policy{
				Lifecycle:   &gateway.Lifecycle{Sunset: sunset},
				Auth:        &gateway.Auth{Scopes: []string{"read"}},
				RateLimit:   &gateway.RateLimit{Requests: 10, Per: time.Second},
				Quota:       &gateway.Quota{Limit: 1000, Period: "month"},
				Cache:       &gateway.Cache{TTL: time.Minute, Scope: "tenant"},
				Idempotency: &gateway.Idempotency{},
				Transform:   &gateway.Transform{Request: middleware.HeaderRules{Set: map[string]string{"X-A": "b"}}},
				Middleware:  []string{"audit"},
				Timeout:     time.Second,
				Retry:       &gateway.Retry{Attempts: 2},
			},
		}))
	admin := httptest.NewServer(gateway.Admin(gateway.AdminConfig{Gateway: func() *gateway.Gateway { return g }}))
	defer admin.Close()
	resp, err := http.Get(admin.URL + "/routes")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var routes []gateway.RouteInfo
	if err := json.NewDecoder(resp.Body).Decode(&routes); err != nil {
		t.Fatal(err)
	}
	want := []string{"request_id", "recover", "lifecycle(sunset=2030-01-01)", "auth(api_key)", "authorize(all: read)", "identity",
		"rate_limit(10/1s)", "quota(month)", "cache(ttl=1m0s, scope=tenant)", "idempotency", "transform", "audit",
		"timeout(1s)", "retry(attempts=2)", "proxy"}
	if got, want := len(routes), 1; got != want {
		t.Fatalf("%d routes, want %d", got, want)
	}
	if got := routes[0].Chain; !slices.Equal(got, want) {
		t.Errorf("chain = %q\nwant    %q", got, want)
	}
}

func FuzzOperationPolicy(f *testing.F) {
	for _, s := range []string{`{"requests": 5, "per": "1s"}`, `"2s"`, `["a","b"]`, `{"ttl":"1m","scope":"consumer"}`, `null`, `{"retry":{"attempts":3}}`, `[[[`} {
		f.Add("x-portico-ratelimit", s)
		f.Add("x-portico-policy", s)
	}
	f.Fuzz(func(t *testing.T, ext, value string) {
		doc := map[string]any{"openapi": "3.0.3", "info": map[string]any{"title": "t", "version": "1"},
			"paths": map[string]any{"/a": map[string]any{"get": map[string]any{"operationId": "op",
				"x-portico-" + ext: json.RawMessage(value), "responses": map[string]any{"200": map[string]any{"description": "ok"}}}}}}
		data, err := json.Marshal(doc)
		if err != nil {
			return // value is not JSON
		}
		spec, err := openapi.Parse(data)
		if err != nil {
			return
		}
		p, err := config.OperationPolicy(gateway.Policy{}, spec.Operations()[0])
		if err != nil {
			return
		}
		// A policy that decoded must build, or fail with a field error,
		// never panic.
		g, err := gateway.New(gateway.WithLogger(quiet), gateway.WithUpstream(nopUpstream{}),
			gateway.WithRoute(gateway.Route{Path: "/a", Upstream: "nop", Policy: p}))
		if err == nil {
			g.Close()
		}
	})
}

type nopUpstream struct{}

func (nopUpstream) Name() string { return "nop" }

func (nopUpstream) RoundTrip(*http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: http.StatusOK, Body: io.NopCloser(nil), Header: http.Header{}}, nil
}

// FuzzRouteConfig feeds arbitrary version names, rate-limit keys, cache
// scopes and compose paths to the builder: it must answer with a field
// error or a working gateway, never panic.
func FuzzRouteConfig(f *testing.F) {
	f.Add("v1", "consumer", "tenant", "/users/{path.id}")
	f.Add("v/2", "header:X-Key", "", "/{nope")
	f.Add("", "header:", "user", "users")
	f.Add("V9", "route", "consumer", "/a?b={query.c}")
	f.Fuzz(func(t *testing.T, version, key, scope, path string) {
		g, err := gateway.New(gateway.WithLogger(quiet), gateway.WithUpstream(nopUpstream{}),
			gateway.WithRoute(
				gateway.Route{Path: "/v", Versions: &gateway.Versions{Default: version,
					Targets: map[string]gateway.VersionTarget{version: {Upstream: "nop"}}}},
				gateway.Route{Path: "/l", Upstream: "nop", Policy: gateway.Policy{
					RateLimit: &gateway.RateLimit{Requests: 1, Key: key}, Cache: &gateway.Cache{Scope: scope}}},
				gateway.Route{Path: "/c", Compose: &gateway.Compose{Calls: []gateway.ComposeCall{{Name: "a", Upstream: "nop", Path: path}}}},
			))
		if err == nil {
			g.Close()
		}
	})
}
