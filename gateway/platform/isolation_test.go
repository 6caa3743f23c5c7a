package platform_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/portico-dev/portico/gateway/calllog"
	"github.com/portico-dev/portico/gateway/platform"
	"github.com/portico-dev/portico/middleware"
	"github.com/portico-dev/portico/middleware/auth"
	"github.com/portico-dev/portico/middleware/cache"
	"github.com/portico-dev/portico/middleware/ratelimit"
)

// TestNoTenantReachesAnotherTenantsState walks every cross-tenant path:
// keys and consumers through the admin API, APIs through the guard and the
// catalog, cache entries, idempotency records, quotas and call logs. The
// subtests run in order: the quota one counts the calls made before it.
func TestNoTenantReachesAnotherTenantsState(t *testing.T) {
	t.Parallel()
	var served atomic.Int64
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := served.Add(1)
		w.Header().Set("Cache-Control", "max-age=300")
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"n":%d}`, n)
	}))
	defer up.Close()

	g := newGateway(t, platform.NewMemoryStore())
	shop, ledger := g.seed(t)
	// globex subscribes to acme's public API too; both are approved.
	for _, k := range []string{shop, ledger} {
		var s platform.Subscription
		g.call(t, http.MethodPost, "/subscriptions", k, map[string]string{"api": "orders"}).json(t, &s)
		g.adm(t, http.MethodPost, "/api/subscriptions/"+s.ID+"/approve", nil, http.StatusOK)
	}

	// A public route with the tenant-scoped parts in front of a counting upstream.
	id := g.p.Identities()
	fwd := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, _ := http.NewRequestWithContext(r.Context(), r.Method, up.URL+r.URL.Path, r.Body)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer res.Body.Close()
		for k, v := range res.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(res.StatusCode)
		_, _ = io.Copy(w, res.Body)
	})
	h := middleware.Chain(
		middleware.RequestID(middleware.RequestIDConfig{}),
		calllog.Middleware(calllog.MiddlewareConfig{Recorder: g.rec}),
		auth.New(auth.Config{Authenticators: []auth.Authenticator{
			auth.NewAPIKeyAuth(auth.APIKeyConfig{Keys: id, Consumers: id}),
		}}),
		g.p.Guard("orders"),
		ratelimit.Quota(ratelimit.QuotaConfig{Name: "daily", Limit: 3, Key: platform.TenantScope}),
		cache.New(cache.Config{Scope: platform.TenantScope, AllowAuthorization: true}),
		cache.Idempotency(cache.IdempotencyConfig{Scope: platform.ConsumerScope}),
	)(fwd)
	pub := httptest.NewServer(h)
	defer pub.Close()
	call := func(method, key, idem string) (int, string) {
		req, _ := http.NewRequestWithContext(context.Background(), method, pub.URL+"/orders/1", strings.NewReader(`{}`))
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Content-Type", "application/json")
		if idem != "" {
			req.Header.Set("Idempotency-Key", idem)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}

	t.Run("a cache entry stored for one tenant is never served to another", func(t *testing.T) {
		_, first := call(http.MethodGet, shop, "")
		_, again := call(http.MethodGet, shop, "")
		_, other := call(http.MethodGet, ledger, "")
		if first != again {
			t.Fatalf("acme's second GET %s, want the cached %s", again, first)
		}
		if other == first {
			t.Errorf("globex got acme's cached response %s", other)
		}
	})
	t.Run("an idempotency key of one tenant never replays another tenant's response", func(t *testing.T) {
		_, a := call(http.MethodPost, shop, "same-key")
		_, b := call(http.MethodPost, ledger, "same-key")
		if a == b {
			t.Errorf("globex's POST with acme's idempotency key replayed %s", a)
		}
	})
	t.Run("one tenant spending its quota leaves the other's untouched", func(t *testing.T) {
		// acme made 3 counted calls (GET, cached GET, POST): the next is refused.
		if status, _ := call(http.MethodPost, shop, ""); status != http.StatusTooManyRequests {
			t.Errorf("acme's fourth call: status %d, want 429", status)
		}
		if status, body := call(http.MethodPost, ledger, ""); status != http.StatusOK {
			t.Errorf("globex's third call: status %d, want 200: %s", status, body)
		}
	})
	t.Run("the admin API finds no consumer or key of one tenant under another", func(t *testing.T) {
		g.adm(t, http.MethodGet, "/api/tenants/globex/consumers/shop", nil, http.StatusNotFound)
		g.adm(t, http.MethodGet, "/api/tenants/globex/consumers/shop/keys", nil, http.StatusOK)
		var keys []platform.Key
		g.adm(t, http.MethodGet, "/api/tenants/acme/consumers/shop/keys", nil, http.StatusOK).json(t, &keys)
		g.adm(t, http.MethodDelete, "/api/tenants/globex/keys/"+keys[0].ID, nil, http.StatusNotFound)
		g.adm(t, http.MethodPost, "/api/tenants/globex/consumers/shop/keys", nil, http.StatusNotFound)
		g.adm(t, http.MethodDelete, "/api/tenants/globex/consumers/shop", nil, http.StatusNotFound)
		var list []platform.ConsumerRecord
		g.adm(t, http.MethodGet, "/api/tenants/globex/consumers", nil, http.StatusOK).json(t, &list)
		if got, want := len(list), 1; got != want {
			t.Fatalf("globex has %d consumers, want %d: %+v", got, want, list)
		}
		if got, want := list[0].ID, "ledger"; got != want {
			t.Errorf("globex's consumer = %q, want %q", got, want)
		}
		if status, _ := call(http.MethodGet, shop, ""); status == http.StatusUnauthorized {
			t.Error("a refused cross-tenant delete removed acme's key")
		}
	})
	t.Run("a tenant's key does not open another tenant's tenant-only API", func(t *testing.T) {
		if r := g.call(t, http.MethodGet, "/reports/1", shop, nil); r.status != http.StatusNotFound {
			t.Errorf("status %d, want 404", r.status)
		}
	})
	t.Run("the catalog lists only what a tenant may see", func(t *testing.T) {
		var apis []platform.API
		g.adm(t, http.MethodGet, "/api/apis?tenant=acme", nil, http.StatusOK).json(t, &apis)
		if got, want := len(apis), 1; got != want {
			t.Fatalf("acme sees %d APIs, want %d: %+v", got, want, apis)
		}
		if got, want := apis[0].ID, "orders"; got != want {
			t.Errorf("acme sees %q, want %q", got, want)
		}
		req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, g.admin.URL+"/catalog?tenant=acme", nil)
		req.Header.Set("Authorization", "Bearer "+adminToken)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		page, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if !bytes.Contains(page, []byte(`data-api="orders"`)) {
			t.Errorf("acme's catalog page does not list orders:\n%s", page)
		}
		if bytes.Contains(page, []byte(`data-api="reports"`)) {
			t.Errorf("acme's catalog page lists reports:\n%s", page)
		}
	})
	t.Run("call logs and statistics of one tenant hold none of another's calls", func(t *testing.T) {
		g.flush(t)
		var calls []calllog.Record
		g.adm(t, http.MethodGet, "/api/calls?tenant=globex&limit=1000", nil, http.StatusOK).json(t, &calls)
		if len(calls) == 0 {
			t.Fatal("globex has no call records")
		}
		for _, c := range calls {
			if c.Tenant != "globex" {
				t.Errorf("globex's call log shows %+v", c)
			}
		}
		var all, acme, globex platform.Stats
		g.adm(t, http.MethodGet, "/api/stats?by=api&key=orders", nil, http.StatusOK).json(t, &all)
		g.adm(t, http.MethodGet, "/api/stats?by=api&key=orders&tenant=acme", nil, http.StatusOK).json(t, &acme)
		g.adm(t, http.MethodGet, "/api/stats?by=api&key=orders&tenant=globex", nil, http.StatusOK).json(t, &globex)
		if acme.Summary.Requests == 0 {
			t.Error("orders: acme sees no requests of its own")
		}
		if globex.Summary.Requests == 0 {
			t.Error("orders: globex sees no requests of its own")
		}
		if got, want := acme.Summary.Requests+globex.Summary.Requests, all.Summary.Requests; got != want {
			t.Errorf("orders: acme %d + globex %d = %d requests, want all %d: each tenant must see only its own",
				acme.Summary.Requests, globex.Summary.Requests, got, want)
		}
	})
}

func TestASubscriptionIsNeverBorrowedByAConsumerOfTheSameIDInAnotherTenant(t *testing.T) {
	t.Parallel()
	p := platform.New(platform.NewMemoryStore())
	ctx := context.Background()
	_, _ = p.CreateTenant(ctx, "ops", platform.Tenant{ID: "acme"})
	_, _ = p.CreateConsumer(ctx, "ops", platform.ConsumerRecord{Consumer: middleware.Consumer{ID: "shop", Tenant: "acme"}})
	_, _ = p.PutAPI(ctx, "ops", platform.API{
		ID:       "orders",
		Tenant:   "acme",
		State:    platform.Published,
		Approval: platform.Auto,
	})
	if _, err := p.Subscribe(ctx, "ops", "acme", "shop", "orders"); err != nil {
		t.Fatal(err)
	}
	h := p.Guard("orders")(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) }))
	tests := []struct {
		name     string
		consumer *middleware.Consumer
		want     int
	}{
		{"the subscribed consumer of its own tenant passes", &middleware.Consumer{ID: "shop", Tenant: "acme"}, http.StatusOK},
		{"the same consumer ID from another tenant is refused", &middleware.Consumer{ID: "shop", Tenant: "globex"}, http.StatusForbidden},
		{"an anonymous request is refused", nil, http.StatusForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req := httptest.NewRequest(http.MethodGet, "/orders/1", nil)
			if tt.consumer != nil {
				req = req.WithContext(middleware.WithConsumer(req.Context(), tt.consumer))
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code != tt.want {
				t.Errorf("status %d, want %d: %s", w.Code, tt.want, w.Body)
			}
		})
	}
}
