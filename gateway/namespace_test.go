package gateway_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/gateway"
	"github.com/portico-dev/portico/gateway/ai"
	"github.com/portico-dev/portico/gateway/config"
	"github.com/portico-dev/portico/gateway/internal/gwtest"
	"github.com/portico-dev/portico/gateway/platform"
	"github.com/portico-dev/portico/middleware"
)

// demoAI serves the alias "demo" from the built-in demo provider, and the
// prompt "shout" at /prompts/shout.
func demoAI() config.AI {
	return config.AI{
		Providers: []config.AIProvider{{Name: "demo", Type: "demo"}},
		Models:    []config.AIModel{{Alias: "demo", Candidates: []config.AICandidate{{Provider: "demo"}}}},
		Prompts: []config.AIPrompt{{Name: "shout", Model: "demo",
			Messages: []ai.Template{{Role: "user", Text: "Shout {{.text}}"}}}},
	}
}

// sendKey sends a request and returns its status, headers and body.
func sendKey(t *testing.T, method, url, key, body string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

// Regression: with ai: on, every path under /v1 went to the AI handler
// before the route table, so a /v1/orders route answered OpenAI's 404.
func TestARouteUnderTheAIPrefixIsServedBesideTheAIEndpoints(t *testing.T) {
	t.Parallel()
	_, srv := newGateway(t,
		gateway.WithUpstream(upstreamOf(t, "orders", echoServer(t, "orders"))),
		gateway.WithRoute(gateway.Route{Name: "orders", Path: "/v1/orders", Upstream: "orders"}),
		config.WithAI(demoAI()),
	)
	chat := `{"model":"demo","messages":[{"role":"user","content":"hi"}]}`
	tests := []struct {
		name, method, path, body string
		status                   int
		contentType, want        string
	}{
		{
			name:        "the route under the prefix reaches its upstream",
			method:      "GET",
			path:        "/v1/orders",
			body:        "",
			status:      200,
			contentType: "application/json",
			want:        `"server":"orders"`,
		},
		{
			name:        "the chat endpoint answers beside it",
			method:      "POST",
			path:        "/v1/chat/completions",
			body:        chat,
			status:      200,
			contentType: "application/json",
			want:        `"content":"You said: hi"`,
		},
		{
			name:        "the Anthropic endpoint answers beside it",
			method:      "POST",
			path:        "/v1/messages",
			body:        `{"model":"demo","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}`,
			status:      200,
			contentType: "application/json",
			want:        `"type":"message"`,
		},
		{
			name:        "a model's page is served under /v1/models/",
			method:      "GET",
			path:        "/v1/models/demo",
			body:        "",
			status:      200,
			contentType: "application/json",
			want:        `"id":"demo"`,
		},
		{
			name:        "an unknown path under the prefix gets OpenAI's 404",
			method:      "GET",
			path:        "/v1/files",
			body:        "",
			status:      404,
			contentType: "application/json",
			want:        `"code":"unknown_url"`,
		},
		{
			name:        "an endpoint asked with another method gets OpenAI's 404",
			method:      "GET",
			path:        "/v1/chat/completions",
			body:        "",
			status:      404,
			contentType: "application/json",
			want:        `"code":"unknown_url"`,
		},
		{
			name:        "an unknown path beside /messages gets Anthropic's 404",
			method:      "POST",
			path:        "/v1/x/messages",
			body:        "",
			status:      404,
			contentType: "application/json",
			want:        `"type":"error"`,
		},
		{
			name:        "a prompt API is served at its path",
			method:      "POST",
			path:        "/prompts/shout",
			body:        `{"text":"hey"}`,
			status:      200,
			contentType: "application/json",
			want:        `"result":"You said: Shout hey"`,
		},
		{
			name:        "a prompt API asked with GET is a 405 problem",
			method:      "GET",
			path:        "/prompts/shout",
			body:        "",
			status:      405,
			contentType: "application/problem+json",
			want:        `"status":405`,
		},
		{
			name:        "a path outside every endpoint is the gateway's 404",
			method:      "GET",
			path:        "/v2/orders",
			body:        "",
			status:      404,
			contentType: "application/problem+json",
			want:        `"status":404`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			status, h, body := sendKey(t, tt.method, srv.URL+tt.path, "", tt.body)
			if status != tt.status {
				t.Errorf("status %d, want %d: %s", status, tt.status, body)
			}
			if got := h.Get("Content-Type"); !strings.HasPrefix(got, tt.contentType) {
				t.Errorf("Content-Type %q, want %q", got, tt.contentType)
			}
			if !strings.Contains(body, tt.want) {
				t.Errorf("body %s, want it to contain %s", body, tt.want)
			}
		})
	}
	if status, h, _ := sendKey(t, "GET", srv.URL+"/prompts/shout", "", ""); status == 405 && h.Get("Allow") != "POST" {
		t.Errorf("Allow %q, want POST", h.Get("Allow"))
	}
}

func TestAnOverlapWithABuiltInEndpointIsABuildError(t *testing.T) {
	t.Parallel()
	route := func(r gateway.Route) gateway.Route { r.Upstream = "orders"; return r }
	tests := []struct {
		name  string
		route gateway.Route
		want  string // empty: no overlap
	}{
		{"a prefix covering the AI prefix", route(gateway.Route{Prefix: "/v1"}),
			`routes[0].prefix: "/v1" overlaps the AI endpoint "POST /v1/chat/completions" (ai.prefix)`},
		{"the root prefix", route(gateway.Route{Name: "all", Prefix: "/"}),
			`routes[0].prefix: "/" (route "all") overlaps the AI endpoint "POST /v1/chat/completions" (ai.prefix)`},
		{"an AI endpoint's own path", route(gateway.Route{Path: "/v1/messages"}),
			`routes[0].path: "/v1/messages" overlaps the AI endpoint "POST /v1/messages" (ai.prefix)`},
		{"a path the AI endpoint's catch-all covers", route(gateway.Route{Path: "/v1/models/{id}", Methods: []string{"GET"}}),
			`routes[0].path: "/v1/models/{id}" overlaps the AI endpoint "GET /v1/models/*" (ai.prefix)`},
		{"a catch-all covering AI endpoints", route(gateway.Route{Path: "/v1/*", Methods: []string{"POST"}}),
			`routes[0].path: "/v1/*" overlaps the AI endpoint "POST /v1/chat/completions" (ai.prefix)`},
		{"a parameter standing for the prefix", route(gateway.Route{Path: "/{version}/embeddings"}),
			`routes[0].path: "/{version}/embeddings" overlaps the AI endpoint "POST /v1/embeddings" (ai.prefix)`},
		{"a route limited to a host (the AI endpoints answer every host)", route(gateway.Route{Path: "/v1/models", Hosts: []string{"api.example.com"}}),
			`routes[0].path: "/v1/models" overlaps the AI endpoint "GET /v1/models" (ai.prefix)`},
		{"a route told apart by a header", route(gateway.Route{Path: "/v1/models", Headers: map[string]string{"X-Team": "a"}}),
			`routes[0].path: "/v1/models" overlaps the AI endpoint "GET /v1/models" (ai.prefix)`},
		{"a prompt API's path", route(gateway.Route{Path: "/prompts/shout"}),
			`routes[0].path: "/prompts/shout" overlaps the prompt API "POST /prompts/shout" (ai.prompts[0].path)`},
		{"a prefix covering a prompt API", route(gateway.Route{Prefix: "/prompts"}),
			`routes[0].prefix: "/prompts" overlaps the prompt API "POST /prompts/shout" (ai.prompts[0].path)`},
		{"another path under the prefix", route(gateway.Route{Path: "/v1/orders"}), ""},
		{"an AI endpoint's path with a method it does not serve", route(gateway.Route{Path: "/v1/chat/completions", Methods: []string{"GET"}}), ""},
		{"a parameter whose pattern excludes the prefix", route(gateway.Route{Path: "/{version:[0-9]+}/embeddings"}), ""},
		{"a prefix that only shares the AI prefix's letters", route(gateway.Route{Prefix: "/v10"}), ""},
		{"a path under the models catch-all with another method", route(gateway.Route{Path: "/v1/models/{id}", Methods: []string{"DELETE"}}), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			// The order of the options does not matter: the AI endpoints
			// are checked against every route either way.
			for _, aiFirst := range []bool{false, true} {
				opts := []gateway.Option{gateway.WithLogger(quiet), gateway.WithUpstream(upstreamOf(t, "orders", echoServer(t, "orders"))),
					gateway.WithRoute(tt.route)}
				if aiFirst {
					opts = append([]gateway.Option{config.WithAI(demoAI())}, opts...)
				} else {
					opts = append(opts, config.WithAI(demoAI()))
				}
				g, err := gateway.New(opts...)
				if g != nil {
					g.Close()
				}
				switch {
				case tt.want == "" && err != nil:
					t.Errorf("AI first %v: error %v, want none", aiFirst, err)
				case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
					t.Errorf("AI first %v: error %v\nwant one containing %s", aiFirst, err, tt.want)
				}
				var fe *gateway.FieldError
				if tt.want != "" && !errors.As(err, &fe) {
					t.Errorf("AI first %v: error %v is not a FieldError", aiFirst, err)
				}
			}
		})
	}
}

func TestTheRootPrefixReportsEachBuiltInEndpointGroupOnce(t *testing.T) {
	t.Parallel()
	_, err := gateway.New(gateway.WithLogger(quiet), gateway.WithUpstream(upstreamOf(t, "orders", echoServer(t, "orders"))),
		gateway.WithRoute(gateway.Route{Prefix: "/", Upstream: "orders"}), config.WithAI(demoAI()))
	if err == nil {
		t.Fatal("no error")
	}
	if got, want := strings.Count(err.Error(), "(ai.prefix)"), 1; got != want {
		t.Errorf("%d errors about ai.prefix, want %d:\n%v", got, want, err)
	}
	if got, want := strings.Count(err.Error(), "(ai.prompts[0].path)"), 1; got != want {
		t.Errorf("%d errors about ai.prompts[0].path, want %d:\n%v", got, want, err)
	}
}

func TestAnOverlapWithAnAPIOperationNamesTheOperation(t *testing.T) {
	t.Parallel()
	_, err := gateway.New(gateway.WithLogger(quiet), gateway.WithUpstream(upstreamOf(t, "pets", echoServer(t, "pets"))),
		config.WithAPI(config.API{
			Name:     "pets",
			Spec:     gwtest.Spec(t, "config/testdata/pets.yaml"),
			Upstream: "pets",
			Prefix:   "/v1/models",
		}),
		config.WithAI(demoAI()))
	if err == nil {
		t.Fatal("no error")
	}
	wantErrContaining(t, err, "apis[0].operations.")
	wantErrContaining(t, err, `overlaps the AI endpoint "GET /v1/models/*" (ai.prefix)`)
}

func TestThePortalSharesTheNamespace(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		subscribe string
		route     *gateway.Route
		want      string
	}{
		{
			name:      "a route at the portal's path",
			subscribe: "/subscriptions",
			route:     &gateway.Route{Path: "/subscriptions", Upstream: "orders"},
			want:      `routes[0].path: "/subscriptions" overlaps the consumer portal "/subscriptions" (platform.subscribe_url)`,
		},
		{
			name:      "a portal under the AI prefix",
			subscribe: "/v1/models/subscriptions",
			route:     nil,
			want:      `platform.subscribe_url: the consumer portal "/v1/models/subscriptions" overlaps the AI endpoint "GET /v1/models/*" (ai.prefix)`,
		},
		{
			name:      "a portal at a prompt API's path",
			subscribe: "/prompts/shout",
			route:     nil,
			want:      `platform.subscribe_url: the consumer portal "/prompts/shout" overlaps the prompt API "POST /prompts/shout" (ai.prompts[0].path)`,
		},
		{
			name:      "a portal beside the routes and AI endpoints",
			subscribe: "/subscriptions",
			route:     &gateway.Route{Path: "/orders", Upstream: "orders"},
			want:      "",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := platform.New(platform.NewMemoryStore(), platform.WithSubscribeURL(tt.subscribe))
			opts := []gateway.Option{gateway.WithLogger(quiet), gateway.WithUpstream(upstreamOf(t, "orders", echoServer(t, "orders"))),
				config.WithAI(demoAI()), config.WithPlatform(p, nil)}
			if tt.route != nil {
				opts = append(opts, gateway.WithRoute(*tt.route))
			}
			g, err := gateway.New(opts...)
			if g != nil {
				g.Close()
			}
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("error %v, want none", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("error %v\nwant one containing %s", err, tt.want)
			}
		})
	}
}

// Regression: /routes listed neither the AI endpoints, the prompt APIs
// nor the portal.
func TestRoutesAndLookupSeeEveryEndpoint(t *testing.T) {
	t.Parallel()
	p := platform.New(platform.NewMemoryStore())
	g, _ := newGateway(t,
		gateway.WithUpstream(upstreamOf(t, "orders", echoServer(t, "orders"))),
		gateway.WithRoute(gateway.Route{Name: "orders", Path: "/v1/orders", Upstream: "orders"}),
		config.WithConsumers(config.ConsumerConfig{Consumer: middleware.Consumer{ID: "demo"},
			Keys: []config.APIKeyConfig{{ID: "k", Secret: "demo-key"}}}),
		// Endpoints are listed in the order of their parts; the AI
		// endpoints still try the platform's keys, added before any
		// part mounts.
		config.WithAI(demoAI()),
		config.WithPlatform(p, nil),
	)
	type entry struct{ name, kind, methods, path, chain string }
	var got []entry
	for _, r := range g.Routes() {
		got = append(got, entry{
			name:    r.Name,
			kind:    r.Kind,
			methods: strings.Join(r.Methods, ","),
			path:    r.Path + r.Prefix,
			chain:   strings.Join(r.Chain, " "),
		})
	}
	want := []entry{
		{
			name:    "orders",
			kind:    "route",
			methods: "",
			path:    "/v1/orders",
			chain:   "identity proxy",
		},
		{
			name:    "ai POST /v1/chat/completions",
			kind:    "ai",
			methods: "POST",
			path:    "/v1/chat/completions",
			chain:   "ai(auth: api_key, platform)",
		},
		{
			name:    "ai POST /v1/embeddings",
			kind:    "ai",
			methods: "POST",
			path:    "/v1/embeddings",
			chain:   "ai(auth: api_key, platform)",
		},
		{
			name:    "ai GET /v1/models",
			kind:    "ai",
			methods: "GET",
			path:    "/v1/models",
			chain:   "ai(auth: api_key, platform)",
		},
		{
			name:    "ai GET /v1/models/*",
			kind:    "ai",
			methods: "GET",
			path:    "/v1/models/*",
			chain:   "ai(auth: api_key, platform)",
		},
		{
			name:    "ai POST /v1/messages",
			kind:    "ai",
			methods: "POST",
			path:    "/v1/messages",
			chain:   "ai(auth: api_key, platform)",
		},
		{
			name:    "prompt shout",
			kind:    "prompt",
			methods: "POST",
			path:    "/prompts/shout",
			chain:   "prompt(shout)",
		},
		{
			name:    "portal /subscriptions",
			kind:    "portal",
			methods: "",
			path:    "/subscriptions",
			chain:   "auth(platform) portal",
		},
		{
			name:    "portal /subscriptions/*",
			kind:    "portal",
			methods: "",
			path:    "/subscriptions/*",
			chain:   "auth(platform) portal",
		},
	}
	if len(got) != len(want) {
		t.Fatalf("Routes() =\n%v\nwant\n%v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("Routes()[%d] = %+v, want %+v", i, got[i], want[i])
		}
	}
	for path, name := range map[string]string{
		"POST /v1/chat/completions": "ai POST /v1/chat/completions",
		"GET /v1/models/demo":       "ai GET /v1/models/*",
		"POST /prompts/shout":       "prompt shout",
		"GET /subscriptions":        "portal /subscriptions",
		"GET /subscriptions/keys":   "portal /subscriptions/*",
		"GET /v1/orders":            "orders",
	} {
		method, target, _ := strings.Cut(path, " ")
		got, ok := g.Lookup(httptest.NewRequest(method, target, nil))
		if !ok {
			t.Errorf("Lookup(%s) matched nothing, want %q", path, name)
		} else if got != name {
			t.Errorf("Lookup(%s) = %q, want %q", path, got, name)
		}
	}
	if _, ok := g.Lookup(httptest.NewRequest(http.MethodGet, "/v1/files", nil)); ok {
		t.Error("Lookup(GET /v1/files) found an endpoint; it is an unknown path")
	}

	admin := httptestServer(t, gateway.Admin(gateway.AdminConfig{Gateway: func() *gateway.Gateway { return g }}))
	resp, err := http.Get(admin + "/routes")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var infos []map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&infos); err != nil {
		t.Fatal(err)
	}
	kinds := map[string]int{}
	for _, in := range infos {
		kinds[in["kind"].(string)]++
	}
	for kind, n := range map[string]int{"route": 1, "ai": 5, "prompt": 1, "portal": 2} {
		if kinds[kind] != n {
			t.Errorf("/routes lists %d endpoints of kind %q, want %d", kinds[kind], kind, n)
		}
	}
}

// Regression: the AI endpoints stopped at the first authenticator that
// rejected a key, so the platform's keys got 401 on /v1 whenever the
// gateway also had consumers with API keys.
func TestPlatformKeysAndConsumerKeysBothOpenTheAIEndpoints(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p := platform.New(platform.NewMemoryStore())
	if _, err := p.CreateTenant(ctx, "test", platform.Tenant{ID: "acme"}); err != nil {
		t.Fatal(err)
	}
	if _, err := p.CreateConsumer(ctx, "test", platform.ConsumerRecord{Consumer: middleware.Consumer{ID: "shop", Tenant: "acme"}}); err != nil {
		t.Fatal(err)
	}
	_, platformKey, err := p.CreateKey(ctx, "test", "acme", "shop", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	_, srv := newGateway(t,
		config.WithConsumers(config.ConsumerConfig{Consumer: middleware.Consumer{ID: "demo"},
			Keys: []config.APIKeyConfig{{ID: "demo-1", Secret: "consumer-key"}}}),
		config.WithPlatform(p, nil),
		config.WithAI(demoAI()),
	)
	chat := `{"model":"demo","messages":[{"role":"user","content":"hi"}]}`
	message := `{"model":"demo","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}`
	tests := []struct {
		name, path, key, body string
		status                int
		want                  string
	}{
		{
			name:   "a consumer's key from the config calls chat",
			path:   "/v1/chat/completions",
			key:    "consumer-key",
			body:   chat,
			status: 200,
			want:   `"content":"You said: hi"`,
		},
		{
			name:   "a platform-issued key calls chat",
			path:   "/v1/chat/completions",
			key:    platformKey,
			body:   chat,
			status: 200,
			want:   `"content":"You said: hi"`,
		},
		{
			name:   "a platform-issued key calls messages",
			path:   "/v1/messages",
			key:    platformKey,
			body:   message,
			status: 200,
			want:   `"type":"message"`,
		},
		{
			name:   "a platform-issued key calls a prompt API",
			path:   "/prompts/shout",
			key:    platformKey,
			body:   `{"text":"hey"}`,
			status: 200,
			want:   `"result"`,
		},
		{
			name:   "a bad key gets OpenAI's 401 on chat",
			path:   "/v1/chat/completions",
			key:    "pk_bad",
			body:   chat,
			status: 401,
			want:   `"code":"invalid_api_key"`,
		},
		{
			name:   "a bad key gets Anthropic's 401 on messages",
			path:   "/v1/messages",
			key:    "pk_bad",
			body:   message,
			status: 401,
			want:   `"type":"authentication_error"`,
		},
		{
			name:   "no key gets OpenAI's 401 on chat",
			path:   "/v1/chat/completions",
			key:    "",
			body:   chat,
			status: 401,
			want:   `"code":"invalid_api_key"`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			status, _, body := sendKey(t, "POST", srv.URL+tt.path, tt.key, tt.body)
			if status != tt.status {
				t.Errorf("status %d, want %d: %s", status, tt.status, body)
			}
			if !strings.Contains(body, tt.want) {
				t.Errorf("body %s, want it to contain %s", body, tt.want)
			}
		})
	}
}

// FuzzOverlapCheck asserts that the overlap check misses nothing: when a
// route builds beside the AI endpoints, no request is matched both by the
// route alone and by the AI endpoints alone.
func FuzzOverlapCheck(f *testing.F) {
	f.Add("/v1/orders", "", "GET", "/v1/orders")
	f.Add("", "/v1", "POST", "/v1/chat/completions")
	f.Add("/{v}/models/{id}", "", "GET", "/v1/models/x")
	f.Add("/v1/mod*", "", "GET", "/v1/models/a/b")
	f.Add("/{v:[a-z0-9]+}/{m}", "", "POST", "/v1/messages")
	f.Add("/v1/models/", "", "GET", "/v1/models/")
	f.Add("/prompts/{name}", "", "POST", "/prompts/shout")
	aiOnly, err := gateway.New(gateway.WithLogger(quiet), config.WithAI(demoAI()))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = aiOnly.Close() })
	f.Fuzz(func(t *testing.T, path, prefix, method, probe string) {
		rt := gateway.Route{Path: path, Prefix: prefix, Upstream: "a"}
		both, err := gateway.New(gateway.WithLogger(quiet), gateway.WithUpstream(fuzzUpstream{}), gateway.WithRoute(rt), config.WithAI(demoAI()))
		if err != nil {
			return // refused: an overlap, or a route that does not build
		}
		defer both.Close()
		alone, err := gateway.New(gateway.WithLogger(quiet), gateway.WithUpstream(fuzzUpstream{}), gateway.WithRoute(rt))
		if err != nil {
			t.Fatalf("the route builds beside the AI endpoints but not alone: %v", err)
		}
		defer alone.Close()
		probes := []string{probe, "/v1/chat/completions", "/v1/embeddings", "/v1/models", "/v1/models/", "/v1/models/x", "/v1/models/x/y",
			"/v1/messages", "/prompts/shout"}
		for _, p := range probes {
			if !strings.HasPrefix(p, "/") {
				continue
			}
			for _, m := range []string{method, http.MethodGet, http.MethodPost} {
				if m == "" || strings.ContainsAny(m, " \t\r\n") {
					continue
				}
				r := &http.Request{
					Method: m,
					URL:    &url.URL{Path: p},
					Host:   "example.com",
					Header: http.Header{},
				}
				_, byRoute := alone.Lookup(r)
				_, byAI := aiOnly.Lookup(r)
				if byRoute && byAI {
					t.Fatalf("%s %s matches the route %+v and an AI endpoint, yet the gateway built", m, p, rt)
				}
			}
		}
	})
}
