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
// restricts its aliases. The authenticators are tried in order as a
// route's authentication tries them ([middleware.Authenticators]): the
// first to identify the caller wins, so a key that one of them rejects
// may still be accepted by the next. Missing or invalid credentials are
// answered 401, an unavailable backend 503.
func Consumers(auths ...middleware.Authenticator) Authenticator {
	if len(auths) == 0 {
		panic("portico/ai: Consumers needs an authenticator")
	}
	all := middleware.Authenticators(append([]middleware.Authenticator(nil), auths...))
	return AuthenticatorFunc(func(r *http.Request) (*Caller, error) {
		c, err := all.Authenticate(r)
		switch {
		case err == nil:
			return callerOf(c), nil
		case errors.Is(err, middleware.ErrNoCredentials):
			if c := middleware.ConsumerFrom(r.Context()); c != nil {
				// An authentication middleware in front identified the caller.
				return callerOf(c), nil
			}
			return nil, ErrUnauthenticated
		case errors.Is(err, middleware.ErrAuthUnavailable):
			return nil, err
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
