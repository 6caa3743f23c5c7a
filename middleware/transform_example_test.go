package middleware_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/portico-dev/portico/middleware"
)

func ExampleTransform() {
	users := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Powered-By", "legacy")
		fmt.Fprintf(w, `{"id":%q,"password_hash":"x","tenant":%q}`, r.PathValue("id"), r.Header.Get("X-Tenant"))
	})
	mux := http.NewServeMux()
	mux.Handle("GET /users/{id}", middleware.Transform(middleware.TransformConfig{
		Request:      middleware.HeaderRules{Set: map[string]string{"X-Tenant": "tenant-of-{path.id}"}},
		Response:     middleware.HeaderRules{Remove: []string{"X-Powered-By"}},
		ResponseBody: middleware.JSONRules{Remove: []string{"password_hash"}, Add: map[string]any{"api": "v2"}},
	})(users))

	w := httptest.NewRecorder()
	mux.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/users/u1", nil))
	fmt.Println(w.Body.String())
	fmt.Printf("X-Powered-By: %q\n", w.Header().Get("X-Powered-By"))
	// Output:
	// {"api":"v2","id":"u1","tenant":"tenant-of-u1"}
	// X-Powered-By: ""
}
