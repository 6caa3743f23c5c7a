package gateway_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/gateway"
	"github.com/portico-dev/portico/gateway/config"
	"github.com/portico-dev/portico/gateway/upstream"
)

func get(t *testing.T, c *http.Client, url string) (int, string) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestAdminEndpoints(t *testing.T) {
	t.Parallel()
	m, err := config.NewMetrics()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Shutdown(context.Background()) })
	svc := echoServer(t, "svc")
	g, gw := newGateway(t,
		gateway.WithMeterProvider(m.Provider),
		gateway.WithUpstream(upstreamOf(t, "svc", svc)),
		gateway.WithMiddleware("auth", func(h http.Handler) http.Handler { return h }),
		gateway.WithChain("request_id", "recover", "telemetry"),
		gateway.WithRoute(gateway.Route{
			Name:        "users",
			Path:        "/users/{id}",
			Methods:     []string{"GET"},
			Upstream:    "svc",
			StripPrefix: "/users",
			Policy: gateway.Policy{
				Middleware: []string{"auth"},
				Timeout:    2 * time.Second,
				Retry:      &gateway.Retry{Attempts: 3},
				Breaker:    &gateway.Breaker{},
			},
		}),
	)
	admin := httptest.NewServer(gateway.Admin(gateway.AdminConfig{Gateway: func() *gateway.Gateway { return g }, Metrics: m.Handler}))
	t.Cleanup(admin.Close)

	if code, _ := get(t, gw.Client(), gw.URL+"/users/7"); code != 200 {
		t.Fatalf("proxied status = %d", code)
	}

	t.Run("healthz answers ok", func(t *testing.T) {
		t.Parallel()
		code, body := get(t, admin.Client(), admin.URL+"/healthz")
		if got, want := code, 200; got != want {
			t.Errorf("status %d, want %d: %q", got, want, body)
		}
		if !strings.Contains(body, "ok") {
			t.Errorf("body %q, want ok", body)
		}
	})
	t.Run("readyz answers ready when every pool has an instance", func(t *testing.T) {
		t.Parallel()
		if code, _ := get(t, admin.Client(), admin.URL+"/readyz"); code != 200 {
			t.Errorf("status = %d", code)
		}
	})
	t.Run("routes shows matchers, target and the chain in order", func(t *testing.T) {
		t.Parallel()
		_, body := get(t, admin.Client(), admin.URL+"/routes")
		var routes []gateway.RouteInfo
		if err := json.Unmarshal([]byte(body), &routes); err != nil {
			t.Fatal(err)
		}
		if len(routes) != 1 {
			t.Fatalf("routes = %d", len(routes))
		}
		r := routes[0]
		want := []string{"request_id", "recover", "telemetry", "identity", "auth", "timeout(2s)", "retry(attempts=3)", "breaker(failures=5)", "client_telemetry", "proxy"}
		if !slices.Equal(r.Chain, want) {
			t.Errorf("chain = %q, want %q", r.Chain, want)
		}
		if got, want := r.Path, "/users/{id}"; got != want {
			t.Errorf("route path = %q, want %q", got, want)
		}
		if got, want := r.Target.Upstream, "svc"; got != want {
			t.Errorf("route upstream = %q, want %q", got, want)
		}
		if got, want := r.Methods, []string{"GET"}; !slices.Equal(got, want) {
			t.Errorf("route methods = %v, want %v", got, want)
		}
	})
	t.Run("upstreams shows instances and breakers", func(t *testing.T) {
		t.Parallel()
		_, body := get(t, admin.Client(), admin.URL+"/upstreams")
		var ups []struct {
			Name      string
			Ready     bool
			Instances []upstream.InstanceStatus
			Breakers  map[string][]struct{ State string }
		}
		if err := json.Unmarshal([]byte(body), &ups); err != nil {
			t.Fatal(err)
		}
		if got, want := len(ups), 1; got != want {
			t.Fatalf("%d upstreams, want %d: %s", got, want, body)
		}
		if got, want := len(ups[0].Instances), 1; got != want {
			t.Fatalf("%d instances, want %d: %s", got, want, body)
		}
		if got, want := ups[0].Instances[0].URL, svc.URL; got != want {
			t.Fatalf("instance URL = %q, want %q", got, want)
		}
		if !ups[0].Ready {
			t.Fatalf("the upstream is not ready: %s", body)
		}
		b := ups[0].Breakers["users"]
		if len(b) == 0 {
			t.Fatalf("no breaker for route users: %s", body)
		}
		if got, want := b[0].State, "closed"; got != want {
			t.Errorf("route users' breaker = %q, want %q", got, want)
		}
	})
	t.Run("metrics shows request durations by route", func(t *testing.T) {
		t.Parallel()
		_, body := get(t, admin.Client(), admin.URL+"/metrics")
		found := false
		for line := range strings.SplitSeq(body, "\n") {
			if strings.HasPrefix(line, "http_server_request_duration_seconds_count{") && strings.Contains(line, `http_route="/users/{id}"`) {
				found = true
			}
		}
		if !found {
			t.Errorf("no http_server_request_duration_seconds with http_route=/users/{id} in:\n%.2000s", body)
		}
		for _, want := range []string{"http_client_request_duration_seconds_count{", `server_address="svc"`} {
			if !strings.Contains(body, want) {
				t.Errorf("metrics lack %s", want)
			}
		}
	})
	t.Run("an unknown admin path is a problem document", func(t *testing.T) {
		t.Parallel()
		code, body := get(t, admin.Client(), admin.URL+"/nope")
		if got, want := code, 404; got != want {
			t.Errorf("status %d, want %d: %q", got, want, body)
		}
		if !strings.Contains(body, "/readyz") {
			t.Errorf("body %q does not list /readyz", body)
		}
	})
}

func TestReadyzFailsWhileNoInstanceIsHealthy(t *testing.T) {
	t.Parallel()
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	t.Cleanup(down.Close)
	pool := poolOf(t, upstream.Config{Name: "down",
		HealthCheck: &upstream.HealthCheck{Path: "/", Interval: 20 * time.Millisecond, UnhealthyThreshold: 1}}, down)
	g, _ := newGateway(t, gateway.WithUpstream(pool), gateway.WithRoute(gateway.Route{Prefix: "/", Upstream: "down"}))
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	g.Start(ctx)
	admin := httptest.NewServer(gateway.Admin(gateway.AdminConfig{Gateway: func() *gateway.Gateway { return g }}))
	t.Cleanup(admin.Close)
	deadline := time.Now().Add(20 * time.Second)
	for {
		code, body := get(t, admin.Client(), admin.URL+"/readyz")
		if code == http.StatusServiceUnavailable {
			if !strings.Contains(body, "status") {
				t.Errorf("not a problem document: %q", body)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("readyz still %d after the only instance failed its checks", code)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestTheAdminRootIsALandingPage(t *testing.T) {
	t.Parallel()
	g, _ := newGateway(t)
	admin := httptest.NewServer(gateway.Admin(gateway.AdminConfig{Gateway: func() *gateway.Gateway { return g }}))
	t.Cleanup(admin.Close)
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, admin.URL+"/", nil)
	req.Header.Set("Accept", "text/html")
	res, err := admin.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if got, want := res.StatusCode, http.StatusOK; got != want {
		t.Errorf("status %d, want %d", got, want)
	}
	for _, link := range []string{`href="platform/"`, `href="platform/dashboard"`, `href="routes"`, `href="upstreams"`, `href="readyz"`} {
		if !strings.Contains(string(body), link) {
			t.Errorf("the landing page lacks the link %s", link)
		}
	}
	code, index := get(t, admin.Client(), admin.URL+"/")
	if got, want := code, http.StatusOK; got != want {
		t.Errorf("the JSON index: status %d, want %d", got, want)
	}
	if !strings.Contains(index, `"/platform/"`) {
		t.Errorf("the JSON index does not name the console: %s", index)
	}
}
