package ratelimit_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/portico-dev/portico/middleware/ratelimit"
)

// A limit of two requests a minute per client IP, with the IETF RateLimit
// headers and a 429 problem carrying Retry-After.
func ExampleNew() {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	h := ratelimit.New(ratelimit.Config{
		Name:  "per-ip",
		Limit: ratelimit.PerMinute(2),
		Key:   ratelimit.ByIP,
		Now:   func() time.Time { return now },
	})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))

	for range 3 {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/", nil))
		line := fmt.Sprintln(w.Code, w.Header().Get("RateLimit-Policy"), w.Header().Get("RateLimit"), w.Header().Get("Retry-After"))
		fmt.Println(strings.TrimSpace(line))
	}
	// Output:
	// 200 "per-ip";q=2;w=60 "per-ip";r=1;t=30
	// 200 "per-ip";q=2;w=60 "per-ip";r=0;t=60
	// 429 "per-ip";q=2;w=60 "per-ip";r=0;t=60 30
}

// A daily quota per consumer; the 429 names the reset time.
func ExampleQuota() {
	now := time.Date(2026, 1, 1, 23, 0, 0, 0, time.UTC)
	h := ratelimit.Quota(ratelimit.QuotaConfig{
		Limit: 1,
		Key:   ratelimit.Shared,
		Now:   func() time.Time { return now },
	})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	for range 2 {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/", nil))
		fmt.Println(strings.TrimSpace(fmt.Sprint(w.Code, " ", w.Header().Get("Retry-After"))))
	}
	// Output:
	// 200
	// 429 3600
}
