package auth

import (
	"net/http"
	"slices"
	"strings"

	"github.com/portico-dev/portico/internal/problem"
	"github.com/portico-dev/portico/middleware"
)

// AuthzConfig configures [Authorize]: what a route asks of the consumer.
// The zero value only requires an authenticated consumer.
type AuthzConfig struct {
	// Scopes the consumer must hold.
	Scopes []string
	// Roles the consumer must hold.
	Roles []string
	// Any, when set, is satisfied by any one of the listed scopes or
	// roles; by default all of them are required.
	Any bool
}

// Allows reports whether c satisfies the configuration. A nil consumer is
// never allowed.
func (cfg AuthzConfig) Allows(c *middleware.Consumer) bool {
	if c == nil {
		return false
	}
	if len(cfg.Scopes)+len(cfg.Roles) == 0 {
		return true
	}
	if cfg.Any {
		return slices.ContainsFunc(cfg.Scopes, c.HasScope) || slices.ContainsFunc(cfg.Roles, c.HasRole)
	}
	for _, s := range cfg.Scopes {
		if !c.HasScope(s) {
			return false
		}
	}
	for _, s := range cfg.Roles {
		if !c.HasRole(s) {
			return false
		}
	}
	return true
}

// Authorize returns middleware that lets a request through only if the
// consumer placed in the context by [New] has the required scopes
// or roles. An anonymous request gets a 401 problem; an authenticated one
// without the permissions gets a 403 problem whose WWW-Authenticate
// challenge names the missing scopes (RFC 6750 "insufficient_scope").
func Authorize(cfg AuthzConfig) func(http.Handler) http.Handler {
	cfg.Scopes = slices.Clone(cfg.Scopes)
	cfg.Roles = slices.Clone(cfg.Roles)
	challenge := `Bearer error="insufficient_scope"`
	if len(cfg.Scopes) > 0 {
		challenge += ", scope=" + quoteParam(strings.Join(cfg.Scopes, " "))
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c := middleware.ConsumerFrom(r.Context())
			if c == nil {
				writeUnauthorized(w, r, nil, "Authentication is required.")
				return
			}
			if !cfg.Allows(c) {
				w.Header().Set("WWW-Authenticate", challenge)
				problem.Error(w, r, http.StatusForbidden, "The credentials do not grant access to this resource.")
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}
