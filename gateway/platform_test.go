package gateway_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/gateway"
	"github.com/portico-dev/portico/gateway/calllog"
	"github.com/portico-dev/portico/gateway/config"
	"github.com/portico-dev/portico/gateway/internal/gwtest"
	"github.com/portico-dev/portico/gateway/platform"
)

const platformToken = gwtest.PlatformToken

// reply is a response read to the end.
type reply struct {
	status int
	header http.Header
	body   []byte
}

// call sends a JSON request with a bearer token and fails the test
// unless the status is want; see gwtest.Call.
func call(t *testing.T, method, u, token string, body any, want int) reply {
	t.Helper()
	r := gwtest.Call(t, method, u, token, body, want)
	return reply{r.Status, r.Header, r.Body}
}

func onboard(t *testing.T, adm string) string {
	t.Helper()
	return gwtest.Onboard(t, adm)
}

func subscribeAndApprove(t *testing.T, pub, adm, key string) {
	t.Helper()
	gwtest.SubscribeAndApprove(t, pub, adm, key)
}

func TestAConsumerIsServedOnlyOnceItsSubscriptionIsApprovedThroughTheAdminHandler(t *testing.T) {
	t.Parallel()
	ring := calllog.NewRing(100)
	rec := calllog.NewRecorder(calllog.RecorderConfig{Sinks: []calllog.Sink{ring}, Logger: quiet})
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = rec.Close(ctx)
	})
	p := platform.New(platform.NewMemoryStore(), platform.WithAdminToken("root", platformToken),
		platform.WithCallLog(ring, nil), platform.WithLogger(quiet))
	g, srv := newGateway(t,
		gateway.WithUpstream(upstreamOf(t, "orders", echoServer(t, "orders"))),
		config.WithPlatform(p, rec),
		gateway.WithChain("request_id"),
		gateway.WithRoute(gateway.Route{
			Name:     "orders",
			Prefix:   "/orders",
			Upstream: "orders",
			Policy:   gateway.Policy{Auth: &gateway.Auth{Methods: []string{config.PlatformAuth}}, Subscription: "orders"},
		}),
	)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	g.Start(ctx)
	if config.PlatformOf(g) != p {
		t.Errorf("Platform() = %p, want the platform given to WithPlatform", config.PlatformOf(g))
	}
	adm := httptestServer(t, gateway.Admin(gateway.AdminConfig{Gateway: func() *gateway.Gateway { return g }}))

	key := onboard(t, adm+"/platform")
	subscribeAndApprove(t, srv.URL, adm+"/platform", key)
	call(t, http.MethodPost, adm+"/platform/api/subscriptions/shop.orders/revoke", platformToken, map[string]string{"reason": "unpaid"}, http.StatusOK)
	call(t, http.MethodGet, srv.URL+"/orders/1", key, nil, http.StatusForbidden)
	call(t, http.MethodGet, adm+"/platform/api/tenants", "", nil, http.StatusUnauthorized)
	call(t, http.MethodGet, adm+"/routes", "", nil, http.StatusOK)
	for page, want := range map[string]string{"/platform/dashboard": "<html", "/platform/catalog": "orders"} {
		r := call(t, http.MethodGet, adm+page, platformToken, nil, http.StatusOK)
		if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
			t.Errorf("%s: Content-Type %s, want an HTML page", page, ct)
		}
		if !strings.Contains(string(r.body), want) {
			t.Errorf("%s: the page does not contain %q", page, want)
		}
	}

	fctx, fcancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer fcancel()
	if err := rec.Flush(fctx); err != nil {
		t.Fatal(err)
	}
	got := ring.Query(calllog.Filter{Tenant: "acme", API: "orders"})
	statuses := make([]int, 0, len(got))
	for _, r := range got {
		statuses = append(statuses, r.Status)
		if r.RequestID == "" {
			t.Errorf("call record %+v, want the request ID", r)
		}
		if got, want := r.Consumer, "shop"; got != want {
			t.Errorf("call record consumer = %q, want %q", got, want)
		}
	}
	slices.Sort(statuses)
	if want := []int{200, 403, 403, 403}; !slices.Equal(statuses, want) {
		t.Errorf("statuses of acme's recorded orders calls = %v, want %v", statuses, want)
	}
}

func TestRoutesShowsTheCallLogAfterRequestIDAndTheSubscriptionBetweenAuthAndCache(t *testing.T) {
	t.Parallel()
	rec := calllog.NewRecorder(calllog.RecorderConfig{Sinks: []calllog.Sink{calllog.NewRing(10)}, Logger: quiet})
	t.Cleanup(func() { _ = rec.Close(context.Background()) })
	p := platform.New(platform.NewMemoryStore())
	tests := []struct {
		name  string
		chain []string
		want  []string
	}{
		{"the call log follows request_id", []string{"request_id", "recover"}, []string{"request_id", "calllog", "recover"}},
		{"the call log comes first without request_id", []string{"recover"}, []string{"calllog", "recover"}},
		{"a chain naming the call log keeps its place", []string{"recover", "calllog", "request_id"}, []string{"recover", "calllog", "request_id"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			g, _ := newGateway(t,
				gateway.WithUpstream(upstreamOf(t, "orders", echoServer(t, "orders"))),
				config.WithPlatform(p, rec),
				gateway.WithChain(tt.chain...),
				gateway.WithRoute(gateway.Route{
					Name:     "orders",
					Prefix:   "/orders",
					Upstream: "orders",
					Policy: gateway.Policy{Auth: &gateway.Auth{Methods: []string{config.PlatformAuth}},
						Subscription: "orders", Cache: &gateway.Cache{TTL: time.Minute}},
				}),
			)
			chain := g.Routes()[0].Chain
			if !slices.Equal(chain[:len(tt.want)], tt.want) {
				t.Errorf("chain = %v, want it to start with %v", chain, tt.want)
			}
			auth := slices.IndexFunc(chain, func(s string) bool { return strings.HasPrefix(s, "auth(") })
			sub := slices.Index(chain, "subscription(orders)")
			cache := slices.IndexFunc(chain, func(s string) bool { return strings.HasPrefix(s, "cache") })
			if auth < 0 {
				t.Fatalf("chain = %v, want an auth stage", chain)
			}
			if got, want := sub, auth+1; got != want {
				t.Errorf("chain = %v, want subscription(orders) right after auth", chain)
			}
			if cache < sub {
				t.Errorf("chain = %v, want subscription(orders) before the cache", chain)
			}
		})
	}
}

func TestASubscriptionPolicyThatCannotWorkIsRejectedNamingTheField(t *testing.T) {
	t.Parallel()
	p := platform.New(platform.NewMemoryStore())
	auth := &gateway.Auth{Methods: []string{config.PlatformAuth}}
	tests := []struct {
		name   string
		opts   []gateway.Option
		policy gateway.Policy
		want   string
	}{
		{
			name:   "a subscription without a platform",
			opts:   nil,
			policy: gateway.Policy{Auth: &gateway.Auth{Anonymous: true}, Subscription: "orders"},
			want:   "routes[0].policy.subscription: needs a platform",
		},
		{
			name:   "a subscription without auth",
			opts:   []gateway.Option{config.WithPlatform(p, nil)},
			policy: gateway.Policy{Subscription: "orders"},
			want:   "routes[0].policy.subscription: needs auth",
		},
		{
			name:   "a subscription that is not an API ID",
			opts:   []gateway.Option{config.WithPlatform(p, nil)},
			policy: gateway.Policy{Auth: auth, Subscription: "or ders"},
			want:   `routes[0].policy.subscription: "or ders" is not an API ID`,
		},
		{
			name:   "a nil platform",
			opts:   []gateway.Option{config.WithPlatform(nil, nil)},
			policy: gateway.Policy{},
			want:   "platform: WithPlatform needs a platform",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			opts := append([]gateway.Option{gateway.WithLogger(quiet),
				gateway.WithUpstream(upstreamOf(t, "orders", echoServer(t, "orders"))),
				gateway.WithRoute(gateway.Route{
					Name:     "orders",
					Prefix:   "/orders",
					Upstream: "orders",
					Policy:   tt.policy,
				})}, tt.opts...)
			g, err := gateway.New(opts...)
			if err == nil {
				g.Close()
				t.Fatal("New accepted the configuration")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestTheAdminHandlerSaysWhenTheGatewayHasNoPlatform(t *testing.T) {
	t.Parallel()
	g, _ := newGateway(t, gateway.WithUpstream(upstreamOf(t, "orders", echoServer(t, "orders"))),
		gateway.WithRoute(gateway.Route{Name: "orders", Prefix: "/orders", Upstream: "orders"}))
	adm := httptest.NewServer(gateway.Admin(gateway.AdminConfig{Gateway: func() *gateway.Gateway { return g }}))
	defer adm.Close()
	r := call(t, http.MethodGet, adm.URL+"/platform/api/tenants", platformToken, nil, http.StatusNotFound)
	if !strings.Contains(string(r.body), "/platform/ for one with a platform") {
		t.Errorf("body = %s, want it to say the gateway has no platform", r.body)
	}
}

func TestAConsumerRequestsItsOwnSubscriptionThroughThePortalOnThePublicListener(t *testing.T) {
	t.Parallel()
	p := platform.New(platform.NewMemoryStore(), platform.WithAdminToken("root", platformToken), platform.WithLogger(quiet))
	g, srv := newGateway(t,
		gateway.WithUpstream(upstreamOf(t, "orders", echoServer(t, "orders"))),
		config.WithPlatform(p, nil),
		gateway.WithRoute(gateway.Route{
			Name:     "orders",
			Prefix:   "/orders",
			Upstream: "orders",
			Policy:   gateway.Policy{Auth: &gateway.Auth{Methods: []string{config.PlatformAuth}}, Subscription: "orders"},
		}),
	)
	adm := httptestServer(t, gateway.Admin(gateway.AdminConfig{Gateway: func() *gateway.Gateway { return g }}))
	key := onboard(t, adm+"/platform")

	call(t, http.MethodGet, srv.URL+"/subscriptions", "", nil, http.StatusUnauthorized)
	call(t, http.MethodPost, srv.URL+"/subscriptions", key, map[string]string{"api": "orders"}, http.StatusAccepted)
	r := call(t, http.MethodGet, srv.URL+"/subscriptions", key, nil, http.StatusOK)
	if !strings.Contains(string(r.body), `"pending"`) {
		t.Errorf("the consumer's subscriptions: %s, want the pending one it requested", r.body)
	}
	call(t, http.MethodGet, srv.URL+"/orders/1", key, nil, http.StatusForbidden)
	call(t, http.MethodPost, adm+"/platform/api/subscriptions/shop.orders/approve", platformToken, nil, http.StatusOK)
	call(t, http.MethodGet, srv.URL+"/orders/1", key, nil, http.StatusOK)

	// Under the portal's path: the consumer's APIs, a key of its own made
	// there, and its usage.
	if r := call(t, http.MethodGet, srv.URL+"/subscriptions/apis", key, nil, http.StatusOK); !strings.Contains(string(r.body), `"id":"orders"`) {
		t.Errorf("the portal's APIs: %s, want orders", r.body)
	}
	var made struct {
		Secret string `json:"secret"`
	}
	if err := json.Unmarshal(call(t, http.MethodPost, srv.URL+"/subscriptions/keys", key, map[string]any{}, http.StatusCreated).body, &made); err != nil {
		t.Fatal(err)
	}
	call(t, http.MethodGet, srv.URL+"/orders/2", made.Secret, nil, http.StatusOK)
	call(t, http.MethodGet, srv.URL+"/subscriptions/usage", key, nil, http.StatusOK)
}
