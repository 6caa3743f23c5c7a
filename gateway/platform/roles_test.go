package platform_test

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/portico-dev/portico/gateway/platform"
	"github.com/portico-dev/portico/middleware"
	"github.com/portico-dev/portico/middleware/auth"
)

// A consumer's roles are stored with it and reach authorization: the
// platform's consumers are middleware.MemoryConsumers, roles included.
func TestAConsumersRolesAreStoredAndAuthorizeItsRequests(t *testing.T) {
	t.Parallel()
	p := platform.New(platform.NewMemoryStore(), platform.WithAdminToken("root", adminToken))
	admin := httptest.NewServer(p.Admin())
	t.Cleanup(admin.Close)
	adm := func(method, path string, body any, want int) response {
		t.Helper()
		r := send(t, method, admin.URL+path, adminToken, body)
		if r.status != want {
			t.Fatalf("%s %s: status %d, want %d: %s", method, path, r.status, want, r.body)
		}
		return r
	}
	public := httptest.NewServer(middleware.Chain(
		auth.New(auth.Config{Authenticators: []auth.Authenticator{p.KeyAuth(auth.APIKeyConfig{})}}),
		auth.Authorize(auth.AuthzConfig{Roles: []string{"admin"}}),
	)(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})))
	t.Cleanup(public.Close)

	adm(http.MethodPost, "/api/tenants", map[string]any{"id": "acme"}, http.StatusCreated)
	var c platform.ConsumerRecord
	adm(http.MethodPost, "/api/tenants/acme/consumers", map[string]any{"id": "ops", "roles": []string{"admin"}}, http.StatusCreated).json(t, &c)
	if got, want := c.Roles, []string{"admin"}; !slices.Equal(got, want) {
		t.Errorf("created roles = %q, want %q", got, want)
	}
	var k struct{ Secret string }
	adm(http.MethodPost, "/api/tenants/acme/consumers/ops/keys", nil, http.StatusCreated).json(t, &k)

	if got, want := send(t, http.MethodGet, public.URL, k.Secret, nil).status, http.StatusOK; got != want {
		t.Errorf("with the role: status %d, want %d", got, want)
	}
	adm(http.MethodPut, "/api/tenants/acme/consumers/ops", map[string]any{"roles": []string{"auditor"}}, http.StatusOK)
	if got, want := send(t, http.MethodGet, public.URL, k.Secret, nil).status, http.StatusForbidden; got != want {
		t.Errorf("after the role was taken away: status %d, want %d", got, want)
	}
	adm(http.MethodGet, "/api/tenants/acme/consumers/ops", nil, http.StatusOK).json(t, &c)
	if got, want := c.Roles, []string{"auditor"}; !slices.Equal(got, want) {
		t.Errorf("stored roles = %q, want %q", got, want)
	}
}

// The authenticator sets how a request was authenticated; a stored
// consumer never carries it.
func TestAConsumerCannotBeCreatedWithAnAuthenticationMethod(t *testing.T) {
	t.Parallel()
	p := platform.New(platform.NewMemoryStore(), platform.WithAdminToken("root", adminToken))
	admin := httptest.NewServer(p.Admin())
	t.Cleanup(admin.Close)
	if r := send(t, http.MethodPost, admin.URL+"/api/tenants", adminToken, map[string]any{"id": "acme"}); r.status != http.StatusCreated {
		t.Fatalf("tenant: status %d: %s", r.status, r.body)
	}
	r := send(t, http.MethodPost, admin.URL+"/api/tenants/acme/consumers", adminToken, map[string]any{"id": "ops", "method": "mtls"})
	if got, want := r.status, http.StatusBadRequest; got != want {
		t.Errorf("status %d, want %d: %s", got, want, r.body)
	}
}
