package auth_test

import (
	"net/http"
	"testing"

	"github.com/portico-dev/portico/middleware/auth"
)

func TestAuthorize(t *testing.T) {
	t.Parallel()
	keys := auth.NewMemoryAPIKeys(
		auth.APIKey{ID: "a", Consumer: "acme", Hash: auth.HashAPIKey("acme")},
		auth.APIKey{ID: "b", Consumer: "bob", Hash: auth.HashAPIKey("bob")},
	)
	authn := auth.New(auth.Config{
		Authenticators: []auth.Authenticator{auth.NewAPIKeyAuth(auth.APIKeyConfig{Keys: keys, Consumers: testConsumers()})},
		Anonymous:      true,
	})
	tests := []struct {
		name       string
		cfg        auth.AuthzConfig
		key        string
		wantStatus int
		wantChall  string
	}{
		{
			name:       "all required scopes present passes",
			cfg:        auth.AuthzConfig{Scopes: []string{"orders:read", "orders:write"}},
			key:        "acme",
			wantStatus: 200,
		},
		{
			name:       "one missing scope of an all-of list is forbidden",
			cfg:        auth.AuthzConfig{Scopes: []string{"orders:read", "orders:write"}},
			key:        "bob",
			wantStatus: 403,
			wantChall:  `Bearer error="insufficient_scope", scope="orders:read orders:write"`,
		},
		{
			name:       "one held scope of an any-of list passes",
			cfg:        auth.AuthzConfig{Scopes: []string{"orders:write", "orders:read"}, Any: true},
			key:        "bob",
			wantStatus: 200,
		},
		{
			name:       "a required role held passes",
			cfg:        auth.AuthzConfig{Roles: []string{"admin"}},
			key:        "acme",
			wantStatus: 200,
		},
		{
			name:       "a required role missing is forbidden",
			cfg:        auth.AuthzConfig{Roles: []string{"admin"}},
			key:        "bob",
			wantStatus: 403,
		},
		{
			name:       "scopes and roles together are all required",
			cfg:        auth.AuthzConfig{Scopes: []string{"orders:read"}, Roles: []string{"admin"}},
			key:        "bob",
			wantStatus: 403,
		},
		{name: "an anonymous caller gets 401, not 403", cfg: auth.AuthzConfig{Scopes: []string{"orders:read"}}, wantStatus: 401},
		{name: "the zero config admits any authenticated caller", key: "bob", wantStatus: 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := serve(t, authn(auth.Authorize(tt.cfg)(whoami)))
			var h []string
			if tt.key != "" {
				h = []string{"X-API-Key", tt.key}
			}
			res, body := do(t, srv, newRequest(t, http.MethodGet, srv.URL, nil, h...))
			if res.StatusCode != tt.wantStatus {
				t.Fatalf("status = %d, want %d (%s)", res.StatusCode, tt.wantStatus, body)
			}
			if tt.wantStatus >= 400 {
				problemDoc(t, res, body)
			}
			if tt.wantChall != "" && res.Header.Get("WWW-Authenticate") != tt.wantChall {
				t.Fatalf("WWW-Authenticate = %q, want %q", res.Header.Get("WWW-Authenticate"), tt.wantChall)
			}
		})
	}
}
