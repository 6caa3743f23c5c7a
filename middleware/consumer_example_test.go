package middleware_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/portico-dev/portico/middleware"
)

// API keys identify consumers; a route requires scopes; upstreams get the
// verified identity in headers that clients cannot forge.
func ExampleAuthenticate() {
	consumers := middleware.NewConsumers(&middleware.Consumer{ID: "acme", Plan: "gold", Scopes: []string{"orders:read"}})
	keys := middleware.NewAPIKeys(middleware.APIKey{
		ID: "acme-2026", Consumer: "acme", Hash: middleware.HashAPIKey("s3cr3t-key"), // store only the hash
	})
	auth := middleware.NewAPIKeyAuth(middleware.APIKeyConfig{Keys: keys, Consumers: consumers})

	upstream := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello %s on plan %s", r.Header.Get("X-Consumer-ID"), r.Header.Get("X-Consumer-Plan"))
	})
	h := middleware.Chain(
		middleware.Authenticate(middleware.AuthConfig{Authenticators: []middleware.Authenticator{auth}}),
		middleware.Authorize(middleware.AuthzConfig{Scopes: []string{"orders:read"}}),
		middleware.IdentityHeaders(middleware.IdentityConfig{}),
	)(upstream)

	for _, key := range []string{"s3cr3t-key", "guess"} {
		r := httptest.NewRequest(http.MethodGet, "/orders", nil)
		r.Header.Set("Authorization", "Bearer "+key)
		r.Header.Set("X-Consumer-ID", "admin") // a forged header, removed
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		fmt.Println(w.Code, w.Header().Get("WWW-Authenticate"), w.Body.String())
	}
	// Output:
	// 200  hello acme on plan gold
	// 401 Bearer realm="api", error="invalid_token" {"detail":"The credentials are invalid.","status":401,"title":"Unauthorized","type":"about:blank"}
}

// A JWT authenticator with an explicit algorithm allow-list and a static
// HMAC key; in production keys usually come from a [middleware.JWKS].
func ExampleNewJWTAuth() {
	auth := middleware.NewJWTAuth(middleware.JWTConfig{
		Algorithms: []string{"HS256"},
		Keys:       map[string]any{"": []byte("an example secret of 32+ bytes!!")},
		Issuer:     "https://id.example.com",
	})
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.Header.Set("Authorization", "Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJhZG1pbiJ9.")
	_, err := auth.Authenticate(r)
	fmt.Println(err != nil)
	// Output: true
}
