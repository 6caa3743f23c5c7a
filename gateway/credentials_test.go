package gateway_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/gateway"
	"github.com/portico-dev/portico/gateway/config"
	"github.com/portico-dev/portico/gateway/platform"
	"github.com/portico-dev/portico/middleware"
	"github.com/portico-dev/portico/middleware/auth"
)

// credGateway serves a gateway whose routes each authenticate one way, in
// front of an echo upstream and a shadow that receives mirrored copies.
func credGateway(t *testing.T) (url string, shadow <-chan http.Header) {
	t.Helper()
	idp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		w.Header().Set("Content-Type", "application/json")
		if r.PostForm.Get("token") != "opaque-good" {
			_, _ = w.Write([]byte(`{"active":false}`))
			return
		}
		_, _ = w.Write([]byte(`{"active":true,"sub":"partner","exp":` + jsonInt(time.Now().Add(time.Hour).Unix()) + `}`))
	}))
	t.Cleanup(idp.Close)
	copies := make(chan http.Header, 1)
	mirror := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := r.Header.Clone()
		h.Set("X-Query", r.URL.RawQuery)
		copies <- h
	}))
	t.Cleanup(mirror.Close)
	auth := func(methods ...string) gateway.Policy {
		return gateway.Policy{Auth: &gateway.Auth{Methods: methods}}
	}
	_, srv := newGateway(t, gateway.WithUpstream(upstreamOf(t, "app", echoServer(t, "app"))),
		gateway.WithUpstream(upstreamOf(t, "shadow", mirror)),
		config.WithConsumers(config.ConsumerConfig{Consumer: middleware.Consumer{ID: "alice"},
			Keys: []config.APIKeyConfig{{ID: "alice-1", Secret: keyed}}}),
		config.WithAuthMethods(
			config.AuthMethod{Name: "query", APIKey: &config.APIKeyMethod{Headers: []string{"X-Partner-Key"}, Query: "api_key"}},
			config.AuthMethod{Name: "sso", JWT: &config.JWTMethod{Algorithms: []string{"HS256"}, Secrets: map[string]string{"": hmacSecret}}},
			config.AuthMethod{Name: "opaque", Introspection: &config.IntrospectionMethod{URL: idp.URL}},
		),
		gateway.WithRoute(
			gateway.Route{Path: "/key", Upstream: "app", Policy: auth("api_key")},
			gateway.Route{Path: "/query", Upstream: "app", Policy: auth("query")},
			gateway.Route{Path: "/jwt", Upstream: "app", Policy: auth("sso")},
			gateway.Route{Path: "/opaque", Upstream: "app", Policy: auth("opaque")},
			gateway.Route{Path: "/forward", Upstream: "app", Policy: gateway.Policy{
				Auth: &gateway.Auth{Methods: []string{"api_key"}, ForwardCredentials: true}}},
			gateway.Route{Path: "/anonymous", Upstream: "app", Policy: gateway.Policy{
				Auth: &gateway.Auth{Methods: []string{"api_key"}, Anonymous: true}}},
			gateway.Route{Path: "/open", Upstream: "app"},
			gateway.Route{Path: "/transformed", Upstream: "app", Policy: gateway.Policy{
				Auth:      &gateway.Auth{Methods: []string{"sso"}},
				Transform: &gateway.Transform{Request: middleware.HeaderRules{Set: map[string]string{"Authorization": "Basic dXBzdHJlYW06cHc="}}}}},
			gateway.Route{
				Path:     "/mirrored",
				Upstream: "app",
				Mirror:   &gateway.Mirror{Upstream: "shadow"},
				Policy:   auth("query"),
			},
		))
	return srv.URL, copies
}

func TestRegressionTheConsumersCredentialWasForwardedToTheUpstream(t *testing.T) {
	t.Parallel()
	url, _ := credGateway(t)
	jwt := "Bearer " + hs256(t, map[string]any{"sub": "carol", "exp": time.Now().Add(time.Hour).Unix()})
	tests := []struct {
		name     string
		path     string
		header   []string          // name, value pairs the client sends
		consumer string            // the consumer the upstream is told about
		gone     []string          // headers the upstream must not get
		kept     map[string]string // headers the upstream must get, with their values
		query    string            // the query the upstream must get
	}{
		{
			name:     "an API key in X-API-Key is removed",
			path:     "/key",
			header:   []string{"X-API-Key", keyed},
			consumer: "alice",
			gone:     []string{"X-Api-Key"},
		},
		{
			name:     "an API key sent as a bearer token is removed",
			path:     "/key",
			header:   []string{"Authorization", "Bearer " + keyed},
			consumer: "alice",
			gone:     []string{"Authorization"},
		},
		{
			name:     "an Authorization header the API key method did not read is kept",
			path:     "/key",
			header:   []string{"X-API-Key", keyed, "Authorization", "Basic YTpi"},
			consumer: "alice",
			gone:     []string{"X-Api-Key"},
			kept:     map[string]string{"Authorization": "Basic YTpi"},
		},
		{
			name:     "a key header the method did not read is kept",
			path:     "/key",
			header:   []string{"Authorization", "Bearer " + keyed, "X-API-Key", "not-read"},
			consumer: "alice",
			gone:     []string{"Authorization"},
			kept:     map[string]string{"X-Api-Key": "not-read"},
		},
		{
			name:     "an API key in the query is removed and the other parameters are kept as written",
			path:     "/query?a=1&api_key=" + keyed + "&b=x%2Fy&b=2",
			consumer: "alice",
			query:    "a=1&b=x%2Fy&b=2",
		},
		{
			name:     "an API key in a header of the query method is removed",
			path:     "/query?a=1",
			header:   []string{"X-Partner-Key", keyed},
			consumer: "alice",
			gone:     []string{"X-Partner-Key"},
			query:    "a=1",
		},
		{
			name:     "a JWT is removed",
			path:     "/jwt",
			header:   []string{"Authorization", jwt},
			consumer: "carol",
			gone:     []string{"Authorization"},
		},
		{
			name:     "an introspected token is removed",
			path:     "/opaque",
			header:   []string{"Authorization", "Bearer opaque-good"},
			consumer: "partner",
			gone:     []string{"Authorization"},
		},
		{
			name:     "a route that forwards credentials sends the key on",
			path:     "/forward",
			header:   []string{"X-API-Key", keyed},
			consumer: "alice",
			kept:     map[string]string{"X-Api-Key": keyed},
		},
		{
			name:     "a valid key on an anonymous route is removed",
			path:     "/anonymous",
			header:   []string{"X-API-Key", keyed},
			consumer: "alice",
			gone:     []string{"X-Api-Key"},
		},
		{
			name:   "a route without auth forwards the headers as sent",
			path:   "/open",
			header: []string{"X-API-Key", keyed},
			kept:   map[string]string{"X-Api-Key": keyed},
		},
		{
			name:     "an Authorization header a transform set for the upstream is kept",
			path:     "/transformed",
			header:   []string{"Authorization", jwt},
			consumer: "carol",
			kept:     map[string]string{"Authorization": "Basic dXBzdHJlYW06cHc="},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			resp, e := getWith(t, url+tt.path, tt.header...)
			if got, want := resp.StatusCode, http.StatusOK; got != want {
				t.Fatalf("status = %d, want %d", got, want)
			}
			if got, want := e.Header.Get("X-Consumer-Id"), tt.consumer; got != want {
				t.Errorf("the upstream was told consumer %q, want %q", got, want)
			}
			for _, h := range tt.gone {
				if got := e.Header[h]; got != nil {
					t.Errorf("the upstream got %s: %q, want it removed", h, got)
				}
			}
			for h, want := range tt.kept {
				if got := e.Header.Get(h); got != want {
					t.Errorf("the upstream got %s: %q, want %q", h, got, want)
				}
			}
			if got, want := e.Query, tt.query; got != want {
				t.Errorf("the upstream got query %q, want %q", got, want)
			}
		})
	}
}

func TestAMirroredCopyDoesNotGetTheConsumersCredential(t *testing.T) {
	t.Parallel()
	url, shadow := credGateway(t)
	resp, e := getWith(t, url+"/mirrored?api_key="+keyed+"&page=2")
	if got, want := resp.StatusCode, http.StatusOK; got != want {
		t.Fatalf("status = %d, want %d", got, want)
	}
	if got, want := e.Query, "page=2"; got != want {
		t.Errorf("the upstream got query %q, want %q", got, want)
	}
	if got, want := (<-shadow).Get("X-Query"), "page=2"; got != want {
		t.Errorf("the mirrored copy got query %q, want %q", got, want)
	}
}

func TestThePlatformsKeyIsNotForwardedToTheUpstream(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p := platform.New(platform.NewMemoryStore(), platform.WithLogger(quiet))
	if _, err := p.CreateTenant(ctx, "root", platform.Tenant{ID: "acme"}); err != nil {
		t.Fatal(err)
	}
	if _, err := p.CreateConsumer(ctx, "root", platform.ConsumerRecord{Consumer: middleware.Consumer{Tenant: "acme", ID: "shop"}}); err != nil {
		t.Fatal(err)
	}
	_, key, err := p.CreateKey(ctx, "root", "acme", "shop", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	_, gw := newGateway(t, gateway.WithUpstream(upstreamOf(t, "app", echoServer(t, "app"))),
		config.WithPlatform(p, nil),
		gateway.WithRoute(
			gateway.Route{Path: "/orders", Upstream: "app", Policy: gateway.Policy{
				Auth: &gateway.Auth{Methods: []string{config.PlatformAuth}}}},
			gateway.Route{Path: "/relay", Upstream: "app", Policy: gateway.Policy{
				Auth: &gateway.Auth{Methods: []string{config.PlatformAuth}, ForwardCredentials: true}}},
		))
	for _, tt := range []struct {
		name, path, want string
	}{
		{"the platform's key is removed", "/orders", ""},
		{"a route that forwards credentials sends it on", "/relay", "Bearer " + key},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			resp, e := getWith(t, gw.URL+tt.path, "Authorization", "Bearer "+key)
			if got, want := resp.StatusCode, http.StatusOK; got != want {
				t.Fatalf("status = %d, want %d", got, want)
			}
			if got, want := e.Header.Get("X-Consumer-Id"), "shop"; got != want {
				t.Errorf("the upstream was told consumer %q, want %q", got, want)
			}
			if got := e.Header.Get("Authorization"); got != tt.want {
				t.Errorf("the upstream got Authorization %q, want %q", got, tt.want)
			}
		})
	}
}

func TestForwardCredentialsFromAConfigFile(t *testing.T) {
	t.Parallel()
	up := echoServer(t, "app")
	yaml := `
upstreams: [{name: app, instances: [{url: ` + up.URL + `}]}]
consumers:
  - id: alice
    api_keys: [{id: alice-1, sha256: "` + sha256Hex(keyed) + `"}]
routes:
  - {path: /stripped, upstream: app, policy: {auth: {}}}
  - {path: /forwarded, upstream: app, policy: {auth: {forward_credentials: true}}}
`
	cfg, err := config.Parse("gw.yaml", []byte(yaml), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	g, err := cfg.Build(gateway.WithLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Close() })
	url := httptestServer(t, g)
	for path, want := range map[string]string{"/stripped": "", "/forwarded": keyed} {
		_, e := getWith(t, url+path, "X-API-Key", keyed)
		if got := e.Header.Get("X-Api-Key"); got != want {
			t.Errorf("%s: the upstream got X-API-Key %q, want %q", path, got, want)
		}
	}
}

func TestTheAIEndpointsSendProvidersTheirOwnKeyNeverTheCallers(t *testing.T) {
	t.Parallel()
	got := make(chan http.Header, 1)
	provider := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- r.Header.Clone()
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"id":"c1","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,` +
			`"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}`))
	}))
	t.Cleanup(provider.Close)
	srv := aiGateway(t, `
consumers:
  - id: demo
    api_keys: [{id: demo-1, secret: "caller-secret-key"}]
ai:
  providers:
    - {name: up, type: openai, base_url: "`+provider.URL+`", api_key: "provider-key"}
  models:
    - alias: m
      candidates: [{provider: up, model: m}]
`)
	status, _, body := aiPost(t, srv.URL+"/v1/chat/completions", "caller-secret-key", `{"model":"m","messages":[{"role":"user","content":"hi"}]}`)
	if status != http.StatusOK {
		t.Fatalf("status = %d, want 200: %s", status, body)
	}
	h := <-got
	if got, want := h.Get("Authorization"), "Bearer provider-key"; got != want {
		t.Errorf("the provider got Authorization %q, want %q", got, want)
	}
	for k, vs := range h {
		for _, v := range vs {
			if strings.Contains(v, "caller-secret-key") {
				t.Errorf("the provider got the caller's key in %s", k)
			}
		}
	}
}

func TestComposedCallsDoNotGetTheConsumersCredential(t *testing.T) {
	t.Parallel()
	compose := &gateway.Compose{Headers: []string{"X-API-Key", "Accept-Language"},
		Calls: []gateway.ComposeCall{{
			Name:     "a",
			Key:      "a",
			Upstream: "app",
			Path:     "/a?lang={query.lang}&key={query.api_key}",
		}}}
	_, gw := newGateway(t, gateway.WithUpstream(upstreamOf(t, "app", echoServer(t, "app"))),
		config.WithConsumers(config.ConsumerConfig{Consumer: middleware.Consumer{ID: "alice"},
			Keys: []config.APIKeyConfig{{ID: "alice-1", Secret: keyed}}}),
		config.WithAuthMethods(config.AuthMethod{Name: "query", APIKey: &config.APIKeyMethod{Query: "api_key"}}),
		gateway.WithRoute(
			gateway.Route{Path: "/composed", Compose: compose, Policy: gateway.Policy{Auth: &gateway.Auth{}}},
			gateway.Route{Path: "/relayed", Compose: compose, Policy: gateway.Policy{Auth: &gateway.Auth{ForwardCredentials: true}}},
		))
	tests := []struct {
		name, path, query string
		header            []string
		wantKey           string
		wantQuery         string
	}{
		{
			name:      "a key header copied to the calls is removed",
			path:      "/composed",
			query:     "?lang=fr",
			header:    []string{"X-API-Key", keyed, "Accept-Language", "fr"},
			wantKey:   "",
			wantQuery: "lang=fr&key=",
		},
		{
			name:      "a key in the query is not rendered into the calls",
			path:      "/composed",
			query:     "?lang=fr&api_key=" + keyed,
			header:    nil,
			wantKey:   "",
			wantQuery: "lang=fr&key=",
		},
		{
			name:      "a route that forwards credentials copies the key",
			path:      "/relayed",
			query:     "?lang=fr",
			header:    []string{"X-API-Key", keyed},
			wantKey:   keyed,
			wantQuery: "lang=fr&key=",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req, _ := http.NewRequest(http.MethodGet, gw.URL+tt.path+tt.query, nil)
			for i := 0; i+1 < len(tt.header); i += 2 {
				req.Header.Set(tt.header[i], tt.header[i+1])
			}
			a := composedCall(t, gw, req)
			if got, want := a.Header.Get("X-Api-Key"), tt.wantKey; got != want {
				t.Errorf("the call got X-API-Key %q, want %q", got, want)
			}
			if got, want := a.Query, tt.wantQuery; got != want {
				t.Errorf("the call got query %q, want %q", got, want)
			}
		})
	}
}

// Regression test: a composed route's calls got the consumer's ID,
// tenant, plan and scopes, but not its roles.
func TestComposedCallsGetEveryIdentityHeader(t *testing.T) {
	t.Parallel()
	compose := &gateway.Compose{Calls: []gateway.ComposeCall{{Name: "a", Key: "a", Upstream: "app", Path: "/a"}}}
	_, gw := newGateway(t, gateway.WithUpstream(upstreamOf(t, "app", echoServer(t, "app"))),
		config.WithConsumers(config.ConsumerConfig{Consumer: middleware.Consumer{ID: "alice", Tenant: "acme", Plan: "gold",
			Scopes: []string{"read", "write"}, Roles: []string{"admin"}},
			Keys: []config.APIKeyConfig{{ID: "alice-1", Secret: keyed}}}),
		gateway.WithRoute(gateway.Route{Path: "/composed", Compose: compose, Policy: gateway.Policy{Auth: &gateway.Auth{}}}))
	req, _ := http.NewRequest(http.MethodGet, gw.URL+"/composed", nil)
	req.Header.Set("X-API-Key", keyed)
	a := composedCall(t, gw, req)
	for _, h := range []struct{ name, want string }{
		{auth.DefaultConsumerHeader, "alice"},
		{auth.DefaultTenantHeader, "acme"},
		{auth.DefaultPlanHeader, "gold"},
		{auth.DefaultScopesHeader, "read write"},
		{auth.DefaultRolesHeader, "admin"},
	} {
		if got := a.Header.Get(h.name); got != h.want {
			t.Errorf("the call got %s %q, want %q", h.name, got, h.want)
		}
	}
}

// composedCall sends req to gw's composed route and returns what its
// call "a" echoed.
func composedCall(t *testing.T, gw *httptest.Server, req *http.Request) echo {
	t.Helper()
	resp, err := gw.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct{ A echo }
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("status %d: %v", resp.StatusCode, err)
	}
	return body.A
}
