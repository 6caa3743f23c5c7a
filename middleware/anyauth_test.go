package middleware_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/portico-dev/portico/middleware"
)

// fixedAuth answers every request the same way.
func fixedAuth(c *middleware.Consumer, err error) middleware.Authenticator {
	return middleware.AuthenticatorFunc(func(*http.Request) (*middleware.Consumer, error) { return c, err })
}

func TestAuthenticatorsTryEachInTurn(t *testing.T) {
	t.Parallel()
	none := fixedAuth(nil, middleware.ErrNoCredentials)
	reject := fixedAuth(nil, fmt.Errorf("%w: unknown API key", middleware.ErrInvalidCredentials))
	down := fixedAuth(nil, fmt.Errorf("%w: store: connection refused", middleware.ErrAuthUnavailable))
	ok := fixedAuth(&middleware.Consumer{ID: "acme"}, nil)
	tests := []struct {
		name     string
		auths    middleware.Authenticators
		consumer string
		err      error
	}{
		{
			"the first consumer found wins",
			middleware.Authenticators{ok, fixedAuth(&middleware.Consumer{ID: "other"}, nil)},
			"acme",
			nil,
		},
		{
			"a key one method rejects is accepted by the next",
			middleware.Authenticators{reject, ok},
			"acme",
			nil,
		},
		{
			"an outage of one method does not stop the next",
			middleware.Authenticators{down, ok},
			"acme",
			nil,
		},
		{
			"a rejection outranks an outage",
			middleware.Authenticators{down, reject},
			"",
			middleware.ErrInvalidCredentials,
		},
		{
			"an outage outranks missing credentials",
			middleware.Authenticators{none, down},
			"",
			middleware.ErrAuthUnavailable,
		},
		{
			"no method finding a credential finds none",
			middleware.Authenticators{none, none},
			"",
			middleware.ErrNoCredentials,
		},
		{
			"an empty list finds no credentials",
			nil,
			"",
			middleware.ErrNoCredentials,
		},
		{
			"a nil consumer without an error is no credential",
			middleware.Authenticators{fixedAuth(nil, nil)},
			"",
			middleware.ErrNoCredentials,
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
	consumers := middleware.NewConsumers(&middleware.Consumer{ID: "acme"}, &middleware.Consumer{ID: "partner"})
	staff := middleware.NewAPIKeyAuth(middleware.APIKeyConfig{Consumers: consumers,
		Keys: middleware.NewAPIKeys(middleware.APIKey{ID: "s1", Consumer: "acme", Hash: middleware.HashAPIKey("staff-key")})})
	partners := middleware.NewAPIKeyAuth(middleware.APIKeyConfig{Consumers: consumers,
		Keys: middleware.NewAPIKeys(middleware.APIKey{ID: "p1", Consumer: "partner", Hash: middleware.HashAPIKey("partner-key")})})
	auth := middleware.Authenticators{staff, partners}

	for _, key := range []string{"staff-key", "partner-key", "guess"} {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Header.Set("Authorization", "Bearer "+key)
		switch c, err := auth.Authenticate(r); {
		case errors.Is(err, middleware.ErrInvalidCredentials):
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
