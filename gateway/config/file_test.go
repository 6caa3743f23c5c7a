package config_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/portico-dev/portico/gateway"
	"github.com/portico-dev/portico/gateway/config"
	"github.com/portico-dev/portico/gateway/internal/gwtest"
)

func envOf(m map[string]string) func(string) (string, bool) { return gwtest.Env(m) }

const validConfig = `
upstreams:
  - name: users
    instances:
      - url: ${USERS_URL}
        weight: 2
    balancer: least_request
    health_check: {path: /, interval: 1s}
    outlier: {consecutive_5xx: 3}
routes:
  - name: users
    prefix: /users
    strip_prefix: /users
    add_prefix: ${PREFIX:-/v1}
    upstream: users
    request_headers:
      set: {X-Api-Key: "${API_KEY}"}
    policy:
      timeout: 5s
      retry: {attempts: 3, per_try: 1s}
`

func TestConfigBuildsAWorkingGateway(t *testing.T) {
	t.Parallel()
	up := gwtest.EchoServer(t, "users")
	c, err := config.Parse("gw.yaml", []byte(validConfig), envOf(map[string]string{"USERS_URL": up.URL, "API_KEY": "k3y"}))
	if err != nil {
		t.Fatal(err)
	}
	g, err := c.Build()
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(g)
	t.Cleanup(func() { srv.Close(); g.Close() })
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/users/7", nil)
	resp, e := gwtest.Do(t, srv.Client(), req)
	if got, want := resp.StatusCode, http.StatusOK; got != want {
		t.Errorf("status %d, want %d", got, want)
	}
	if got, want := e.Path, "/v1/7"; got != want {
		t.Errorf("path %q, want %q", got, want)
	}
	if got, want := e.Header.Get("X-Api-Key"), "k3y"; got != want {
		t.Errorf("X-Api-Key %q, want %q", got, want)
	}
}

func TestConfigMistakesNameTheField(t *testing.T) {
	t.Parallel()
	env := envOf(map[string]string{"URL": "http://127.0.0.1:1"})
	base := "upstreams:\n  - name: a\n    instances: [{url: \"http://127.0.0.1:1\"}]\n"
	tests := []struct {
		name string
		yaml string
		want []string // substrings of the error
	}{
		{name: "an unknown field is named with its line",
			yaml: base + "routes:\n  - path: /\n    upstream: a\n    timout: 1s\n",
			want: []string{"gw.yaml:7:", "routes[0].timout", "unknown field"}},
		{name: "an unknown top-level field is refused",
			yaml: base + "route: []\n", want: []string{"gw.yaml:4:", "route: unknown field"}},
		{name: "a bad upstream URL names the instance",
			yaml: "upstreams:\n  - name: a\n    instances: [{url: \"10.0.0.1:80\"}]\n",
			want: []string{"gw.yaml:3:", "upstreams[0].instances[0].url"}},
		{name: "a negative timeout names the policy field",
			yaml: base + "routes:\n  - path: /\n    upstream: a\n    policy:\n      timeout: -1s\n",
			want: []string{"gw.yaml:8:", "routes[0].policy.timeout", "must not be negative"}},
		{name: "an unknown balancer names the field",
			yaml: "upstreams:\n  - name: a\n    balancer: fastest\n    instances: [{url: \"http://127.0.0.1:1\"}]\n",
			want: []string{"gw.yaml:3:", "upstreams[0].balancer"}},
		{name: "a route to a missing pool names the pool",
			yaml: base + "routes:\n  - path: /\n    upstream: b\n",
			want: []string{"gw.yaml:6:", "routes[0].upstream", `"b" is not a defined upstream`}},
		{name: "a malformed duration explains the format",
			yaml: base + "routes:\n  - path: /\n    upstream: a\n    policy: {timeout: 5}\n",
			want: []string{"routes[0].policy.timeout", "is not a duration"}},
		{name: "a wrong type is named",
			yaml: base + "routes:\n  - path: /\n    upstream: a\n    priority: high\n",
			want: []string{"routes[0].priority", "not a valid integer"}},
		{name: "an unset variable without default is an error",
			yaml: base + "routes:\n  - path: /\n    upstream: a\n    host: ${MISSING}\n",
			want: []string{"routes[0].host", "MISSING is not set"}},
		{name: "a route without a path is refused",
			yaml: base + "routes:\n  - upstream: a\n", want: []string{"routes[0].path", "set path or prefix"}},
		{name: "a retry of one attempt is refused",
			yaml: base + "routes:\n  - path: /\n    upstream: a\n    policy: {retry: {attempts: 1}}\n",
			want: []string{"routes[0].policy.retry.attempts", "at least 2"}},
		{name: "a duplicate upstream is refused",
			yaml: base + "  - name: a\n    instances: [{url: \"http://127.0.0.1:2\"}]\n",
			want: []string{"upstreams[1].name", "defined twice"}},
		{name: "an unregistered middleware is named",
			yaml: base + "middleware: [nope]\n", want: []string{"middleware", `"nope" is not a registered middleware`}},
		{name: "a bad trusted proxy is named",
			yaml: base + "trusted_proxies: [10.0.0.0/33]\n", want: []string{"trusted_proxies[0]"}},
		{name: "broken YAML is reported",
			yaml: "routes: [\n", want: []string{"not valid YAML"}},
		{name: "broken YAML is reported with its file and line",
			yaml: base + "routes:\n  - path: /\n   upstream: a\n", want: []string{"gw.yaml:6:", "not valid YAML"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var g *gateway.Gateway
			c, err := config.Parse("gw.yaml", []byte(tt.yaml), env)
			if err == nil {
				g, err = c.Build()
			}
			if err == nil {
				g.Close()
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			var fe *gateway.FieldError
			if !errors.As(err, &fe) {
				t.Errorf("error is not a *FieldError: %T", err)
			}
		})
	}
}

func TestJSONConfigIsAccepted(t *testing.T) {
	t.Parallel()
	up := gwtest.EchoServer(t, "j")
	c, err := config.Parse("gw.json", []byte(`{"upstreams":[{"name":"j","instances":[{"url":"`+up.URL+`"}]}],
		"routes":[{"path":"/j","upstream":"j","policy":{"timeout":"2s"}}]}`), nil)
	if err != nil {
		t.Fatal(err)
	}
	g, err := c.Build()
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	rec := httptest.NewRecorder()
	g.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/j", nil))
	if rec.Code != 200 {
		t.Errorf("status = %d", rec.Code)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(validConfig))
	f.Add([]byte("routes: [{path: /x, upstream: a, headers: {X: \"${A:-b}\"}}]"))
	f.Add([]byte("{\"upstreams\": [{\"name\": \"a\"}]}"))
	f.Add([]byte("a: &x [1, *x]"))
	f.Add([]byte("routes: &x [*x]"))
	f.Add([]byte("upstreams: [&u {name: a, dns: *u}]"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := config.Parse("f.yaml", data, envOf(map[string]string{"A": "1"}))
		if err != nil {
			if !strings.HasPrefix(err.Error(), "portico/gateway: ") {
				t.Errorf("error without the package prefix: %v", err)
			}
			return
		}
		if c == nil {
			t.Fatal("nil config without error")
		}
	})
}
