package gateway_test

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/portico-dev/portico/gateway"
	"github.com/portico-dev/portico/gateway/config"
	"github.com/portico-dev/portico/gateway/internal/gwtest"
	"github.com/portico-dev/portico/internal/redistest"
)

func TestRedisOutageFollowsTheChosenMode(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name       string
		failClosed bool
		want       int
	}{
		{"fail open keeps serving from the local share", false, http.StatusOK},
		{"fail closed answers 503", true, http.StatusServiceUnavailable},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			rs := redistest.Start(t)
			up, _ := countingServer(t, "app")
			closed := "false"
			if c.failClosed {
				closed = "true"
			}
			yaml := `
upstreams: [{name: app, instances: [{url: ` + up.URL + `}]}]
store: {redis: {address: "` + rs.Addr() + `", timeout: 5s}, fail_closed: ` + closed + `}
routes: [{path: /r, upstream: app, policy: {rate_limit: {requests: 100, per: 1m}}}]
`
			cfg, err := config.Parse("gw.yaml", []byte(yaml), nil)
			if err != nil {
				t.Fatal(err)
			}
			g, err := cfg.Build(gateway.WithLogger(quiet))
			if err != nil {
				t.Fatal(err)
			}
			defer g.Close()
			url := httptestServer(t, g)
			if resp, _ := getWith(t, url+"/r"); resp.StatusCode != http.StatusOK {
				t.Fatalf("with Redis up: %d", resp.StatusCode)
			}
			rs.Kill()
			if resp, _ := getWith(t, url+"/r"); resp.StatusCode != c.want {
				t.Errorf("with Redis down: %d, want %d", resp.StatusCode, c.want)
			}
		})
	}
}

func TestAPIsSectionOfAConfigFile(t *testing.T) {
	t.Parallel()
	up, hits := countingServer(t, "pets")
	dir := t.TempDir()
	spec, err := os.ReadFile("config/testdata/pets.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "pets.yaml"), spec, 0o600); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "gw.yaml")
	yaml := `
upstreams: [{name: pets, instances: [{url: ` + up.URL + `}]}]
apis:
  - name: pets
    spec: pets.yaml
    upstream: pets
    prefix: /p
    validate: requests
    policy: {max_body_bytes: 1024}
`
	if err := os.WriteFile(file, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	g, err := config.LoadGateway(file, gateway.WithLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	url := httptestServer(t, g)
	resp, e := getWith(t, url+"/p/pets/3")
	if got, want := resp.StatusCode, http.StatusOK; got != want {
		t.Errorf("GET /p/pets/3: status %d, want %d", got, want)
	}
	if got, want := e.Path, "/pets/3"; got != want {
		t.Errorf("GET /p/pets/3: upstream path %q, want %q", got, want)
	}
	before := hits.Load()
	if resp := gwtest.Send(t, http.MethodPost, url+"/p/pets", `{"name":1}`); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("invalid POST: %d, want 400", resp.StatusCode)
	}
	if hits.Load() != before {
		t.Error("the invalid request reached the upstream")
	}
	for _, c := range []struct{ name, api, want string }{
		{"a missing spec file", "{name: x, spec: nope.yaml, upstream: pets}", "apis[0].spec:"},
		{"an unknown validation mode", "{name: x, spec: pets.yaml, upstream: pets, validate: strict}", `apis[0].validate: "strict" is not a mode`},
		{"an unknown upstream", "{name: x, spec: pets.yaml, upstream: dogs}", `apis[0].operations.listPets.upstream: "dogs" is not a defined upstream`},
		{"a prefix with a parameter", "{name: x, spec: pets.yaml, upstream: pets, prefix: '/{v}'}", "apis[0].prefix:"},
	} {
		t.Run(c.name, func(t *testing.T) {
			bad := filepath.Join(dir, "bad-"+strings.ReplaceAll(c.name, " ", "-")+".yaml")
			data := "upstreams: [{name: pets, instances: [{url: " + up.URL + "}]}]\napis: [" + c.api + "]\n"
			if err := os.WriteFile(bad, []byte(data), 0o600); err != nil {
				t.Fatal(err)
			}
			g, err := config.LoadGateway(bad, gateway.WithLogger(quiet))
			if err == nil {
				g.Close()
			}
			wantErrContaining(t, err, c.want)
			wantErrContaining(t, err, ":2:")
		})
	}
}
