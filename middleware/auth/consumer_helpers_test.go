package auth_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portico-dev/portico/middleware"
)

// fakeClock is an injectable clock that only moves when told to.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, time.March, 14, 12, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// whoami answers with the consumer in the request context, as JSON, or
// "anonymous".
var whoami = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	c := middleware.ConsumerFrom(r.Context())
	if c == nil {
		_, _ = w.Write([]byte("anonymous"))
		return
	}
	_ = json.NewEncoder(w).Encode(c)
})

// consumerOf decodes a whoami body.
func consumerOf(t testing.TB, body []byte) *middleware.Consumer {
	t.Helper()
	if string(body) == "anonymous" {
		return nil
	}
	var c middleware.Consumer
	if err := json.Unmarshal(body, &c); err != nil {
		t.Fatalf("decoding consumer %q: %v", body, err)
	}
	return &c
}

// testConsumers is a registry shared by the authentication tests.
func testConsumers() *middleware.MemoryConsumers {
	return middleware.NewMemoryConsumers(
		&middleware.Consumer{ID: "acme", Tenant: "acme-corp", Plan: "gold", Scopes: []string{"orders:read", "orders:write"}, Roles: []string{"admin"}},
		&middleware.Consumer{ID: "bob", Tenant: "bobs", Plan: "free", Scopes: []string{"orders:read"}},
	)
}

// pick returns the server among a and b whose URL is url.
func pick(a, b *httptest.Server, url string) *httptest.Server {
	if a.URL == url {
		return a
	}
	return b
}

func hasSub(s, sub string) bool { return strings.Contains(s, sub) }

func readAll(t testing.TB, res *http.Response) []byte {
	t.Helper()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
