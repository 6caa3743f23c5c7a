package middleware_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/portico-dev/portico/middleware"
)

func ExampleCompose() {
	users := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprint(w, `{"name":"Ada"}`)
	}))
	defer users.Close()
	ratings := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer ratings.Close()

	h := middleware.Compose(middleware.ComposeConfig{Calls: []middleware.ComposeCall{
		{
			Name:    "user",
			Key:     "user",
			URL:     users.URL + "/users/{path.id}",
			Timeout: 5 * time.Second,
		},
		{
			Name:     "ratings",
			Key:      "ratings",
			URL:      ratings.URL + "/ratings/{path.id}",
			Timeout:  time.Second,
			Optional: true,
		},
	}})
	mux := http.NewServeMux()
	mux.Handle("GET /profiles/{id}", h)

	w := httptest.NewRecorder()
	mux.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/profiles/7", nil))
	fmt.Println(w.Code, w.Header().Get("Portico-Partial"))
	fmt.Println(w.Body.String())
	// Output:
	// 200 ratings
	// {"_partial":["ratings"],"user":{"name":"Ada"}}
}
