package cache_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/portico-dev/portico/middleware/cache"
)

// FuzzCacheHeaders feeds arbitrary Cache-Control, Vary, ETag and
// If-None-Match values through the cache: it must never panic, never
// store what no-store or private forbid, and always answer with the
// upstream's body or a 304.
func FuzzCacheHeaders(f *testing.F) {
	f.Add("max-age=60", "", `"a"`, `"a"`)
	f.Add(`s-maxage="10", private="Set-Cookie"`, "Accept", `W/"x"`, `*`)
	f.Add("no-store, max-age=99999999999999999999", "*", "", `"a", W/"b"`)
	f.Add(`max-age=5, ext="a,b\"c"`, "accept-language, ,", `"`, `,,`)
	f.Fuzz(func(t *testing.T, cc, vary, etag, inm string) {
		h := cache.New(cache.Config{TTL: 1})(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header()["Cache-Control"] = []string{cc}
			w.Header()["Vary"] = []string{vary}
			w.Header()["Etag"] = []string{etag}
			_, _ = w.Write([]byte("body"))
		}))
		forbids := false
		for d := range strings.SplitSeq(strings.ToLower(cc), ",") {
			d = strings.TrimSpace(d)
			if d == "no-store" || d == "private" || strings.HasPrefix(d, "private=") {
				forbids = true
			}
		}
		for i := range 2 {
			req := httptest.NewRequest(http.MethodGet, "/x", nil)
			req.Header["If-None-Match"] = []string{inm}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code != http.StatusOK && w.Code != http.StatusNotModified {
				t.Fatalf("status %d", w.Code)
			}
			if w.Code == http.StatusOK && w.Body.String() != "body" {
				t.Fatalf("body %q", w.Body.String())
			}
			if i == 1 && forbids && strings.Contains(w.Header().Get("Cache-Status"), "hit") && !strings.Contains(cc, `"`) {
				t.Fatalf("Cache-Control %q forbids storing, but the second response was a hit", cc)
			}
		}
	})
}
