package gateway_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/go-chi/chi/v5"

	"github.com/portico-dev/portico/gateway"
	"github.com/portico-dev/portico/middleware"
)

// TestARouteMiddlewareSeesTheRoutesPatternAndParameters: a route's own
// middleware, with no global middleware around the router, reads the
// matched template once (not the template repeated) and the path
// parameters from chi's routing context.
func TestARouteMiddlewareSeesTheRoutesPatternAndParameters(t *testing.T) {
	t.Parallel()
	type seen struct{ pattern, chiPattern, id, rest string }
	got := make(chan seen, 1)
	look := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			got <- seen{middleware.RoutePattern(r), chi.RouteContext(r.Context()).RoutePattern(), chi.URLParam(r, "id"), chi.URLParam(r, "*")}
			w.WriteHeader(http.StatusNoContent)
		})
	}
	g, err := gateway.New(gateway.WithLogger(quiet), gateway.WithUpstream(okUpstream{"app"}),
		gateway.WithMiddleware("look", look),
		gateway.WithRoute(
			gateway.Route{Path: "/users/{id}", Upstream: "app", Policy: gateway.Policy{Middleware: []string{"look"}}},
			gateway.Route{Prefix: "/files", Upstream: "app", Policy: gateway.Policy{Middleware: []string{"look"}}},
		))
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	for _, c := range []struct {
		path string
		want seen
	}{
		{"/users/7", seen{"/users/{id}", "/users/{id}", "7", ""}},
		{"/files/a/b", seen{"/files/*", "/files/*", "", "a/b"}},
	} {
		w := httptest.NewRecorder()
		g.ServeHTTP(w, httptest.NewRequest(http.MethodGet, c.path, nil))
		if w.Code != http.StatusNoContent {
			t.Fatalf("GET %s: status %d", c.path, w.Code)
		}
		if s := <-got; s != c.want {
			t.Errorf("GET %s: the route's middleware saw %+v, want %+v", c.path, s, c.want)
		}
	}
}
