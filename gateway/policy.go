package gateway

import (
	"log/slog"
	"net/http"
)

// policyStatus maps an error from a resilience policy to its status, or 0.
func policyStatus(err error) int { return 0 }

// retryAfter returns the Retry-After value an error asks for.
func retryAfter(err error) (string, bool) { return "", false }

// isNoInstance reports whether err says an upstream has no instance.
func isNoInstance(err error) bool { return false }

func levelFor(status int) slog.Level {
	if status == http.StatusBadGateway {
		return slog.LevelWarn
	}
	return slog.LevelInfo
}

// policyTransport wraps next with the route's policies, outermost first,
// and returns the names of the stages it added, for /routes.
func policyTransport(p Policy, next http.RoundTripper, _ config) (http.RoundTripper, []string) {
	return next, nil
}
