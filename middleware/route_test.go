package middleware_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/go-chi/chi/v5"

	"github.com/portico-dev/portico/middleware"
)

func TestRoutePattern(t *testing.T) {
	t.Parallel()
	// capture mounts a middleware that reads the route after the router.
	type mount func(capture func(http.Handler) http.Handler, h http.HandlerFunc) http.Handler
	tests := []struct {
		name  string
		mount mount
		path  string
		want  string
	}{
		{
			name: "an http.ServeMux behind a request-copying middleware is seen from outside",
			path: "/items/7",
			want: "/items/{id}",
			mount: func(capture func(http.Handler) http.Handler, h http.HandlerFunc) http.Handler {
				mux := http.NewServeMux()
				mux.HandleFunc("GET example.com/items/{id}", h)
				mux.HandleFunc("GET /items/{id}", h)
				return capture(middleware.Timeout(middleware.TimeoutConfig{})(mux))
			},
		},
		{
			name: "chi inside chi with middleware between them keeps both routes",
			path: "/v1/items/7",
			want: "/v1/items/{id}",
			mount: func(capture func(http.Handler) http.Handler, h http.HandlerFunc) http.Handler {
				inner := chi.NewRouter()
				inner.Use(middleware.RequestID(middleware.RequestIDConfig{}))
				inner.Get("/items/{id}", h)
				outer := chi.NewRouter()
				outer.Use(capture)
				outer.Mount("/v1", inner)
				return outer
			},
		},
		{
			name: "no router gives no route",
			path: "/items/7",
			want: "",
			mount: func(capture func(http.Handler) http.Handler, h http.HandlerFunc) http.Handler {
				return capture(h)
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var got, param string
			capture := func(next http.Handler) http.Handler {
				return middleware.RequestID(middleware.RequestIDConfig{})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					next.ServeHTTP(w, r)
					got = middleware.RoutePattern(r)
				}))
			}
			h := tt.mount(capture, func(w http.ResponseWriter, r *http.Request) {
				param = r.PathValue("id")
				if p := chi.URLParam(r, "id"); p != "" {
					param = p
				}
			})
			h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, tt.path, nil))
			if got != tt.want {
				t.Fatalf("RoutePattern = %q, want %q", got, tt.want)
			}
			if tt.want != "" && param != "7" {
				t.Fatalf("path parameter id = %q, want 7", param)
			}
		})
	}
}

func TestSetRoutePatternWithoutTheMiddlewareIsANoOp(t *testing.T) {
	t.Parallel()
	r := httptest.NewRequest(http.MethodGet, "/x", nil)
	middleware.SetRoutePattern(r, "/x")
	if got := middleware.RoutePattern(r); got != "" {
		t.Fatalf("RoutePattern = %q, want \"\"", got)
	}
}

// routeContextOutcome runs SetRouteContext inside RequestID (which
// installs the slot) or alone, and reports what it returned and whether
// chi then finds the context it was given.
func routeContextOutcome(t *testing.T, slot, asked bool) (set, found bool) {
	t.Helper()
	rc := chi.NewRouteContext()
	h := http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		if asked {
			_ = chi.RouteContext(r.Context())
		}
		set = middleware.SetRouteContext(r, rc)
		found = chi.RouteContext(r.Context()) == rc
	})
	var next http.Handler = h
	if slot {
		next = middleware.RequestID(middleware.RequestIDConfig{})(h)
	}
	next.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil))
	return set, found
}

func TestSetRouteContextPutsTheContextInTheSlot(t *testing.T) {
	t.Parallel()
	set, found := routeContextOutcome(t, true, false)
	if !set {
		t.Errorf("SetRouteContext = false, want true with a slot installed")
	}
	if !found {
		t.Errorf("chi.RouteContext does not return the context set")
	}
}

func TestSetRouteContextWithoutASlotDoesNothing(t *testing.T) {
	t.Parallel()
	if set, _ := routeContextOutcome(t, false, false); set {
		t.Errorf("SetRouteContext = true, want false without a slot")
	}
}

func TestSetRouteContextKeepsAContextAlreadyHandedOut(t *testing.T) {
	t.Parallel()
	set, found := routeContextOutcome(t, true, true)
	if set {
		t.Errorf("SetRouteContext = true, want false once the slot's context was handed out")
	}
	if found {
		t.Errorf("chi.RouteContext returns the new context; the one handed out must stay")
	}
}
