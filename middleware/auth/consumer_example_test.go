package auth_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"

	"github.com/portico-dev/portico/middleware"
	"github.com/portico-dev/portico/middleware/auth"
)

// API keys identify consumers; a route requires scopes; upstreams get the
// verified identity in headers that clients cannot forge.
func ExampleNew() {
	consumers := middleware.NewMemoryConsumers(&middleware.Consumer{ID: "acme", Plan: "gold", Scopes: []string{"orders:read"}})
	keys := auth.NewMemoryAPIKeys(auth.APIKey{
		ID: "acme-2026", Consumer: "acme", Hash: auth.HashAPIKey("s3cr3t-key"), // store only the hash
	})
	authn := auth.NewAPIKeyAuth(auth.APIKeyConfig{Keys: keys, Consumers: consumers})

	upstream := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello %s on plan %s", r.Header.Get("X-Consumer-ID"), r.Header.Get("X-Consumer-Plan"))
	})
	h := middleware.Chain(
		auth.New(auth.Config{Authenticators: []auth.Authenticator{authn}}),
		auth.Authorize(auth.AuthzConfig{Scopes: []string{"orders:read"}}),
		auth.IdentityHeaders(auth.IdentityConfig{}),
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
// HMAC key; in production keys usually come from a [JWKS].
func ExampleNewJWTAuth() {
	authn := auth.NewJWTAuth(auth.JWTConfig{
		Algorithms: []string{"HS256"},
		Keys:       map[string]any{"": []byte("an example secret of 32+ bytes!!")},
		Issuer:     "https://id.example.com",
	})
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.Header.Set("Authorization", "Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJhZG1pbiJ9.")
	_, err := authn.Authenticate(r)
	fmt.Println(err != nil)
	// Output: true
}

// A reverse proxy built from the middleware alone: the upstream gets the
// verified identity, never the consumer's key, while every handler in
// front of the proxy still sees the request as sent.
func ExampleStripCredential() {
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "consumer=%s key=%q query=%q", r.Header.Get("X-Consumer-ID"), r.Header.Get("X-API-Key"), r.URL.RawQuery)
	}))
	defer upstream.Close()
	target, _ := url.Parse(upstream.URL)
	proxy := &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) {
		pr.SetURL(target)
		auth.StripCredential(pr.Out)
	}}

	consumers := middleware.NewMemoryConsumers(&middleware.Consumer{ID: "acme"})
	keys := auth.NewMemoryAPIKeys(auth.APIKey{ID: "acme-1", Consumer: "acme", Hash: auth.HashAPIKey("s3cr3t-key")})
	authn := auth.NewAPIKeyAuth(auth.APIKeyConfig{
		Keys:      keys,
		Consumers: consumers,
		Headers:   []string{"X-API-Key"},
		Query:     "api_key",
	})
	gw := httptest.NewServer(middleware.Chain(
		auth.New(auth.Config{Authenticators: []auth.Authenticator{authn}}),
		auth.IdentityHeaders(auth.IdentityConfig{}),
	)(proxy))
	defer gw.Close()

	req, _ := http.NewRequest(http.MethodGet, gw.URL+"/orders?page=2", nil)
	req.Header.Set("X-API-Key", "s3cr3t-key")
	show(req)
	req, _ = http.NewRequest(http.MethodGet, gw.URL+"/orders?api_key=s3cr3t-key&page=2", nil)
	show(req)
	// Output:
	// consumer=acme key="" query="page=2"
	// consumer=acme key="" query="page=2"
}

// show prints the body of the response to req.
func show(req *http.Request) {
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	fmt.Println(string(b))
}
