package config_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/portico-dev/portico/gateway"
	"github.com/portico-dev/portico/gateway/config"
	"github.com/portico-dev/portico/gateway/internal/gwtest"
	"github.com/portico-dev/portico/middleware"
)

// TestConsumersAndAuthMethodsGivenApartFormOneSet builds, with the
// builder, consumers in one option and auth methods in another: a JWT
// method that requires registered consumers knows those of the other
// option, and the consumers' keys are the "api_key" authenticator.
func TestConsumersAndAuthMethodsGivenApartFormOneSet(t *testing.T) {
	t.Parallel()
	const secret = "a-test-secret-that-is-32-bytes-long!"
	_, srv := gwtest.NewGateway(t,
		gateway.WithUpstream(gwtest.UpstreamOf(t, "svc", gwtest.EchoServer(t, "svc"))),
		config.WithAuthMethods(config.AuthMethod{Name: "hs", JWT: &config.JWTMethod{
			Algorithms: []string{"HS256"}, Secrets: map[string]string{"": secret}, Registered: true}}),
		config.WithConsumers(config.ConsumerConfig{Consumer: middleware.Consumer{ID: "alice", Tenant: "acme"},
			Keys: []config.APIKeyConfig{{ID: "alice-1", Secret: "alice-key-0123456789"}}}),
		gateway.WithRoute(gateway.Route{Path: "/r", Upstream: "svc",
			Policy: gateway.Policy{Auth: &gateway.Auth{Methods: []string{"api_key", "hs"}}}}),
	)
	token := func(sub string) string {
		s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": sub, "exp": time.Now().Add(time.Hour).Unix()}).
			SignedString([]byte(secret))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	tests := []struct {
		name, credential string
		status           int
		consumer, tenant string
	}{
		{
			name:       "an API key",
			credential: "alice-key-0123456789",
			status:     http.StatusOK,
			consumer:   "alice",
			tenant:     "acme",
		},
		{
			name:       "a token of a registered consumer",
			credential: token("alice"),
			status:     http.StatusOK,
			consumer:   "alice",
			tenant:     "acme",
		},
		{
			name:       "a token of an unknown subject",
			credential: token("mallory"),
			status:     http.StatusUnauthorized,
			consumer:   "",
			tenant:     "",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+"/r", nil)
			req.Header.Set("Authorization", "Bearer "+tt.credential)
			resp, e := gwtest.Do(t, srv.Client(), req)
			if got, want := resp.StatusCode, tt.status; got != want {
				t.Fatalf("status %d, want %d", got, want)
			}
			if got, want := e.Header.Get("X-Consumer-ID"), tt.consumer; got != want {
				t.Errorf("X-Consumer-ID = %q, want %q", got, want)
			}
			if got, want := e.Header.Get("X-Consumer-Tenant"), tt.tenant; got != want {
				t.Errorf("X-Consumer-Tenant = %q, want %q", got, want)
			}
		})
	}
}
