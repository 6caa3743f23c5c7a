package platform_test

import (
	"net/http"
	"testing"

	"github.com/portico-dev/portico/gateway/platform"
)

func TestAConsumerServesItselfThroughThePortal(t *testing.T) {
	t.Parallel()
	g := newGateway(t, platform.NewMemoryStore())
	shop, ledger := g.seed(t)

	var apis []platform.API
	g.call(t, http.MethodGet, "/subscriptions/apis", shop, nil).json(t, &apis)
	for _, a := range apis {
		if a.ID == "reports" {
			t.Error("acme's consumer sees globex's tenant-only API")
		}
	}
	if len(apis) != 1 {
		t.Errorf("acme's consumer sees %d APIs, want 1 (orders)", len(apis))
	}

	var sub platform.Subscription
	if r := g.call(t, http.MethodPost, "/subscriptions", shop, map[string]string{"api": "orders"}); r.status != http.StatusAccepted {
		t.Fatalf("requesting a subscription: status %d, want 202", r.status)
	} else {
		r.json(t, &sub)
	}
	g.adm(t, http.MethodPost, "/api/subscriptions/"+sub.ID+"/approve", nil, http.StatusOK)
	var subs []platform.Subscription
	g.call(t, http.MethodGet, "/subscriptions", shop, nil).json(t, &subs)
	if len(subs) != 1 {
		t.Fatalf("%d subscriptions, want 1", len(subs))
	}
	if got, want := subs[0].State, platform.Active; got != want {
		t.Errorf("state %q, want %q", got, want)
	}

	var created struct {
		Key    platform.Key `json:"key"`
		Secret string       `json:"secret"`
	}
	r := g.call(t, http.MethodPost, "/subscriptions/keys", shop, map[string]any{})
	if got, want := r.status, http.StatusCreated; got != want {
		t.Fatalf("creating a key: status %d, want %d: %s", got, want, r.body)
	}
	r.json(t, &created)
	if got, want := g.call(t, http.MethodGet, "/orders/1", created.Secret, nil).status, http.StatusOK; got != want {
		t.Errorf("a first call with the new key: status %d, want %d", got, want)
	}
	var keys []platform.Key
	g.call(t, http.MethodGet, "/subscriptions/keys", shop, nil).json(t, &keys)
	if got, want := len(keys), 2; got != want {
		t.Errorf("%d keys listed, want %d", got, want)
	}
	for _, k := range keys {
		if k.Hash != "" {
			t.Error("the key list holds a hash")
		}
	}
	if got, want := g.call(t, http.MethodDelete, "/subscriptions/keys/"+created.Key.ID, ledger, nil).status, http.StatusNotFound; got != want {
		t.Errorf("another consumer revoking the key: status %d, want %d", got, want)
	}
	if got, want := g.call(t, http.MethodDelete, "/subscriptions/keys/"+created.Key.ID, shop, nil).status, http.StatusNoContent; got != want {
		t.Errorf("revoking the own key: status %d, want %d", got, want)
	}
	if got, want := g.call(t, http.MethodGet, "/orders/2", created.Secret, nil).status, http.StatusUnauthorized; got != want {
		t.Errorf("a call with the revoked key: status %d, want %d", got, want)
	}

	g.flush(t)
	var usage platform.Usage
	g.call(t, http.MethodGet, "/subscriptions/usage", shop, nil).json(t, &usage)
	if got := usage.Total.Requests; got < 1 {
		t.Errorf("usage counts %d calls, want at least the call to orders", got)
	}
	if got := usage.APIs["orders"].Requests; got != 1 {
		t.Errorf("usage of orders counts %d calls, want 1", got)
	}
	if got, want := g.call(t, http.MethodGet, "/subscriptions/nothing", shop, nil).status, http.StatusNotFound; got != want {
		t.Errorf("an unknown portal resource: status %d, want %d", got, want)
	}
}

func TestThePortalServesItsResourcesUnderAnAbsoluteSubscribeURL(t *testing.T) {
	t.Parallel()
	g := newGateway(t, platform.NewMemoryStore(), platform.WithSubscribeURL("https://api.example/subscriptions?from=refusal"))
	shop, _ := g.seed(t)
	var keys []platform.Key
	g.call(t, http.MethodGet, "/subscriptions/keys", shop, nil).json(t, &keys)
	if got, want := len(keys), 1; got != want {
		t.Errorf("%d keys listed, want %d (the seeded one)", got, want)
	}
	if got, want := g.call(t, http.MethodGet, "/subscriptions/nothing", shop, nil).status, http.StatusNotFound; got != want {
		t.Errorf("an unknown portal resource: status %d, want %d", got, want)
	}
}
