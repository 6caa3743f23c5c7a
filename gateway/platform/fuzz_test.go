package platform_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/portico-dev/portico/gateway/platform"
	"github.com/portico-dev/portico/middleware"
)

// FuzzAdminAPI sends arbitrary paths, query strings and bodies to the admin
// API: it must never panic nor fail with a 5xx, and every error is a
// problem document.
func FuzzAdminAPI(f *testing.F) {
	f.Add("POST", "/api/tenants", "", `{"id":"acme"}`)
	f.Add("PUT", "/api/apis/orders", "", `{"tenant":"acme","state":"published","sunset":"2020-01-01T00:00:00Z"}`)
	f.Add("POST", "/api/apis/orders/state", "", `{"state":"retired","sunset":"x"}`)
	f.Add("POST", "/api/subscriptions/a.b/approve", "", `{"reason":1}`)
	f.Add("GET", "/api/stats", "by=api&window=-1h&step=1ns", "")
	f.Add("GET", "/api/calls", "limit=99999999999999999999", "")
	f.Add("GET", "/dashboard", "window=1ns&step=1h", "")
	f.Add("POST", "/api/tenants/acme/consumers/%2e%2e/keys", "", `{"expires":"9999-12-31T23:59:59Z"}`)
	p := platform.New(platform.NewMemoryStore(), platform.WithAdminToken("root", adminToken))
	ctx := context.Background()
	_, _ = p.CreateTenant(ctx, "seed", platform.Tenant{ID: "acme"})
	_, _ = p.CreateConsumer(ctx, "seed", platform.ConsumerRecord{Consumer: middleware.Consumer{ID: "shop", Tenant: "acme"}})
	_, _ = p.PutAPI(ctx, "seed", platform.API{ID: "orders", Tenant: "acme", State: platform.Published})
	h := p.Admin()
	f.Fuzz(func(t *testing.T, method, path, query, body string) {
		if !strings.HasPrefix(path, "/") || strings.ContainsAny(path, " \t\r\n?#") || strings.ContainsAny(method, " \t\r\n") || method == "" {
			return
		}
		req, err := http.NewRequestWithContext(ctx, method, "http://admin"+path+"?"+query, strings.NewReader(body))
		if err != nil {
			return
		}
		req.Header.Set("Authorization", "Bearer "+adminToken)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code >= 500 {
			t.Fatalf("%s %s?%s %q: status %d: %s", method, path, query, body, w.Code, w.Body)
		}
		if w.Code >= 400 && !strings.HasPrefix(w.Header().Get("Content-Type"), "application/problem+json") {
			t.Fatalf("%s %s: status %d without a problem document: %s", method, path, w.Code, w.Body)
		}
	})
}
