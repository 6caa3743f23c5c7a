package platform_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	builder "github.com/portico-dev/portico/gateway"
	"github.com/portico-dev/portico/gateway/calllog"
	"github.com/portico-dev/portico/gateway/platform"
	pools "github.com/portico-dev/portico/gateway/upstream"
	"github.com/portico-dev/portico/middleware/auth"
)

// TestThePlatformPlugsIntoTheGatewayBuilder wires the platform and the
// call log into a gateway with the builder's own extension points: a named
// authenticator, named middleware in the global chain and in a route's
// policy, and the platform's admin handler beside the gateway's.
func TestThePlatformPlugsIntoTheGatewayBuilder(t *testing.T) {
	t.Parallel()
	up := upstream(t)
	ring := calllog.NewRing(100)
	rec := calllog.NewRecorder(calllog.RecorderConfig{Sinks: []calllog.Sink{ring}})
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = rec.Close(ctx)
	}()
	p := platform.New(platform.NewMemoryStore(), platform.WithAdminToken("root", adminToken),
		platform.WithCallLog(ring, nil), platform.WithSubscribeURL("/subscriptions"))

	pool, err := pools.New(pools.Config{Name: "orders", Instances: []pools.Instance{{URL: up.URL}}})
	if err != nil {
		t.Fatal(err)
	}
	gw, err := builder.New(
		builder.WithUpstream(pool),
		builder.WithAuthenticator("platform", p.KeyAuth(auth.APIKeyConfig{})),
		builder.WithMiddleware("calllog", calllog.Middleware(calllog.MiddlewareConfig{Recorder: rec})),
		builder.WithMiddleware("subscription:orders", p.Guard("orders")),
		builder.WithChain("request_id", "calllog"),
		builder.WithRoute(builder.Route{
			Name:     "orders",
			Prefix:   "/orders",
			Upstream: "orders",
			Policy: builder.Policy{
				Auth:       &builder.Auth{Methods: []string{"platform"}},
				Middleware: []string{"subscription:orders"},
			},
		}),
	)
	if err != nil {
		t.Fatal(err)
	}
	defer gw.Close()
	public := http.NewServeMux()
	public.Handle("/", gw)
	public.Handle("/subscriptions", auth.New(auth.Config{
		Authenticators: []auth.Authenticator{p.KeyAuth(auth.APIKeyConfig{})},
	})(p.Portal()))
	pub := httptest.NewServer(public)
	defer pub.Close()
	admin := http.NewServeMux()
	admin.Handle("/", builder.Admin(builder.AdminConfig{Gateway: func() *builder.Gateway { return gw }}))
	admin.Handle("/platform/", http.StripPrefix("/platform", p.Admin()))
	adm := httptest.NewServer(admin)
	defer adm.Close()

	g := &hosts{pub: pub.URL, adm: adm.URL + "/platform"}
	g.do(t, http.MethodPost, g.adm+"/api/tenants", adminToken, map[string]any{"id": "acme"}, http.StatusCreated)
	g.do(t, http.MethodPost, g.adm+"/api/tenants/acme/consumers", adminToken, map[string]any{"id": "shop"}, http.StatusCreated)
	var k struct{ Secret string }
	g.do(t, http.MethodPost, g.adm+"/api/tenants/acme/consumers/shop/keys", adminToken, nil, http.StatusCreated).json(t, &k)
	g.do(t, http.MethodPut, g.adm+"/api/apis/orders", adminToken, map[string]any{"tenant": "acme", "state": "published"}, http.StatusOK)

	g.do(t, http.MethodGet, g.pub+"/orders/1", k.Secret, nil, http.StatusForbidden)
	g.do(t, http.MethodGet, g.pub+"/orders/1", "", nil, http.StatusUnauthorized)
	g.do(t, http.MethodPost, g.pub+"/subscriptions", k.Secret, map[string]string{"api": "orders"}, http.StatusAccepted)
	g.do(t, http.MethodPost, g.adm+"/api/subscriptions/shop.orders/approve", adminToken, nil, http.StatusOK)
	g.do(t, http.MethodGet, g.pub+"/orders/1", k.Secret, nil, http.StatusOK)
	// The gateway's own admin endpoints still answer beside the platform's.
	g.do(t, http.MethodGet, adm.URL+"/routes", "", nil, http.StatusOK)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = rec.Flush(ctx)
	got := ring.Query(calllog.Filter{Tenant: "acme", API: "orders"})
	if got, want := len(got), 2; got != want {
		t.Fatalf("%d call records of acme's orders calls, want %d (the 403 and the 200): %+v", got, want, got)
	}
	if got, want := got[0].Status, http.StatusOK; got != want {
		t.Errorf("first record's status = %d, want %d", got, want)
	}
	if got, want := got[0].Consumer, "shop"; got != want {
		t.Errorf("first record's consumer = %q, want %q", got, want)
	}
	if got[0].RequestID == "" {
		t.Error("first record has no request ID")
	}
}

type hosts struct{ pub, adm string }

func (hosts) do(t *testing.T, method, u, token string, body any, want int) response {
	t.Helper()
	r := send(t, method, u, token, body)
	if r.status != want {
		t.Fatalf("%s %s: status %d, want %d: %s", method, u, r.status, want, r.body)
	}
	return r
}
