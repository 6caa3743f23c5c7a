package middleware_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/portico-dev/portico/middleware"
)

func ExampleByVersion() {
	v1 := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "v1 "+r.URL.Path) })
	v2 := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "v2 "+r.URL.Path) })
	h := middleware.Version(middleware.VersionConfig{StripPath: true})(middleware.ByVersion(map[string]http.Handler{
		"1": v1,
		"2": v2,
	}))

	for _, req := range []*http.Request{
		httptest.NewRequest(http.MethodGet, "/v1/orders", nil),
		func() *http.Request {
			r := httptest.NewRequest(http.MethodGet, "/orders", nil)
			r.Header.Set("Accept", "application/vnd.shop+json; version=2")
			return r
		}(),
	} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		fmt.Println(w.Body.String())
	}
	// Output:
	// v1 /orders
	// v2 /orders
}

func ExampleLifecycle() {
	now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	h := middleware.Lifecycle(middleware.LifecycleConfig{
		Deprecated: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		Sunset:     time.Date(2026, 12, 31, 0, 0, 0, 0, time.UTC),
		Link:       "https://docs.example.com/migrate-to-v2",
		Successor:  "/v2/orders",
		Now:        func() time.Time { return now },
	})(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "ok") }))

	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/v1/orders", nil))
	fmt.Println(w.Code, w.Header().Get("Deprecation"), "|", w.Header().Get("Sunset"))
	for _, l := range w.Header().Values("Link") {
		fmt.Println(l)
	}

	now = time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC) // after the sunset
	w = httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/v1/orders", nil))
	fmt.Println(w.Code, w.Body.String())
	// Output:
	// 200 @1767225600 | Thu, 31 Dec 2026 00:00:00 GMT
	// <https://docs.example.com/migrate-to-v2>; rel="deprecation"; type="text/html"
	// <https://docs.example.com/migrate-to-v2>; rel="sunset"; type="text/html"
	// </v2/orders>; rel="successor-version"
	// 410 {"detail":"this API was retired on Thu, 31 Dec 2026 00:00:00 GMT; use /v2/orders instead","status":410,"successor":"/v2/orders","title":"Gone","type":"about:blank"}
}
