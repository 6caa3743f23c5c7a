package gateway

import (
	"net/http"

	"github.com/portico-dev/portico/gateway/internal/fields"
	"github.com/portico-dev/portico/middleware"
	"github.com/portico-dev/portico/middleware/auth"
)

// Identity names the headers that carry the verified consumer to the
// upstream. The gateway removes them from every inbound request, on every
// route, and sets them only from the consumer authentication verified, so
// an upstream can trust them.
type Identity struct {
	// Consumer, Tenant, Plan, Scopes and Roles name the headers. If empty,
	// X-Consumer-ID, X-Consumer-Tenant, X-Consumer-Plan, X-Consumer-Scopes
	// and X-Consumer-Roles.
	Consumer string `yaml:"consumer"`
	Tenant   string `yaml:"tenant"`
	Plan     string `yaml:"plan"`
	Scopes   string `yaml:"scopes"`
	Roles    string `yaml:"roles"`
	// Strip lists more headers clients must never set, such as
	// "X-Forwarded-User".
	Strip []string `yaml:"strip"`
}

type namedAuth struct {
	name string
	auth auth.Authenticator
}

// buildAuth builds the named authenticators, in the order they were
// added.
func (g *Gateway) buildAuth() []error {
	var errs []error
	g.auths = map[string]auth.Authenticator{}
	for _, na := range g.cfg.authCustom {
		switch {
		case na.name == "" || na.auth == nil:
			errs = append(errs, fieldErr("authenticators", "WithAuthenticator needs a name and an authenticator"))
		case g.auths[na.name] != nil:
			errs = append(errs, fieldErr("authenticators", "%q is defined twice; authenticator names must be unique", na.name))
		default:
			g.auths[na.name] = na.auth
			g.authOrder = append(g.authOrder, na.name)
		}
	}
	return errs
}

// authStages builds a route's authentication and authorization stages.
// errs is at the policy; it returns nil if a is nil or it added errors.
func (g *Gateway) authStages(errs fields.Collector, a *Auth) []stage {
	if a == nil {
		return nil
	}
	n := errs.Len()
	names := a.Methods
	if len(names) == 0 {
		names = g.authOrder
	}
	var auths []auth.Authenticator
	for j, name := range names {
		au, ok := g.auths[name]
		if !ok {
			errs.Addf(fields.Index("auth.methods", j), "%q is not an authenticator (defined: %s)", name, fields.Known(g.auths))
			continue
		}
		auths = append(auths, au)
	}
	if len(auths) == 0 && errs.Len() == n {
		errs.Addf("auth", "the gateway has no authenticator; define consumers with api_keys or auth_methods")
	}
	if errs.Len() > n {
		return nil
	}
	out := []stage{{"auth(" + joinNames(names) + anon(a.Anonymous) + ")",
		auth.New(auth.Config{Authenticators: auths, Anonymous: a.Anonymous, Logger: g.cfg.logger})}}
	if len(a.Scopes)+len(a.Roles) > 0 {
		mode := "all"
		if a.AnyScope {
			mode = "any"
		}
		authz := auth.Authorize(auth.AuthzConfig{Scopes: a.Scopes, Roles: a.Roles, Any: a.AnyScope})
		if a.Anonymous {
			// Anonymous callers pass; those who identify must hold the scopes.
			inner := authz
			authz = func(next http.Handler) http.Handler {
				checked := inner(next)
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if middleware.ConsumerFrom(r.Context()) == nil {
						next.ServeHTTP(w, r)
						return
					}
					checked.ServeHTTP(w, r)
				})
			}
		}
		out = append(out, stage{"authorize(" + mode + ": " + joinNames(append(append([]string(nil), a.Scopes...), a.Roles...)) + ")", authz})
	}
	return out
}

func anon(b bool) string {
	if b {
		return "; anonymous"
	}
	return ""
}
