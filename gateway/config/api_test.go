package config_test

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/portico-dev/portico/gateway"
	"github.com/portico-dev/portico/gateway/config"
	"github.com/portico-dev/portico/gateway/internal/gwtest"
	"github.com/portico-dev/portico/openapi"
)

func loadPets(t *testing.T) *openapi.Spec {
	t.Helper()
	return gwtest.Spec(t, "testdata/pets.yaml")
}

func TestGatewayBuiltFromASpec(t *testing.T) {
	t.Parallel()
	up, hits := gwtest.CountingServer(t, "pets")
	g, srv := gwtest.NewGateway(t, gateway.WithUpstream(gwtest.UpstreamOf(t, "pets", up)),
		config.WithAPI(config.API{
			Name:     "pets",
			Spec:     loadPets(t),
			Upstream: "pets",
			Prefix:   "/petstore",
			Validate: "requests",
		}))

	t.Run("every operation is routed under the prefix, which is stripped upstream", func(t *testing.T) {
		for _, c := range []struct{ method, path, body, want string }{
			{
				method: "GET",
				path:   "/petstore/pets/7",
				body:   "",
				want:   "/pets/7",
			},
			{
				method: "POST",
				path:   "/petstore/pets",
				body:   `{"name":"rex"}`,
				want:   "/pets",
			},
			{
				method: "GET",
				path:   "/petstore/pets",
				body:   "",
				want:   "/pets",
			},
		} {
			resp := gwtest.Send(t, c.method, srv.URL+c.path, c.body)
			var e gwtest.Echo
			_ = json.NewDecoder(resp.Body).Decode(&e)
			if got, want := resp.StatusCode, http.StatusOK; got != want {
				t.Errorf("%s %s: status %d, want %d", c.method, c.path, got, want)
			}
			if got, want := e.Method+" "+e.Path, c.method+" "+c.want; got != want {
				t.Errorf("%s %s: upstream saw %q, want %q", c.method, c.path, got, want)
			}
		}
	})

	t.Run("an invalid request is answered 400 before the upstream sees it", func(t *testing.T) {
		before := hits.Load()
		for _, c := range []struct{ method, path, body string }{
			{"POST", "/petstore/pets", `{"name":""}`},
			{"POST", "/petstore/pets", `{}`},
			{"GET", "/petstore/pets/seven", ""},
		} {
			resp := gwtest.Send(t, c.method, srv.URL+c.path, c.body)
			if got, want := resp.StatusCode, http.StatusBadRequest; got != want {
				t.Errorf("%s %s %s: status %d, want %d", c.method, c.path, c.body, got, want)
			}
			if got, want := resp.Header.Get("Content-Type"), "application/problem+json"; got != want {
				t.Errorf("%s %s %s: Content-Type %q, want %q", c.method, c.path, c.body, got, want)
			}
		}
		if n := hits.Load() - before; n != 0 {
			t.Errorf("the upstream saw %d invalid requests, want 0", n)
		}
	})

	t.Run("x-portico-ratelimit answers the N+1th request with a 429 problem", func(t *testing.T) {
		// listPets allows 2 per minute per IP; the first subtest used one.
		gwtest.Send(t, "GET", srv.URL+"/petstore/pets", "")
		before := hits.Load()
		resp := gwtest.Send(t, "GET", srv.URL+"/petstore/pets", "")
		if resp.StatusCode != http.StatusTooManyRequests {
			t.Fatalf("third request: status %d, want 429", resp.StatusCode)
		}
		if ct := resp.Header.Get("Content-Type"); ct != "application/problem+json" {
			t.Errorf("Content-Type = %q, want a problem", ct)
		}
		for _, name := range []string{"Retry-After", "RateLimit-Policy"} {
			if resp.Header.Get(name) == "" {
				t.Errorf("429 lacks %s: %v", name, resp.Header)
			}
		}
		if hits.Load() != before {
			t.Error("the limited request reached the upstream")
		}
		// Another operation has no limit.
		if resp := gwtest.Send(t, "GET", srv.URL+"/petstore/pets/1", ""); resp.StatusCode != http.StatusOK {
			t.Errorf("getPet: status %d, want 200", resp.StatusCode)
		}
	})

	t.Run("the routes show each operation's chain with the extensions' policies", func(t *testing.T) {
		chains := map[string]string{}
		for _, r := range g.Routes() {
			chains[r.Name] = strings.Join(r.Chain, " ")
		}
		for name, want := range map[string]string{
			"pets listPets":  "identity rate_limit(2/1m0s, key=ip) validate timeout(5s) proxy",
			"pets createPet": "identity validate timeout(5s) proxy",
			"pets getPet":    "identity validate cache(ttl=30s) timeout(5s) proxy",
		} {
			if chains[name] != want {
				t.Errorf("%s: chain %q, want %q", name, chains[name], want)
			}
		}
	})

	t.Run("the admin handler serves the catalog and the documentation", func(t *testing.T) {
		admin := httptest.NewServer(gateway.Admin(gateway.AdminConfig{Gateway: func() *gateway.Gateway { return g }}))
		defer admin.Close()
		req, _ := http.NewRequest(http.MethodGet, admin.URL+"/apis/", nil)
		req.Header.Set("Accept", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if got, want := resp.StatusCode, http.StatusOK; got != want {
			t.Errorf("catalog: status %d, want %d", got, want)
		}
		for _, want := range []string{"/apis/pets/", "Pets"} {
			if !strings.Contains(string(body), want) {
				t.Errorf("catalog %s lacks %s", body, want)
			}
		}
		resp = gwtest.Send(t, "GET", admin.URL+"/apis/pets/openapi.json", "")
		var doc struct {
			Info struct{ Title string } `json:"info"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&doc)
		if got, want := resp.StatusCode, http.StatusOK; got != want {
			t.Errorf("openapi.json: status %d, want %d", got, want)
		}
		if got, want := doc.Info.Title, "Pets"; got != want {
			t.Errorf("openapi.json: title %q, want %q", got, want)
		}
		if resp := gwtest.Send(t, "GET", admin.URL+"/apis/nope/", ""); resp.StatusCode != http.StatusNotFound {
			t.Errorf("unknown API: status %d, want 404", resp.StatusCode)
		}
	})
}

func TestOperationPolicy(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name, ext, value, want string
	}{
		{
			name:  "a rate limit decodes into the config's type",
			ext:   "x-portico-ratelimit",
			value: `{"requests": 5, "per": "1s", "burst": 10}`,
			want:  "",
		},
		{
			name:  "scopes set the auth scopes",
			ext:   "x-portico-scopes",
			value: `["pets:write"]`,
			want:  "",
		},
		{
			name:  "a hedge decodes with a percentile delay",
			ext:   "x-portico-hedge",
			value: `{"delay": "p95", "max_extra": 1}`,
			want:  "",
		},
		{
			name:  "a bad hedge delay names the field",
			ext:   "x-portico-hedge",
			value: `{"delay": "soon"}`,
			want:  `operations.op.x-portico-hedge.delay: "soon" is neither a duration`,
		},
		{
			name:  "an unknown field is named with the operation",
			ext:   "x-portico-ratelimit",
			value: `{"request": 5}`,
			want:  "operations.op.x-portico-ratelimit.request: unknown field",
		},
		{
			name:  "a bad duration names the field",
			ext:   "x-portico-timeout",
			value: `"soon"`,
			want:  `operations.op.x-portico-timeout: "soon" is not a duration`,
		},
		{
			name:  "an unknown x-portico extension is refused",
			ext:   "x-portico-ratelimits",
			value: `{}`,
			want:  "operations.op.x-portico-ratelimits: unknown extension",
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			doc := `{"openapi":"3.0.3","info":{"title":"t","version":"1"},"paths":{"/a":{"get":{"operationId":"op",` +
				`"` + c.ext + `":` + c.value + `,"responses":{"200":{"description":"ok"}}}}}}`
			spec, err := openapi.Parse([]byte(doc))
			if err != nil {
				t.Fatal(err)
			}
			p, err := config.OperationPolicy(gateway.Policy{}, spec.Operations()[0])
			if c.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				applied := p.RateLimit != nil ||
					p.Auth != nil && p.Auth.Scopes[0] == "pets:write" ||
					p.Hedge != nil && p.Hedge.Delay.Quantile == 0.95
				if !applied {
					t.Errorf("policy = %+v, want the extension applied", p)
				}
				return
			}
			wantErrContaining(t, err, c.want)
		})
	}
}

func TestOperationPolicyLeavesTheBaseUnchanged(t *testing.T) {
	t.Parallel()
	doc := `{"openapi":"3.0.3","info":{"title":"t","version":"1"},"paths":{"/a":{"get":{"operationId":"op",` +
		`"x-portico-ratelimit":{"requests":9},"responses":{"200":{"description":"ok"}}}}}}`
	spec, err := openapi.Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	base := gateway.Policy{RateLimit: &gateway.RateLimit{Requests: 1, Key: "ip"}}
	p, err := config.OperationPolicy(base, spec.Operations()[0])
	if err != nil {
		t.Fatal(err)
	}
	if got, want := base.RateLimit.Requests, 1; got != want {
		t.Errorf("base requests = %d, want %d (untouched)", got, want)
	}
	if got, want := p.RateLimit.Requests, 9; got != want {
		t.Errorf("derived requests = %d, want %d (merged)", got, want)
	}
	if got, want := p.RateLimit.Key, "ip"; got != want {
		t.Errorf("derived key = %q, want the base's %q", got, want)
	}
}

func TestTheServedDocumentDescribesTheAPIAsTheGatewayServesIt(t *testing.T) {
	t.Parallel()
	spec := petsSpec(t)
	data := fmt.Sprintf(`
consumers: [{id: shop, api_keys: [{id: k1, secret: "secret-0123456789abcdef"}]}]
upstreams: [{name: pets, instances: [{url: "http://127.0.0.1:1"}]}]
apis:
  - name: pets
    spec: %q
    upstream: pets
    prefix: /petstore
    policy:
      auth: {methods: [api_key], scopes: ["pets:write"]}
      idempotency: {required: true}
`, spec)
	admin := adminOf(t, filepath.Join(t.TempDir(), "g.yaml"), data)
	resp := gwtest.Send(t, "GET", admin+"/apis/pets/openapi.json", "")
	var doc struct {
		Servers []struct{ URL string }
		Paths   map[string]map[string]struct {
			Description string
			Security    []map[string][]string
			Parameters  []struct {
				Name, In string
				Required bool
			}
			Responses map[string]struct {
				Headers map[string]any
			}
		}
		Components struct {
			SecuritySchemes map[string]struct{ Type, In, Name string }
		}
	}
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	if _, ok := doc.Paths["/petstore/pets"]; !ok {
		t.Errorf("paths %v, want them under the prefix /petstore", slices.Collect(maps.Keys(doc.Paths)))
	}
	if _, ok := doc.Paths["/pets"]; ok {
		t.Error("the document still names /pets, a path the gateway does not serve")
	}
	if got, want := len(doc.Servers), 1; got != want {
		t.Fatalf("servers = %d, want %d", got, want)
	}
	if got, want := doc.Servers[0].URL, "/"; got != want {
		t.Errorf("server %q, want %q (the gateway)", got, want)
	}
	if got, want := doc.Components.SecuritySchemes["api_key"].Type, "apiKey"; got != want {
		t.Errorf("security scheme api_key: type %q, want %q", got, want)
	}
	create := doc.Paths["/petstore/pets"]["post"]
	if got, want := len(create.Security), 1; got != want {
		t.Fatalf("createPet's security = %v, want one requirement", create.Security)
	}
	if _, ok := create.Security[0]["api_key"]; !ok {
		t.Errorf("createPet's security %v, want api_key", create.Security)
	}
	if !strings.Contains(create.Description, "pets:write") {
		t.Errorf("createPet's description %q does not name the scope pets:write", create.Description)
	}
	idem := slices.IndexFunc(create.Parameters, func(p struct {
		Name, In string
		Required bool
	}) bool {
		return p.Name == "Idempotency-Key" && p.In == "header"
	})
	if idem < 0 {
		t.Fatalf("createPet's parameters %v lack the Idempotency-Key header", create.Parameters)
	}
	if !create.Parameters[idem].Required {
		t.Error("createPet's Idempotency-Key is not required, though the policy requires it")
	}
	list := doc.Paths["/petstore/pets"]["get"]
	if _, ok := list.Responses["200"].Headers["RateLimit"]; !ok {
		t.Errorf("listPets's 200 answer lacks the RateLimit header: %v", list.Responses["200"].Headers)
	}
	if _, ok := list.Responses["429"]; !ok {
		t.Error("listPets lacks its 429 answer")
	}
}

func TestThePortalServesTheDocumentOfAnAPIThatNamesASubscription(t *testing.T) {
	t.Parallel()
	spec := petsSpec(t)
	dir := t.TempDir()
	data := fmt.Sprintf(`
upstreams: [{name: pets, instances: [{url: "http://127.0.0.1:1"}]}]
apis:
  - {name: pets, spec: %q, upstream: pets, prefix: /petstore, policy: {auth: {methods: [platform]}, subscription: pets}}
platform: {file: platform.db, admin_tokens: {root: %s}}
`, spec, gwtest.PlatformToken)
	pub, adm := serveFile(t, filepath.Join(dir, "g.yaml"), data, nil)
	key := gwtest.Onboard(t, adm+"/platform")
	gwtest.Call(t, http.MethodPut, adm+"/platform/api/apis/pets", gwtest.PlatformToken,
		map[string]any{"tenant": "acme", "state": "published", "visibility": "public"}, http.StatusOK)

	for _, u := range []struct{ url, token string }{
		{pub + "/subscriptions/apis/pets/docs/openapi.json", key},
		{adm + "/platform/apis/pets/docs/openapi.json", gwtest.PlatformToken},
	} {
		body := string(gwtest.Call(t, http.MethodGet, u.url, u.token, nil, http.StatusOK).Body)
		if !strings.Contains(body, `"/petstore/pets"`) {
			t.Errorf("%s: the document does not name the gateway's path /petstore/pets:\n%s", u.url, body)
		}
	}
	// An API without a document has no documentation page.
	gwtest.Call(t, http.MethodGet, pub+"/subscriptions/apis/orders/docs/", key, nil, http.StatusNotFound)
}

// adminOf builds the gateway of the config file data (named path) and
// returns the URL of its admin listener; both stop when the test ends.
func adminOf(t *testing.T, path, data string) string {
	t.Helper()
	_, adm := serveFile(t, path, data, nil)
	return adm
}

// serveFile builds the gateway of the config file data (named path,
// ${VAR} from env) and serves its proxy and its admin listener until the
// test ends.
func serveFile(t *testing.T, path, data string, env func(string) (string, bool)) (pub, adm string) {
	t.Helper()
	c, err := config.Parse(path, []byte(data), env)
	if err != nil {
		t.Fatal(err)
	}
	g, err := c.Build(gateway.WithLogger(gwtest.Quiet))
	if err != nil {
		t.Fatal(err)
	}
	p := httptest.NewServer(g)
	a := httptest.NewServer(gateway.Admin(gateway.AdminConfig{Gateway: func() *gateway.Gateway { return g }}))
	t.Cleanup(func() {
		p.Close()
		a.Close()
		_ = g.Close()
	})
	return p.URL, a.URL
}

// Regression test: the served document said every API-key authenticator
// read X-API-Key, the default, even one that reads another header or
// only a query parameter.
func TestTheServedDocumentNamesWhereEachAPIKeyMethodReadsItsKey(t *testing.T) {
	t.Parallel()
	spec := petsSpec(t)
	data := fmt.Sprintf(`
consumers: [{id: shop, api_keys: [{id: k1, secret: "secret-0123456789abcdef"}]}]
auth_methods:
  - {name: token, api_key: {headers: [X-Token]}}
  - {name: link, api_key: {headers: [], query: key}}
upstreams: [{name: pets, instances: [{url: "http://127.0.0.1:1"}]}]
apis:
  - {name: pets, spec: %q, upstream: pets, prefix: /petstore, policy: {auth: {methods: [api_key, token, link]}}}
`, spec)
	admin := adminOf(t, filepath.Join(t.TempDir(), "g.yaml"), data)
	resp := gwtest.Send(t, "GET", admin+"/apis/pets/openapi.json", "")
	type scheme struct{ Type, In, Name string }
	var doc struct {
		Components struct{ SecuritySchemes map[string]scheme }
	}
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]scheme{
		"api_key": {Type: "apiKey", In: "header", Name: "X-API-Key"},
		"token":   {Type: "apiKey", In: "header", Name: "X-Token"},
		"link":    {Type: "apiKey", In: "query", Name: "key"},
	} {
		if got := doc.Components.SecuritySchemes[name]; got != want {
			t.Errorf("security scheme %s = %+v, want %+v", name, got, want)
		}
	}
}

// petsSpec returns the absolute path of the pets OpenAPI document.
func petsSpec(t *testing.T) string {
	t.Helper()
	spec, err := filepath.Abs("testdata/pets.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return spec
}
