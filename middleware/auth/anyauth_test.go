package auth_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/portico-dev/portico/middleware"
	"github.com/portico-dev/portico/middleware/auth"
)

// fixedAuth answers every request the same way.
func fixedAuth(c *middleware.Consumer, err error) auth.Authenticator {
	return auth.AuthenticatorFunc(func(*http.Request) (*middleware.Consumer, error) { return c, err })
}

func TestAuthenticatorsTryEachInTurn(t *testing.T) {
	t.Parallel()
	none := fixedAuth(nil, auth.ErrNoCredentials)
	reject := fixedAuth(nil, fmt.Errorf("%w: unknown API key", auth.ErrInvalidCredentials))
	down := fixedAuth(nil, fmt.Errorf("%w: store: connection refused", auth.ErrUnavailable))
	ok := fixedAuth(&middleware.Consumer{ID: "acme"}, nil)
	tests := []struct {
		name     string
		auths    auth.Authenticators
		consumer string
		err      error
	}{
		{
			"the first consumer found wins",
			auth.Authenticators{ok, fixedAuth(&middleware.Consumer{ID: "other"}, nil)},
			"acme",
			nil,
		},
		{
			"a key one method rejects is accepted by the next",
			auth.Authenticators{reject, ok},
			"acme",
			nil,
		},
		{
			"an outage of one method does not stop the next",
			auth.Authenticators{down, ok},
			"acme",
			nil,
		},
		{
			"a rejection outranks an outage",
			auth.Authenticators{down, reject},
			"",
			auth.ErrInvalidCredentials,
		},
		{
			"an outage outranks missing credentials",
			auth.Authenticators{none, down},
			"",
			auth.ErrUnavailable,
		},
		{
			"no method finding a credential finds none",
			auth.Authenticators{none, none},
			"",
			auth.ErrNoCredentials,
		},
		{
			"an empty list finds no credentials",
			nil,
			"",
			auth.ErrNoCredentials,
		},
		{
			"a nil consumer without an error is no credential",
			auth.Authenticators{fixedAuth(nil, nil)},
			"",
			auth.ErrNoCredentials,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := tt.auths.Authenticate(httptest.NewRequest(http.MethodGet, "/", nil))
			if got, want := c != nil, tt.consumer != ""; got != want {
				t.Fatalf("consumer %+v, want %q", c, tt.consumer)
			}
			if c != nil && c.ID != tt.consumer {
				t.Errorf("consumer %q, want %q", c.ID, tt.consumer)
			}
			if tt.err == nil && err != nil {
				t.Errorf("error %v, want none", err)
			}
			if tt.err != nil && !errors.Is(err, tt.err) {
				t.Errorf("error %v, want one wrapping %v", err, tt.err)
			}
		})
	}
}

// Two kinds of API keys sent the same way: a key the first store does not
// know is still tried against the second.
func ExampleAuthenticators() {
	consumers := middleware.NewMemoryConsumers(&middleware.Consumer{ID: "acme"}, &middleware.Consumer{ID: "partner"})
	staff := auth.NewAPIKeyAuth(auth.APIKeyConfig{Consumers: consumers,
		Keys: auth.NewMemoryAPIKeys(auth.APIKey{ID: "s1", Consumer: "acme", Hash: auth.HashAPIKey("staff-key")})})
	partners := auth.NewAPIKeyAuth(auth.APIKeyConfig{Consumers: consumers,
		Keys: auth.NewMemoryAPIKeys(auth.APIKey{ID: "p1", Consumer: "partner", Hash: auth.HashAPIKey("partner-key")})})
	authn := auth.Authenticators{staff, partners}

	for _, key := range []string{"staff-key", "partner-key", "guess"} {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Header.Set("Authorization", "Bearer "+key)
		switch c, err := authn.Authenticate(r); {
		case errors.Is(err, auth.ErrInvalidCredentials):
			fmt.Println(key, "-> invalid")
		case err == nil:
			fmt.Println(key, "->", c.ID)
		}
	}
	// Output:
	// staff-key -> acme
	// partner-key -> partner
	// guess -> invalid
}
