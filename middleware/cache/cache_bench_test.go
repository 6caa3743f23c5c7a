package cache_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/portico-dev/portico/middleware"
	"github.com/portico-dev/portico/middleware/cache"
)

// discardWriter is a ResponseWriter that discards the body and reuses its
// header map, so benchmarks measure the middleware alone.
type discardWriter struct {
	h      http.Header
	status int
}

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) WriteHeader(code int)        { w.status = code }
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *discardWriter) reset()                      { clear(w.h); w.status = 0 }

func BenchmarkCacheHit(b *testing.B) {
	body := []byte(strings.Repeat("x", 1024))
	h := cache.New(cache.Config{})(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Cache-Control", "max-age=3600")
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("ETag", `"v1"`)
		_, _ = w.Write(body)
	}))
	req := httptest.NewRequest(http.MethodGet, "/products/42?lang=en", nil)
	w := &discardWriter{h: http.Header{}}
	h.ServeHTTP(w, req) // fill the cache
	b.ReportAllocs()
	for b.Loop() {
		w.reset()
		h.ServeHTTP(w, req)
	}
	wantHit(b, w)
}

// BenchmarkCacheHitVary measures a hit on a response that varies on a
// request header, behind a version and consumer scope: the variant index
// lookup and the secondary key.
func BenchmarkCacheHitVary(b *testing.B) {
	body := []byte(strings.Repeat("x", 1024))
	h := cache.New(cache.Config{Namespace: "orders", Scope: cache.ConsumerScope})(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Cache-Control", "max-age=3600")
		w.Header().Set("Vary", "Accept-Language")
		_, _ = w.Write(body)
	}))
	req := httptest.NewRequest(http.MethodGet, "/products/42?lang=en", nil)
	req.Header.Set("Accept-Language", "en")
	ctx := middleware.WithConsumer(req.Context(), &middleware.Consumer{ID: "alice"})
	req = req.WithContext(middleware.WithVersion(ctx, "2"))
	w := &discardWriter{h: http.Header{}}
	h.ServeHTTP(w, req) // fill the cache
	b.ReportAllocs()
	for b.Loop() {
		w.reset()
		h.ServeHTTP(w, req)
	}
	wantHit(b, w)
}

func BenchmarkIdempotencyFreshKey(b *testing.B) {
	store := cache.NewMemoryIdempotency(cache.MemoryIdempotencyConfig{MaxKeys: 1 << 30})
	h := cache.Idempotency(cache.IdempotencyConfig{Store: store})(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusCreated)
		_, _ = io.WriteString(w, `{"id":1}`)
	}))
	body := strings.NewReader(`{"sku":"A","qty":1}`)
	req := httptest.NewRequest(http.MethodPost, "/orders", body)
	w := &discardWriter{h: http.Header{}}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		w.reset()
		body.Seek(0, io.SeekStart)
		req.Body = io.NopCloser(body)
		req.Header.Set("Idempotency-Key", strconv.Itoa(i))
		h.ServeHTTP(w, req)
	}
	if w.status != http.StatusCreated {
		b.Fatalf("status %d", w.status)
	}
}

func BenchmarkTransformHeaders(b *testing.B) {
	h := middleware.Transform(middleware.TransformConfig{
		Request: middleware.HeaderRules{
			Remove: []string{"X-Internal"},
			Set:    map[string]string{"X-Forwarded-Prefix": "/api", "X-User": "{header.X-Token}"},
		},
		Response: middleware.HeaderRules{
			Remove: []string{"Server"},
			Set:    map[string]string{"X-Gateway": "portico"},
		},
	})(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Server", "origin")
		w.WriteHeader(http.StatusOK)
	}))
	req := httptest.NewRequest(http.MethodGet, "/orders/1", nil)
	req.Header.Set("X-Token", "abc")
	req.Header.Set("X-Internal", "1")
	w := &discardWriter{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		w.reset()
		h.ServeHTTP(w, req)
	}
	if got, want := w.h.Get("X-Gateway"), "portico"; got != want {
		b.Fatalf("X-Gateway = %q, want %q", got, want)
	}
	if got := w.h.Get("Server"); got != "" {
		b.Fatalf("Server = %q, want it removed", got)
	}
}

// wantHit fails the benchmark unless the last response was a 200 cache hit.
func wantHit(b *testing.B, w *discardWriter) {
	b.Helper()
	if got, want := w.status, http.StatusOK; got != want {
		b.Fatalf("status = %d, want %d", got, want)
	}
	if cs := w.h.Get("Cache-Status"); !strings.Contains(cs, "hit") {
		b.Fatalf("Cache-Status = %q, want a hit", cs)
	}
}
