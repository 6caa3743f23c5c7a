package auth_test

import (
	"encoding/json"
	"net/http"
	"net/http/httputil"
	"net/url"
	"slices"
	"testing"

	"github.com/portico-dev/portico/middleware"
	"github.com/portico-dev/portico/middleware/auth"
)

func TestSpoofedIdentityHeadersNeverReachTheUpstream(t *testing.T) {
	t.Parallel()
	upstream := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(r.Header)
	}))
	target, _ := url.Parse(upstream.URL)
	proxy := httputil.NewSingleHostReverseProxy(target)
	keys := auth.NewMemoryAPIKeys(auth.APIKey{ID: "k", Consumer: "bob", Hash: auth.HashAPIKey("bob-key")})
	gw := serve(t, middleware.Chain(
		auth.New(auth.Config{
			Authenticators: []auth.Authenticator{auth.NewAPIKeyAuth(auth.APIKeyConfig{Keys: keys, Consumers: testConsumers(), Headers: []string{"X-API-Key"}})},
			Anonymous:      true,
		}),
		auth.IdentityHeaders(auth.IdentityConfig{Strip: []string{"X-Forwarded-User", "X-API-Key"}}),
	)(proxy))
	spoof := []string{
		"X-Consumer-ID", "acme", "x-consumer-id", "admin", "X-Consumer_ID", "root",
		"X-Consumer-Scopes", "orders:write", "X-CONSUMER-ROLES", "admin", "X-Consumer-Tenant", "acme-corp",
		"X-Consumer-Plan", "gold", "X-Forwarded-User", "root",
	}
	tests := []struct {
		name string
		key  string
		want map[string]string // header -> value the upstream must see ("" = absent)
	}{
		{name: "an anonymous client's identity headers are all removed", want: map[string]string{
			"X-Consumer-Id": "", "X-Consumer_id": "", "X-Consumer-Scopes": "", "X-Consumer-Roles": "",
			"X-Consumer-Tenant": "", "X-Consumer-Plan": "", "X-Forwarded-User": "",
		}},
		{name: "an authenticated client's headers are replaced by its verified identity", key: "bob-key", want: map[string]string{
			"X-Consumer-Id": "bob", "X-Consumer_id": "", "X-Consumer-Scopes": "orders:read", "X-Consumer-Roles": "",
			"X-Consumer-Tenant": "bobs", "X-Consumer-Plan": "free", "X-Forwarded-User": "", "X-Api-Key": "",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := append([]string(nil), spoof...)
			if tt.key != "" {
				h = append(h, "X-API-Key", tt.key)
			}
			res, body := do(t, gw, newRequest(t, http.MethodGet, gw.URL, nil, h...))
			if res.StatusCode != http.StatusOK {
				t.Fatalf("status %d: %s", res.StatusCode, body)
			}
			var seen map[string][]string
			if err := json.Unmarshal(body, &seen); err != nil {
				t.Fatal(err)
			}
			for k, want := range tt.want {
				got := seen[k]
				if want == "" && len(got) > 0 {
					t.Errorf("upstream saw %s: %q, want it removed", k, got)
				}
				if want != "" && !slices.Equal(got, []string{want}) {
					t.Errorf("upstream saw %s: %q, want exactly %q", k, got, want)
				}
			}
		})
	}
}
