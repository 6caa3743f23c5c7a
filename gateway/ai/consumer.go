package ai

import (
	"errors"
	"net/http"
	"strings"

	"github.com/portico-dev/portico/middleware"
)

// ModelsKey is the consumer metadata key that lists, comma-separated, the
// model aliases a consumer may use through [Consumers]. A consumer without
// it may use every alias.
const ModelsKey = "ai.models"

// Consumers adapts the gateway's authenticators (API keys, JWT, mTLS...
// from package middleware) to an [Authenticator]: the consumer's ID and
// tenant key limits, budgets and records, and its [ModelsKey] metadata
// restricts its aliases. Missing or invalid credentials are answered 401,
// an unavailable backend 503.
func Consumers(auths ...middleware.Authenticator) Authenticator {
	if len(auths) == 0 {
		panic("portico/ai: Consumers needs an authenticator")
	}
	return AuthenticatorFunc(func(r *http.Request) (*Caller, error) {
		for _, a := range auths {
			c, err := a.Authenticate(r)
			switch {
			case err == nil && c != nil:
				return callerOf(c), nil
			case errors.Is(err, middleware.ErrNoCredentials):
				continue
			case errors.Is(err, middleware.ErrAuthUnavailable):
				return nil, err
			default:
				return nil, ErrUnauthenticated
			}
		}
		if c := middleware.ConsumerFrom(r.Context()); c != nil {
			// An authentication middleware in front identified the caller.
			return callerOf(c), nil
		}
		return nil, ErrUnauthenticated
	})
}

func callerOf(c *middleware.Consumer) *Caller {
	caller := &Caller{ID: c.ID, Tenant: c.Tenant}
	if list, ok := c.Metadata[ModelsKey]; ok {
		caller.Models = []string{}
		for _, m := range strings.Split(list, ",") {
			if m = strings.TrimSpace(m); m != "" {
				caller.Models = append(caller.Models, m)
			}
		}
	}
	return caller
}
