package platform_test

import (
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/portico-dev/portico/gateway/platform"
)

func openFile(t testing.TB, path string) *platform.FileStore {
	t.Helper()
	s, err := platform.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestAConsumerIsRefusedThenSubscribesIsApprovedAndCalls(t *testing.T) {
	t.Parallel()
	store := openFile(t, filepath.Join(t.TempDir(), "platform.db"))
	defer store.Close()
	g := newGateway(t, store)
	shop, _ := g.seed(t)

	// No subscription: 403 saying how to subscribe.
	r := g.call(t, http.MethodGet, "/orders/42", shop, nil)
	if r.status != http.StatusForbidden {
		t.Fatalf("without a subscription: status %d, want 403: %s", r.status, r.body)
	}
	p := problemOf(t, r)
	if got, want := p["subscribe"], any("/subscriptions"); got != want {
		t.Errorf("the refusal's subscribe = %v, want %v", got, want)
	}
	if detail, _ := p["detail"].(string); !strings.Contains(detail, `POST {"api":"orders"} to /subscriptions`) {
		t.Errorf("the refusal's detail %q does not say how to subscribe", detail)
	}

	// The consumer requests a subscription: manual approval keeps it pending.
	r = g.call(t, http.MethodPost, "/subscriptions", shop, map[string]string{"api": "orders"})
	if r.status != http.StatusAccepted {
		t.Fatalf("subscribe: status %d, want 202: %s", r.status, r.body)
	}
	var sub platform.Subscription
	r.json(t, &sub)
	if got, want := (subFacts{sub.State, sub.Tenant, sub.Consumer}), (subFacts{platform.Pending, "acme", "shop"}); got != want {
		t.Fatalf("subscription = %+v, want %+v", got, want)
	}
	r = g.call(t, http.MethodGet, "/orders/42", shop, nil)
	if got, want := r.status, http.StatusForbidden; got != want {
		t.Fatalf("pending: status %d, want %d: %s", got, want, r.body)
	}
	if detail, _ := problemOf(t, r)["detail"].(string); !strings.Contains(detail, "awaits approval") {
		t.Fatalf("pending: detail %q, want it to say the subscription awaits approval", detail)
	}

	// The administrator finds it among the pending ones and approves it.
	var pending []platform.Subscription
	g.adm(t, http.MethodGet, "/api/subscriptions?state=pending", nil, http.StatusOK).json(t, &pending)
	if got, want := len(pending), 1; got != want {
		t.Fatalf("%d pending, want %d: %+v", got, want, pending)
	}
	if got, want := pending[0].ID, sub.ID; got != want {
		t.Fatalf("pending ID %q, want %q", got, want)
	}
	g.adm(t, http.MethodPost, "/api/subscriptions/"+sub.ID+"/approve", nil, http.StatusOK)

	r = g.call(t, http.MethodGet, "/orders/42", shop, nil)
	if got, want := r.status, http.StatusOK; got != want {
		t.Fatalf("after approval: status %d, want the upstream's %d: %s", got, want, r.body)
	}
	if !strings.Contains(string(r.body), "/orders/42") {
		t.Fatalf("after approval: body %s, want the upstream's echo of /orders/42", r.body)
	}

	// Suspend, resume and revoke each take effect on the next request.
	steps := []struct {
		action string
		want   int
	}{
		{"suspend", http.StatusForbidden},
		{"resume", http.StatusOK},
		{"revoke", http.StatusForbidden},
	}
	for _, s := range steps {
		g.adm(t, http.MethodPost, "/api/subscriptions/"+sub.ID+"/"+s.action, map[string]string{"reason": "test"}, http.StatusOK)
		if r := g.call(t, http.MethodGet, "/orders/42", shop, nil); r.status != s.want {
			t.Errorf("after %s: status %d, want %d: %s", s.action, r.status, s.want, r.body)
		}
	}
	// An action that does not apply to the state is a 409 naming it.
	r = g.adm(t, http.MethodPost, "/api/subscriptions/"+sub.ID+"/approve", nil, http.StatusConflict)
	if !strings.Contains(string(r.body), "cannot approve a subscription that is revoked") {
		t.Errorf("conflict detail = %s", r.body)
	}
}

func TestAutoApprovalActivatesAtOnceAndTheTenantOnlyAPIStaysHidden(t *testing.T) {
	t.Parallel()
	g := newGateway(t, platform.NewMemoryStore())
	shop, ledger := g.seed(t)
	r := g.call(t, http.MethodPost, "/subscriptions", ledger, map[string]string{"api": "reports"})
	if r.status != http.StatusOK {
		t.Fatalf("auto subscribe: %d %s", r.status, r.body)
	}
	if r := g.call(t, http.MethodGet, "/reports/q1", ledger, nil); r.status != http.StatusOK {
		t.Errorf("auto-approved call: %d %s", r.status, r.body)
	}
	// acme cannot see, subscribe to or call globex's tenant-only API.
	if r := g.call(t, http.MethodPost, "/subscriptions", shop, map[string]string{"api": "reports"}); r.status != http.StatusNotFound {
		t.Errorf("cross-tenant subscribe: status %d, want 404: %s", r.status, r.body)
	}
	if r := g.call(t, http.MethodGet, "/reports/q1", shop, nil); r.status != http.StatusNotFound {
		t.Errorf("cross-tenant call: status %d, want 404: %s", r.status, r.body)
	}
}

func TestTheAPILifecycleIsEnforcedOnTheRequestPath(t *testing.T) {
	t.Parallel()
	g := newGateway(t, platform.NewMemoryStore())
	_, ledger := g.seed(t)
	g.call(t, http.MethodPost, "/subscriptions", ledger, map[string]string{"api": "reports"})

	g.adm(t, http.MethodPost, "/api/apis/reports/state", map[string]any{"state": "deprecated",
		"sunset": "2999-01-01T00:00:00Z", "successor": "/reports/v2"}, http.StatusOK)
	r := g.call(t, http.MethodGet, "/reports/q1", ledger, nil)
	if got, want := r.status, http.StatusOK; got != want {
		t.Errorf("deprecated: status %d, want %d", got, want)
	}
	for _, name := range []string{"Deprecation", "Sunset"} {
		if r.header.Get(name) == "" {
			t.Errorf("deprecated: no %s header", name)
		}
	}
	// A deprecated API takes no new subscriptions.
	g.adm(t, http.MethodPost, "/api/subscriptions", map[string]string{"tenant": "globex", "consumer": "ledger", "api": "reports"}, http.StatusConflict)

	g.adm(t, http.MethodPost, "/api/apis/reports/state", map[string]any{"state": "retired"}, http.StatusOK)
	if r := g.call(t, http.MethodGet, "/reports/q1", ledger, nil); r.status != http.StatusGone {
		t.Errorf("retired: status %d, want 410: %s", r.status, r.body)
	}
	g.adm(t, http.MethodPost, "/api/apis/reports/state", map[string]any{"state": "published"}, http.StatusConflict)

	g.adm(t, http.MethodPut, "/api/apis/reports", map[string]any{"tenant": "globex", "state": "draft"}, http.StatusOK)
	if r := g.call(t, http.MethodGet, "/reports/q1", ledger, nil); r.status != http.StatusNotFound {
		t.Errorf("draft: status %d, want 404", r.status)
	}
}

func TestAnExpiredKeyIsRefusedWhileTheConsumersOtherKeyAndNewPlanWork(t *testing.T) {
	t.Parallel()
	g := newGateway(t, platform.NewMemoryStore())
	_, ledger := g.seed(t)
	g.call(t, http.MethodPost, "/subscriptions", ledger, map[string]string{"api": "reports"})
	var k struct{ Secret string }
	g.adm(t, http.MethodPost, "/api/tenants/globex/consumers/ledger/keys", map[string]string{"expires": "2001-01-01T00:00:00Z"}, http.StatusCreated).json(t, &k)
	if r := g.call(t, http.MethodGet, "/reports/1", k.Secret, nil); r.status != http.StatusUnauthorized {
		t.Errorf("an expired key: status %d, want 401", r.status)
	}
	if r := g.call(t, http.MethodGet, "/reports/1", ledger, nil); r.status != http.StatusOK {
		t.Errorf("the consumer's other key: status %d, want 200 (rotation)", r.status)
	}
	var c platform.ConsumerRecord
	g.adm(t, http.MethodPut, "/api/tenants/globex/consumers/ledger", map[string]any{"plan": "gold"}, http.StatusOK).json(t, &c)
	if got, want := c.Plan, "gold"; got != want {
		t.Errorf("updated consumer's plan = %q, want %q", got, want)
	}
	if got, want := c.Tenant, "globex"; got != want {
		t.Errorf("updated consumer's tenant = %q, want %q", got, want)
	}
}
