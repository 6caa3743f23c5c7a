package ai_test

import (
	"testing"

	"github.com/portico-dev/portico/gateway/ai"
	"github.com/portico-dev/portico/middleware"
)

func TestVirtualKeysFromTheGatewaysConsumers(t *testing.T) {
	t.Parallel()
	consumers := middleware.NewConsumers(
		&middleware.Consumer{ID: "carol", Tenant: "labs"},
		&middleware.Consumer{ID: "dave", Tenant: "labs", Metadata: map[string]string{ai.ModelsKey: "other"}},
	)
	keys := middleware.NewAPIKeys(
		middleware.APIKey{ID: "k1", Hash: middleware.HashAPIKey("carol-secret"), Consumer: "carol"},
		middleware.APIKey{ID: "k2", Hash: middleware.HashAPIKey("dave-secret"), Consumer: "dave"},
	)
	auth := middleware.NewAPIKeyAuth(middleware.APIKeyConfig{Keys: keys, Consumers: consumers})
	rec := &recorder{}
	srv := serve(t, demoClient(), ai.WithAuthenticator(ai.Consumers(auth)), ai.WithSink(rec))
	tests := []struct {
		name, key, model string
		status           int
	}{
		{"a consumer's key is accepted", "carol-secret", "demo", 200},
		{"a consumer limited to some aliases may use them", "dave-secret", "other", 200},
		{"a consumer limited to some aliases may not use others", "dave-secret", "demo", 404},
		{"an unknown key is refused", "mallory-secret", "demo", 401},
		{"no key is refused", "", "demo", 401},
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
			if r.Status == 200 && (r.Tenant != "labs" || (r.Consumer != "carol" && r.Consumer != "dave")) {
				t.Errorf("record %+v", r)
			}
		}
	})
}

// Regression: the first authenticator that rejected a key ended the
// search, so keys of a second store were refused whenever a first one
// read the same header.
func TestConsumersAcceptAKeyTheFirstAuthenticatorRejects(t *testing.T) {
	t.Parallel()
	consumers := middleware.NewConsumers(&middleware.Consumer{ID: "carol"}, &middleware.Consumer{ID: "erin"})
	first := middleware.NewAPIKeyAuth(middleware.APIKeyConfig{Consumers: consumers,
		Keys: middleware.NewAPIKeys(middleware.APIKey{ID: "k1", Hash: middleware.HashAPIKey("carol-secret"), Consumer: "carol"})})
	second := middleware.NewAPIKeyAuth(middleware.APIKeyConfig{Consumers: consumers,
		Keys: middleware.NewAPIKeys(middleware.APIKey{ID: "k2", Hash: middleware.HashAPIKey("erin-secret"), Consumer: "erin"})})
	srv := serve(t, demoClient(), ai.WithAuthenticator(ai.Consumers(first, second)))
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
