package platform

import (
	"net/http"

	"github.com/portico-dev/portico/middleware"
)

// TenantScope returns the caller's tenant as a key scope, for
// cache.Config.Scope and the rate limit and quota key functions:
// one tenant never reads another's cache entries or spends its quota. It
// returns "" for anonymous requests.
func TenantScope(r *http.Request) string {
	if c := middleware.ConsumerFrom(r.Context()); c != nil {
		return "t:" + c.Tenant
	}
	return ""
}

// ConsumerScope returns the caller's tenant and consumer as a key scope,
// for cache.IdempotencyConfig.Scope: an idempotency key of one
// consumer never matches another's, even across tenants that reuse IDs.
// It returns "" for anonymous requests.
func ConsumerScope(r *http.Request) string {
	if c := middleware.ConsumerFrom(r.Context()); c != nil {
		return "t:" + c.Tenant + "/c:" + c.ID
	}
	return ""
}
