package auth

import (
	"net/http"
	"strings"

	"github.com/portico-dev/portico/middleware"
)

// The identity headers' names when [IdentityConfig] leaves them empty.
const (
	// DefaultConsumerHeader carries [middleware.Consumer.ID].
	DefaultConsumerHeader = "X-Consumer-ID"
	// DefaultTenantHeader carries [middleware.Consumer.Tenant].
	DefaultTenantHeader = "X-Consumer-Tenant"
	// DefaultPlanHeader carries [middleware.Consumer.Plan].
	DefaultPlanHeader = "X-Consumer-Plan"
	// DefaultScopesHeader carries [middleware.Consumer.Scopes].
	DefaultScopesHeader = "X-Consumer-Scopes"
	// DefaultRolesHeader carries [middleware.Consumer.Roles].
	DefaultRolesHeader = "X-Consumer-Roles"
)

// IdentityConfig configures [IdentityHeaders]. The zero value propagates
// the consumer ID, tenant, plan, scopes and roles under the default
// header names.
type IdentityConfig struct {
	// ConsumerHeader carries [middleware.Consumer.ID]. If empty,
	// [DefaultConsumerHeader] ("X-Consumer-ID") is used.
	ConsumerHeader string
	// TenantHeader carries [middleware.Consumer.Tenant]. If empty,
	// [DefaultTenantHeader] ("X-Consumer-Tenant") is used.
	TenantHeader string
	// PlanHeader carries [middleware.Consumer.Plan]. If empty,
	// [DefaultPlanHeader] ("X-Consumer-Plan") is used.
	PlanHeader string
	// ScopesHeader carries [middleware.Consumer.Scopes], space-separated.
	// If empty, [DefaultScopesHeader] ("X-Consumer-Scopes") is used.
	ScopesHeader string
	// RolesHeader carries [middleware.Consumer.Roles], space-separated.
	// If empty, [DefaultRolesHeader] ("X-Consumer-Roles") is used.
	RolesHeader string
	// Strip lists more headers that upstreams trust and clients must never
	// set, such as "X-Forwarded-User" or "X-API-Key".
	Strip []string
}

// IdentityHeaders returns middleware that removes the identity headers
// upstreams trust from every inbound request, then sets them from the
// verified [middleware.Consumer] only. Place it after [New].
//
// Header names are compared ignoring case and treating "_" as "-", because
// some upstream servers (CGI, PHP, some proxies) fold "X-Consumer_ID" into
// the same variable as "X-Consumer-ID". An anonymous request reaches the
// next handler with none of the headers.
func IdentityHeaders(cfg IdentityConfig) func(http.Handler) http.Handler {
	def := func(v, d string) string {
		if v == "" {
			v = d
		}
		return http.CanonicalHeaderKey(v)
	}
	id := def(cfg.ConsumerHeader, DefaultConsumerHeader)
	tenant := def(cfg.TenantHeader, DefaultTenantHeader)
	plan := def(cfg.PlanHeader, DefaultPlanHeader)
	scopes := def(cfg.ScopesHeader, DefaultScopesHeader)
	roles := def(cfg.RolesHeader, DefaultRolesHeader)
	strip := map[string]bool{}
	for _, h := range append([]string{id, tenant, plan, scopes, roles}, cfg.Strip...) {
		strip[foldHeader(h)] = true
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			var h http.Header
			for k := range r.Header {
				if stripped(strip, k) {
					if h == nil {
						h = r.Header.Clone()
					}
					delete(h, k)
				}
			}
			c := middleware.ConsumerFrom(r.Context())
			if c != nil {
				if h == nil {
					h = r.Header.Clone()
				}
				setNonEmpty(h, id, c.ID)
				setNonEmpty(h, tenant, c.Tenant)
				setNonEmpty(h, plan, c.Plan)
				setNonEmpty(h, scopes, strings.Join(c.Scopes, " "))
				setNonEmpty(h, roles, strings.Join(c.Roles, " "))
			}
			if h != nil {
				r2 := new(http.Request)
				*r2 = *r
				r2.Header = h
				r = r2
			}
			next.ServeHTTP(w, r)
		})
	}
}

// setNonEmpty sets a header unless v is empty or holds control
// characters (a claim like "sub": "x\r\nX-Admin: 1" is dropped, never sent).
func setNonEmpty(h http.Header, k, v string) {
	if v == "" || strings.ContainsFunc(v, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return
	}
	h[k] = []string{v}
}

func foldHeader(k string) string {
	return strings.ReplaceAll(strings.ToLower(k), "_", "-")
}

// stripped reports whether strip holds foldHeader(k), folding an ASCII
// name of up to 128 bytes on the stack rather than in a new string.
func stripped(strip map[string]bool, k string) bool {
	var buf [128]byte
	if len(k) > len(buf) {
		return strip[foldHeader(k)]
	}
	b := buf[:len(k)]
	for i := range len(k) {
		c := k[i]
		switch {
		case c >= 0x80:
			return strip[foldHeader(k)]
		case 'A' <= c && c <= 'Z':
			c += 'a' - 'A'
		case c == '_':
			c = '-'
		}
		b[i] = c
	}
	return strip[string(b)]
}
