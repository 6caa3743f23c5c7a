package openapi_test

import (
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"

	"github.com/portico-dev/portico/openapi"
)

func TestSecurityRequirements(t *testing.T) {
	t.Parallel()
	// The identity hook stands for the authentication middleware in front:
	// here it reads who the caller is from a test header.
	identities := map[string]openapi.Identity{
		"reader":  {Scopes: []string{"reports:read"}},
		"keyonly": {Schemes: []string{"apiKey"}},
		"other":   {Scopes: []string{"pets:write"}},
		"admin":   {Schemes: []string{"apiKey", "oauth"}, Scopes: []string{"admin"}},
	}
	hook := func(r *http.Request) (openapi.Identity, bool) {
		id, ok := identities[r.Header.Get("X-Who")]
		return id, ok
	}
	spec := load(t, versions[0])
	tests := []struct {
		name   string
		hook   bool
		who    string
		method string
		target string
		body   string
		status int
		detail string
		auth   []string
	}{
		{
			name:   "without a hook security is not checked",
			method: "GET",
			target: "/v1/admin/reports",
			status: 204,
		},
		{
			name:   "an anonymous request to a protected operation gets 401 with a challenge",
			hook:   true,
			method: "GET",
			target: "/v1/admin/reports",
			status: 401,
			detail: "this operation requires authentication",
			auth:   []string{"Bearer"},
		},
		{
			name:   "a caller with the scope of one alternative passes",
			hook:   true,
			who:    "reader",
			method: "GET",
			target: "/v1/admin/reports",
			status: 204,
		},
		{
			name:   "a caller authenticated by the wrong scheme gets 403",
			hook:   true,
			who:    "keyonly",
			method: "GET",
			target: "/v1/admin/reports",
			status: 403,
			detail: "the caller lacks scheme oauth",
		},
		{
			name:   "a caller without the needed scope gets 403 naming it",
			hook:   true,
			who:    "other",
			method: "GET",
			target: "/v1/admin/reports",
			status: 403,
			detail: "the caller lacks scope reports:read",
		},
		{
			name:   "a caller meeting every scheme of an alternative passes",
			hook:   true,
			who:    "admin",
			method: "GET",
			target: "/v1/admin/reports",
			status: 204,
		},
		{
			name:   "an operation with an empty security list allows anonymous callers",
			hook:   true,
			method: "GET",
			target: "/v1/pets",
			status: 204,
		},
		{
			name:   "the document's security applies to operations without their own",
			hook:   true,
			method: "POST",
			target: "/v1/pets",
			body:   `{"name":"Rex","species":"dog"}`,
			status: 401,
			detail: "this operation requires authentication",
		},
		{
			name:   "security is checked before the body",
			hook:   true,
			method: "POST",
			target: "/v1/pets",
			body:   `{}`,
			status: 401,
			detail: "this operation requires authentication",
		},
		{
			name:   "a caller who meets the requirement still has the body validated",
			hook:   true,
			who:    "keyonly",
			method: "POST",
			target: "/v1/pets",
			body:   `{}`,
			status: 400,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var opts []openapi.Option
			if tc.hook {
				opts = append(opts, openapi.WithSecurity(hook))
			}
			req := newRequest(tc.method, tc.target, "application/json", tc.body)
			if tc.who != "" {
				req.Header.Set("X-Who", tc.who)
			}
			w := httptest.NewRecorder()
			openapi.NewValidator(spec, opts...).Middleware(&reached{}).ServeHTTP(w, req)
			if w.Code != tc.status {
				t.Fatalf("status = %d, want %d: %s", w.Code, tc.status, w.Body.String())
			}
			if got := w.Header().Values("WWW-Authenticate"); tc.auth != nil && !reflect.DeepEqual(got, tc.auth) {
				t.Errorf("WWW-Authenticate = %q, want %q", got, tc.auth)
			}
			if tc.detail != "" {
				if p := decodeProblem(t, w.Result()); p.Detail != tc.detail {
					t.Errorf("detail = %q, want %q", p.Detail, tc.detail)
				}
			}
		})
	}
}
