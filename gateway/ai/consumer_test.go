package ai_test

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/portico-dev/portico/gateway/ai"
	"github.com/portico-dev/portico/middleware"
	"github.com/portico-dev/portico/middleware/auth"
)

func TestVirtualKeysFromTheGatewaysConsumers(t *testing.T) {
	t.Parallel()
	consumers := middleware.NewMemoryConsumers(
		&middleware.Consumer{ID: "carol", Tenant: "labs"},
		&middleware.Consumer{ID: "dave", Tenant: "labs", Metadata: map[string]string{ai.ModelsKey: "other"}},
	)
	keys := auth.NewMemoryAPIKeys(
		auth.APIKey{ID: "k1", Hash: auth.HashAPIKey("carol-secret"), Consumer: "carol"},
		auth.APIKey{ID: "k2", Hash: auth.HashAPIKey("dave-secret"), Consumer: "dave"},
	)
	authn := auth.NewAPIKeyAuth(auth.APIKeyConfig{Keys: keys, Consumers: consumers})
	rec := &recorder{}
	srv := serve(t, demoClient(), ai.WithAuthenticator(authn), ai.WithSink(rec))
	tests := []struct {
		name, key, model string
		status           int
	}{
		{
			name:   "a consumer's key is accepted",
			key:    "carol-secret",
			model:  "demo",
			status: 200,
		},
		{
			name:   "a consumer limited to some aliases may use them",
			key:    "dave-secret",
			model:  "other",
			status: 200,
		},
		{
			name:   "a consumer limited to some aliases may not use others",
			key:    "dave-secret",
			model:  "demo",
			status: 404,
		},
		{
			name:   "an unknown key is refused",
			key:    "mallory-secret",
			model:  "demo",
			status: 401,
		},
		{
			name:   "no key is refused",
			key:    "",
			model:  "demo",
			status: 401,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			status, _, body := call(t, "POST", srv.URL+"/v1/chat/completions", tt.key, chatBody(tt.model, "hi", 5))
			if status != tt.status {
				t.Errorf("status %d, want %d: %s", status, tt.status, body)
			}
		})
	}
	t.Cleanup(func() {
		for _, r := range rec.all() {
			if r.Status != 200 {
				continue
			}
			if got, want := r.Tenant, "labs"; got != want {
				t.Errorf("record tenant = %q, want %q: %+v", got, want, r)
			}
			if !slices.Contains([]string{"carol", "dave"}, r.Consumer) {
				t.Errorf("record consumer = %q, want carol or dave: %+v", r.Consumer, r)
			}
		}
	})
}

// Regression: the first authenticator that rejected a key ended the
// search, so keys of a second store were refused whenever a first one
// read the same header.
func TestAuthenticatorsAcceptAKeyTheFirstOneRejects(t *testing.T) {
	t.Parallel()
	consumers := middleware.NewMemoryConsumers(&middleware.Consumer{ID: "carol"}, &middleware.Consumer{ID: "erin"})
	first := auth.NewAPIKeyAuth(auth.APIKeyConfig{Consumers: consumers,
		Keys: auth.NewMemoryAPIKeys(auth.APIKey{ID: "k1", Hash: auth.HashAPIKey("carol-secret"), Consumer: "carol"})})
	second := auth.NewAPIKeyAuth(auth.APIKeyConfig{Consumers: consumers,
		Keys: auth.NewMemoryAPIKeys(auth.APIKey{ID: "k2", Hash: auth.HashAPIKey("erin-secret"), Consumer: "erin"})})
	srv := serve(t, demoClient(), ai.WithAuthenticator(first, second))
	tests := []struct {
		name, key string
		status    int
	}{
		{"a key of the first authenticator is accepted", "carol-secret", 200},
		{"a key of the second authenticator is accepted", "erin-secret", 200},
		{"a key neither knows is refused", "mallory-secret", 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			status, _, body := call(t, "POST", srv.URL+"/v1/chat/completions", tt.key, chatBody("demo", "hi", 5))
			if status != tt.status {
				t.Errorf("status %d, want %d: %s", status, tt.status, body)
			}
		})
	}
}

func TestWithoutAuthenticatorsTheConsumerOfTheMiddlewareInFrontCalls(t *testing.T) {
	t.Parallel()
	consumers := middleware.NewMemoryConsumers(&middleware.Consumer{ID: "dave", Tenant: "labs", Metadata: map[string]string{ai.ModelsKey: "other"}})
	authn := auth.NewAPIKeyAuth(auth.APIKeyConfig{Consumers: consumers,
		Keys: auth.NewMemoryAPIKeys(auth.APIKey{ID: "k", Hash: auth.HashAPIKey("dave-secret"), Consumer: "dave"})})
	rec := &recorder{}
	h, err := ai.New(demoClient(), ai.WithSink(rec))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(auth.New(auth.Config{Authenticators: []auth.Authenticator{authn}})(h))
	t.Cleanup(srv.Close)

	if status, _, body := call(t, "POST", srv.URL+"/v1/chat/completions", "dave-secret", chatBody("other", "hi", 5)); status != 200 {
		t.Fatalf("an allowed alias: status %d: %s", status, body)
	}
	if status, _, _ := call(t, "POST", srv.URL+"/v1/chat/completions", "dave-secret", chatBody("demo", "hi", 5)); status != 404 {
		t.Errorf("an alias outside the consumer's %s: status %d, want 404", ai.ModelsKey, status)
	}
	rs := rec.all()
	if len(rs) == 0 {
		t.Fatal("no record")
	}
	if got, want := rs[0].Consumer, "dave"; got != want {
		t.Errorf("record consumer = %q, want %q", got, want)
	}
	if got, want := rs[0].Tenant, "labs"; got != want {
		t.Errorf("record tenant = %q, want %q", got, want)
	}
}

func TestAnUnavailableAuthenticatorIsAnswered503(t *testing.T) {
	t.Parallel()
	down := auth.AuthenticatorFunc(func(*http.Request) (*middleware.Consumer, error) {
		return nil, auth.ErrUnavailable
	})
	srv := serve(t, demoClient(), ai.WithAuthenticator(down))
	status, header, body := call(t, "POST", srv.URL+"/v1/chat/completions", "any-key", chatBody("demo", "hi", 5))
	if got, want := status, 503; got != want {
		t.Errorf("status %d, want %d: %s", got, want, body)
	}
	if got, want := header.Get("Retry-After"), "1"; got != want {
		t.Errorf("Retry-After = %q, want %q", got, want)
	}
}
