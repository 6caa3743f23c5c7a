package middleware_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/portico-dev/portico/middleware"
)

// tag appends name to the "Order" response header on the way in.
func tag(name string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Add("Order", name)
			next.ServeHTTP(w, r)
		})
	}
}

func TestChain(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		mws  []func(http.Handler) http.Handler
		want string
	}{
		{name: "the first middleware is the outermost", mws: []func(http.Handler) http.Handler{tag("a"), tag("b"), tag("c")}, want: "a,b,c,h"},
		{name: "an empty chain serves the handler alone", want: "h"},
		{name: "a chain nests inside another", mws: []func(http.Handler) http.Handler{tag("a"), middleware.Chain(tag("b"), tag("c"))}, want: "a,b,c,h"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := middleware.Chain(tt.mws...)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Header().Add("Order", "h") }))
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
			if got := strings.Join(rec.Header().Values("Order"), ","); got != tt.want {
				t.Fatalf("order = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestChainCopiesItsArguments(t *testing.T) {
	t.Parallel()
	mws := []func(http.Handler) http.Handler{tag("a")}
	chain := middleware.Chain(mws...)
	mws[0] = tag("changed")
	rec := httptest.NewRecorder()
	chain(http.NotFoundHandler()).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	if got := rec.Header().Get("Order"); got != "a" {
		t.Fatalf("order = %s, want a", got)
	}
}

func TestChainPanicsOnANilMiddleware(t *testing.T) {
	t.Parallel()
	defer func() {
		if v, _ := recover().(string); !strings.Contains(v, "middleware 1 is nil") {
			t.Fatalf("panic %q, want the nil middleware's index", v)
		}
	}()
	middleware.Chain(tag("a"), nil)
}
