package cache_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/portico-dev/portico/middleware"
	"github.com/portico-dev/portico/middleware/cache"
)

func ExampleNew() {
	calls := 0
	products := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		calls++
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("ETag", `"v1"`)
		fmt.Fprint(w, `{"id":42}`)
	})
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	h := cache.New(cache.Config{Now: func() time.Time { return now }})(products)

	for range 2 {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/products/42", nil))
		fmt.Println(w.Code, w.Header().Get("Cache-Status"))
	}
	// A client that already holds the response gets a 304.
	req := httptest.NewRequest(http.MethodGet, "/products/42", nil)
	req.Header.Set("If-None-Match", `"v1"`)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	fmt.Println(w.Code, "upstream calls:", calls)
	// Output:
	// 200 portico; fwd=uri-miss; fwd-status=200; stored
	// 200 portico; hit; ttl=60
	// 304 upstream calls: 1
}

func ExampleIdempotency() {
	orders := 0
	create := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		orders++
		w.Header().Set("Location", fmt.Sprintf("/orders/%d", orders))
		w.WriteHeader(http.StatusCreated)
	})
	h := cache.Idempotency(cache.IdempotencyConfig{})(create)

	send := func(body string) {
		req := httptest.NewRequest(http.MethodPost, "/orders", strings.NewReader(body))
		req.Header.Set("Idempotency-Key", `"order-7f3a"`)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		fmt.Println(strings.TrimSpace(fmt.Sprint(w.Code, " ", w.Header().Get("Location"), " ", w.Header().Get("Idempotent-Replayed"))))
	}
	send(`{"sku":"A"}`)
	send(`{"sku":"A"}`) // a retry: replayed
	send(`{"sku":"B"}`) // the same key for another payload
	fmt.Println("orders created:", orders)
	// Output:
	// 201 /orders/1
	// 201 /orders/1 true
	// 422
	// orders created: 1
}

func ExampleConsumerScope() {
	reports := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=300")
		fmt.Fprint(w, "report for "+middleware.ConsumerFrom(r.Context()).ID)
	})
	h := cache.New(cache.Config{Scope: cache.ConsumerScope})(reports)

	for _, id := range []string{"alice", "bob", "alice"} {
		// An authenticator would set the consumer; here it is set by hand.
		ctx := middleware.WithConsumer(context.Background(), &middleware.Consumer{ID: id})
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/report", nil).WithContext(ctx))
		fmt.Println(w.Body.String(), "|", strings.Fields(w.Header().Get("Cache-Status"))[1])
	}
	// Output:
	// report for alice | fwd=uri-miss;
	// report for bob | fwd=uri-miss;
	// report for alice | hit;
}

// Caches in front of different resources share one store without sharing
// entries: each has its own Namespace. Behind Version, a cache keeps one
// entry per API version, and responses name the fields the version was
// read from in Vary.
func ExampleConfig_namespace() {
	store := cache.NewMemory(cache.MemoryConfig{})
	upstream := func(name string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "max-age=60")
			fmt.Fprintf(w, "%s v%s", name, middleware.VersionFrom(r.Context()))
		})
	}
	version := middleware.Version(middleware.VersionConfig{})
	stable := version(cache.New(cache.Config{Store: store, Namespace: "stable"})(upstream("stable")))
	beta := version(cache.New(cache.Config{Store: store, Namespace: "beta"})(upstream("beta")))

	for _, call := range []struct {
		h       http.Handler
		version string
	}{{stable, "1"}, {beta, "1"}, {stable, "2"}, {stable, "1"}} {
		req := httptest.NewRequest(http.MethodGet, "/items", nil)
		req.Header.Set("API-Version", call.version)
		w := httptest.NewRecorder()
		call.h.ServeHTTP(w, req)
		fmt.Println(w.Body.String(), "|", strings.Fields(w.Header().Get("Cache-Status"))[1], "| Vary:", w.Header().Get("Vary"))
	}
	// Output:
	// stable v1 | fwd=uri-miss; | Vary: API-Version, Accept
	// beta v1 | fwd=uri-miss; | Vary: API-Version, Accept
	// stable v2 | fwd=uri-miss; | Vary: API-Version, Accept
	// stable v1 | hit; | Vary: API-Version, Accept
}
