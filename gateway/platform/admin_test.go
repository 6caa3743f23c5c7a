package platform_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/portico-dev/portico/gateway/calllog"
	"github.com/portico-dev/portico/gateway/platform"
	"github.com/portico-dev/portico/openapi/openapitest"
)

func TestTheAdminAPIRejectsRequestsWithoutTheAdminCredential(t *testing.T) {
	t.Parallel()
	g := newGateway(t, platform.NewMemoryStore())
	g.seed(t)
	tests := []struct {
		name, method, path, token string
	}{
		{
			name:   "a read without any credential",
			method: http.MethodGet,
			path:   "/api/tenants",
			token:  "",
		},
		{
			name:   "a write without any credential",
			method: http.MethodPost,
			path:   "/api/tenants",
			token:  "",
		},
		{
			name:   "an approval with a wrong token",
			method: http.MethodPost,
			path:   "/api/subscriptions/shop.orders/approve",
			token:  "wrong-token-0123456789",
		},
		{
			name:   "a consumer's API key instead of the admin token",
			method: http.MethodGet,
			path:   "/api/audit",
			token:  "pk_not_an_admin_token",
		},
		{
			name:   "the dashboard without any credential",
			method: http.MethodGet,
			path:   "/dashboard",
			token:  "",
		},
		{
			name:   "the catalog without any credential",
			method: http.MethodGet,
			path:   "/catalog",
			token:  "",
		},
		{
			name:   "the API document without any credential",
			method: http.MethodGet,
			path:   "/docs/openapi.json",
			token:  "",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := send(t, tt.method, g.admin.URL+tt.path, tt.token, map[string]string{"id": "evil"})
			if got, want := r.status, http.StatusUnauthorized; got != want {
				t.Errorf("status %d, want %d", got, want)
			}
			if r.header.Get("WWW-Authenticate") == "" {
				t.Error("401 without a WWW-Authenticate challenge")
			}
			problemOf(t, r)
		})
	}
	var tenants []platform.Tenant
	g.adm(t, http.MethodGet, "/api/tenants", nil, http.StatusOK).json(t, &tenants)
	for _, tn := range tenants {
		if tn.ID == "evil" {
			t.Error("a request without the credential created a tenant")
		}
	}
	// HTTP Basic auth with the token as password works, for browsers.
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, g.admin.URL+"/api/tenants", nil)
	req.SetBasicAuth("anyone", adminToken)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Errorf("basic auth with the token: status %d, want 200", res.StatusCode)
	}
}

func TestTheAdminAPIRefusesChangesSentByAPageOfAnotherOrigin(t *testing.T) {
	t.Parallel()
	g := newGateway(t, platform.NewMemoryStore())
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, g.admin.URL+"/api/tenants", strings.NewReader(`{"id":"evil"}`))
	req.SetBasicAuth("root", adminToken)
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusForbidden {
		t.Errorf("a cross-site POST with cached credentials: status %d, want 403", res.StatusCode)
	}
	if _, err := g.p.Tenant(context.Background(), "evil"); err == nil {
		t.Error("the cross-site request created a tenant")
	}
	// Reading stays possible, and same-origin or non-browser writes work.
	req, _ = http.NewRequestWithContext(context.Background(), http.MethodPost, g.admin.URL+"/api/tenants", strings.NewReader(`{"id":"fine"}`))
	req.SetBasicAuth("root", adminToken)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	res, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusCreated {
		t.Errorf("a same-origin POST: status %d, want 201", res.StatusCode)
	}
}

func TestEveryWriteThroughTheAdminAPIAppearsInTheAuditLog(t *testing.T) {
	t.Parallel()
	g := newGateway(t, platform.NewMemoryStore(), platform.WithAdminToken("alice", "alice-token-0123456789"))
	shop, _ := g.seed(t)
	g.call(t, http.MethodPost, "/subscriptions", shop, map[string]string{"api": "orders"})
	r := send(t, http.MethodPost, g.admin.URL+"/api/subscriptions/shop.orders/approve", "alice-token-0123456789", nil)
	if r.status != http.StatusOK {
		t.Fatalf("approve as alice: %d %s", r.status, r.body)
	}
	g.adm(t, http.MethodPost, "/api/apis/orders/state", map[string]any{"state": "deprecated"}, http.StatusOK)
	var keys []platform.Key
	g.adm(t, http.MethodGet, "/api/tenants/acme/consumers/shop/keys", nil, http.StatusOK).json(t, &keys)
	g.adm(t, http.MethodDelete, "/api/tenants/acme/keys/"+keys[0].ID, nil, http.StatusNoContent)
	g.adm(t, http.MethodDelete, "/api/tenants/globex/consumers/ledger", nil, http.StatusNoContent)
	// Refused writes change nothing and log nothing.
	g.adm(t, http.MethodPost, "/api/tenants", map[string]any{"id": "acme"}, http.StatusConflict)

	var audit []platform.Entry
	g.adm(t, http.MethodGet, "/api/audit", nil, http.StatusOK).json(t, &audit)
	var got []string
	for _, e := range audit {
		if e.Time.IsZero() {
			t.Errorf("entry without time: %+v", e)
		}
		if e.Actor == "" {
			t.Errorf("entry without actor: %+v", e)
		}
		got = append(got, e.Actor+" "+e.Action+" "+e.ID)
	}
	want := []string{
		"root tenant.create acme", "root tenant.create globex",
		"root consumer.create shop", "root consumer.create ledger",
		"root key.create " + auditID(audit, "key.create", 0), "root key.create " + auditID(audit, "key.create", 1),
		"root api.create orders", "root api.create reports",
		"consumer:shop subscription.request shop.orders",
		"alice subscription.approve shop.orders",
		"root api.state orders",
		"root key.delete " + keys[0].ID,
		"root key.delete " + auditID(audit, "key.delete", 1), "root consumer.delete ledger",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("audit log:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// A tenant's view of the audit log holds only its entries.
	g.adm(t, http.MethodGet, "/api/audit?tenant=globex", nil, http.StatusOK).json(t, &audit)
	for _, e := range audit {
		if e.Tenant != "globex" {
			t.Errorf("globex's audit log shows %+v", e)
		}
	}
}

// auditID returns the ID of the n-th entry with action.
func auditID(es []platform.Entry, action string, n int) string {
	for _, e := range es {
		if e.Action == action {
			if n == 0 {
				return e.ID
			}
			n--
		}
	}
	return "?"
}

func TestTheAdminAPIDocumentValidatesAndItsResponsesKeepTheContract(t *testing.T) {
	t.Parallel()
	spec, err := platform.Spec()
	if err != nil {
		t.Fatalf("the admin API document does not validate: %v", err)
	}
	ring := calllog.NewRing(10)
	agg := calllog.NewAggregator(calllog.AggregatorConfig{})
	_ = ring.Write(context.Background(), []calllog.Record{{
		Tenant:    "acme",
		Status:    500,
		Error:     "upstream",
		RequestID: "r1",
	}})
	p := platform.New(platform.NewMemoryStore(), platform.WithAdminToken("root", adminToken), platform.WithCallLog(ring, agg))
	c := openapitest.New(t, spec, p.Admin())
	t.Cleanup(c.RequireCoverage)
	do := func(method, path string, body any, want int) []byte {
		t.Helper()
		var rd io.Reader
		if body != nil {
			b, _ := json.Marshal(body)
			rd = bytes.NewReader(b)
		}
		req := httptest.NewRequest(method, path, rd)
		req.Header.Set("Authorization", "Bearer "+adminToken)
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		res := c.Do(req)
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		if res.StatusCode != want {
			t.Errorf("%s %s: status %d, want %d: %s", method, path, res.StatusCode, want, b)
		}
		return b
	}
	do(http.MethodGet, "/api/tenants", nil, http.StatusOK)
	do(http.MethodPost, "/api/tenants", map[string]any{"id": "acme"}, http.StatusCreated)
	do(http.MethodPost, "/api/tenants", map[string]any{"id": "acme"}, http.StatusConflict)
	do(http.MethodPost, "/api/tenants", map[string]any{"id": "-bad id"}, http.StatusBadRequest)
	do(http.MethodGet, "/api/tenants/acme", nil, http.StatusOK)
	do(http.MethodGet, "/api/tenants/nobody", nil, http.StatusNotFound)
	do(http.MethodPost, "/api/tenants/acme/consumers", map[string]any{"id": "shop", "scopes": []string{"read"}}, http.StatusCreated)
	do(http.MethodGet, "/api/tenants/acme/consumers", nil, http.StatusOK)
	do(http.MethodGet, "/api/tenants/acme/consumers/shop", nil, http.StatusOK)
	if b := do(http.MethodPut, "/api/tenants/acme/consumers/shop", map[string]any{"plan": "gold", "scopes": []string{"read", "write"}}, http.StatusOK); !bytes.Contains(b, []byte(`"plan":"gold"`)) {
		t.Errorf("updated consumer = %s", b)
	}
	do(http.MethodPut, "/api/tenants/other/consumers/shop", map[string]any{"plan": "free"}, http.StatusNotFound)
	b := do(http.MethodPost, "/api/tenants/acme/consumers/shop/keys", map[string]any{"expires": "2999-01-01T00:00:00Z"}, http.StatusCreated)
	var created struct {
		Key    map[string]any
		Secret string
	}
	_ = json.Unmarshal(b, &created)
	if !strings.HasPrefix(created.Secret, "pk_") {
		t.Errorf("created key = %s: want the secret once", b)
	}
	if created.Key["hash"] != nil {
		t.Errorf("created key = %s: want no hash", b)
	}
	list := do(http.MethodGet, "/api/tenants/acme/consumers/shop/keys", nil, http.StatusOK)
	if bytes.Contains(list, []byte(created.Secret)) {
		t.Errorf("listing keys shows the secret: %s", list)
	}
	if bytes.Contains(list, []byte("hash")) {
		t.Errorf("listing keys shows a hash: %s", list)
	}
	do(http.MethodDelete, "/api/tenants/acme/keys/"+created.Key["id"].(string), nil, http.StatusNoContent)
	do(http.MethodPut, "/api/apis/orders", map[string]any{"tenant": "acme", "state": "published", "approval": "manual"}, http.StatusOK)
	do(http.MethodPut, "/api/apis/orders", map[string]any{"tenant": "acme", "visibility": "everyone"}, http.StatusBadRequest)
	do(http.MethodPut, "/api/apis/orders", map[string]any{"tenant": "acme", "successor": "<script>"}, http.StatusBadRequest)
	do(http.MethodGet, "/api/apis", nil, http.StatusOK)
	do(http.MethodGet, "/api/apis/orders", nil, http.StatusOK)
	do(http.MethodPost, "/api/subscriptions", map[string]any{"tenant": "acme", "consumer": "shop", "api": "orders"}, http.StatusOK)
	do(http.MethodGet, "/api/subscriptions?state=pending", nil, http.StatusOK)
	do(http.MethodPost, "/api/subscriptions/shop.orders/approve", map[string]any{"reason": "ok"}, http.StatusOK)
	do(http.MethodPost, "/api/subscriptions/shop.orders/approve", nil, http.StatusConflict)
	do(http.MethodPost, "/api/subscriptions/nobody.orders/revoke", nil, http.StatusNotFound)
	do(http.MethodPost, "/api/apis/orders/state", map[string]any{"state": "deprecated", "sunset": "2999-01-01T00:00:00Z"}, http.StatusOK)
	do(http.MethodGet, "/api/audit", nil, http.StatusOK)
	do(http.MethodGet, "/api/calls?failed=true&limit=5", nil, http.StatusOK)
	do(http.MethodGet, "/api/calls?limit=0", nil, http.StatusBadRequest)
	do(http.MethodGet, "/api/stats?by=api&window=30m&step=1m", nil, http.StatusOK)
	do(http.MethodGet, "/api/stats?window=forever", nil, http.StatusBadRequest)
	do(http.MethodDelete, "/api/tenants/acme", nil, http.StatusConflict)
	do(http.MethodDelete, "/api/tenants/acme/consumers/shop", nil, http.StatusNoContent)
	do(http.MethodPost, "/api/tenants", map[string]any{"id": "empty"}, http.StatusCreated)
	do(http.MethodDelete, "/api/tenants/empty", nil, http.StatusNoContent)
}
