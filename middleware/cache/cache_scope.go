package cache

import (
	"net/http"

	"github.com/portico-dev/portico/middleware"
)

// ConsumerScope separates cache entries and idempotency keys by the
// authenticated consumer ([middleware.ConsumerFrom]), for [Config].Scope and
// [IdempotencyConfig].Scope. Anonymous requests share one scope.
func ConsumerScope(r *http.Request) string {
	if c := middleware.ConsumerFrom(r.Context()); c != nil {
		return "consumer:" + c.ID
	}
	return ""
}

// TenantScope separates cache entries and idempotency keys by the
// consumer's tenant, or by consumer ID for a consumer without one, for
// [Config].Scope and [IdempotencyConfig].Scope. Anonymous requests
// share one scope.
func TenantScope(r *http.Request) string {
	c := middleware.ConsumerFrom(r.Context())
	switch {
	case c == nil:
		return ""
	case c.Tenant != "":
		return "tenant:" + c.Tenant
	}
	return "consumer:" + c.ID
}
