package middleware_test

import (
	"net/http"
	"testing"

	"github.com/portico-dev/portico/middleware"
)

func TestAuthorize(t *testing.T) {
	t.Parallel()
	keys := middleware.NewAPIKeys(
		middleware.APIKey{ID: "a", Consumer: "acme", Hash: middleware.HashAPIKey("acme")},
		middleware.APIKey{ID: "b", Consumer: "bob", Hash: middleware.HashAPIKey("bob")},
	)
	authn := middleware.Authenticate(middleware.AuthConfig{
		Authenticators: []middleware.Authenticator{middleware.NewAPIKeyAuth(middleware.APIKeyConfig{Keys: keys, Consumers: testConsumers()})},
		Anonymous:      true,
	})
	tests := []struct {
		name       string
		cfg        middleware.AuthzConfig
		key        string
		wantStatus int
		wantChall  string
	}{
		{
			name:       "all required scopes present passes",
			cfg:        middleware.AuthzConfig{Scopes: []string{"orders:read", "orders:write"}},
			key:        "acme",
			wantStatus: 200,
		},
		{
			name:       "one missing scope of an all-of list is forbidden",
			cfg:        middleware.AuthzConfig{Scopes: []string{"orders:read", "orders:write"}},
			key:        "bob",
			wantStatus: 403,
			wantChall:  `Bearer error="insufficient_scope", scope="orders:read orders:write"`,
		},
		{
			name:       "one held scope of an any-of list passes",
			cfg:        middleware.AuthzConfig{Scopes: []string{"orders:write", "orders:read"}, Any: true},
			key:        "bob",
			wantStatus: 200,
		},
		{
			name:       "a required role held passes",
			cfg:        middleware.AuthzConfig{Roles: []string{"admin"}},
			key:        "acme",
			wantStatus: 200,
		},
		{
			name:       "a required role missing is forbidden",
			cfg:        middleware.AuthzConfig{Roles: []string{"admin"}},
			key:        "bob",
			wantStatus: 403,
		},
		{
			name:       "scopes and roles together are all required",
			cfg:        middleware.AuthzConfig{Scopes: []string{"orders:read"}, Roles: []string{"admin"}},
			key:        "bob",
			wantStatus: 403,
		},
		{name: "an anonymous caller gets 401, not 403", cfg: middleware.AuthzConfig{Scopes: []string{"orders:read"}}, wantStatus: 401},
		{name: "the zero config admits any authenticated caller", key: "bob", wantStatus: 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := serve(t, authn(middleware.Authorize(tt.cfg)(whoami)))
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
