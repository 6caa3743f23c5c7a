package gateway_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/portico-dev/portico/gateway"
	"github.com/portico-dev/portico/gateway/config"
	"github.com/portico-dev/portico/gateway/platform"
	"github.com/portico-dev/portico/middleware"
	"github.com/portico-dev/portico/middleware/auth"
)

// The authentication and subscription stages report every mistake of a
// route's policy at once, each naming its field, with the messages
// they always had.
func TestAuthAndSubscriptionMistakesAreAllReportedNamingTheirFields(t *testing.T) {
	t.Parallel()
	keys := auth.AuthenticatorFunc(func(*http.Request) (*middleware.Consumer, error) { return nil, auth.ErrNoCredentials })
	withPlatform := config.WithPlatform(platform.New(platform.NewMemoryStore()), nil)
	tests := []struct {
		name   string
		opts   []gateway.Option
		policy gateway.Policy
		want   []string
	}{
		{
			name:   "two unknown authenticators and a subscription that is not an API ID",
			opts:   []gateway.Option{gateway.WithAuthenticator("keys", keys), withPlatform},
			policy: gateway.Policy{Auth: &gateway.Auth{Methods: []string{"jwt", "keys", "oidc"}}, Subscription: "or ders"},
			want: []string{
				`portico/gateway: routes[0].policy.auth.methods[0]: "jwt" is not an authenticator (defined: keys, platform)`,
				`portico/gateway: routes[0].policy.auth.methods[2]: "oidc" is not an authenticator (defined: keys, platform)`,
				`portico/gateway: routes[0].policy.subscription: "or ders" is not an API ID: use 1 to 64 letters, digits, '-' or '_', starting with a letter or digit`,
			},
		},
		{
			name:   "auth without any authenticator and a subscription without a platform",
			policy: gateway.Policy{Auth: &gateway.Auth{}, Subscription: "orders"},
			want: []string{
				"portico/gateway: routes[0].policy.auth: the gateway has no authenticator; define consumers with api_keys or auth_methods",
				"portico/gateway: routes[0].policy.subscription: needs a platform: add a platform section (or config.WithPlatform)",
			},
		},
		{
			name:   "a subscription without auth",
			opts:   []gateway.Option{withPlatform},
			policy: gateway.Policy{Subscription: "orders"},
			want: []string{
				"portico/gateway: routes[0].policy.subscription: needs auth to know the consumer: add auth with methods [platform]",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			opts := append([]gateway.Option{gateway.WithLogger(quiet),
				gateway.WithUpstream(upstreamOf(t, "orders", echoServer(t, "orders"))),
				gateway.WithRoute(gateway.Route{Name: "orders", Prefix: "/orders", Upstream: "orders", Policy: tt.policy}),
			}, tt.opts...)
			g, err := gateway.New(opts...)
			if err == nil {
				g.Close()
				t.Fatal("New accepted the configuration")
			}
			if got := strings.Split(err.Error(), "\n"); !slices.Equal(got, tt.want) {
				t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}
