package ratelimit_test

import (
	"log/slog"
	"strconv"
	"strings"
	"sync"
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

// testConsumers is a registry shared by the authentication tests.
func testConsumers() *middleware.MemoryConsumers {
	return middleware.NewMemoryConsumers(
		&middleware.Consumer{ID: "acme", Tenant: "acme-corp", Plan: "gold", Scopes: []string{"orders:read", "orders:write"}, Roles: []string{"admin"}},
		&middleware.Consumer{ID: "bob", Tenant: "bobs", Plan: "free", Scopes: []string{"orders:read"}},
	)
}

func hasSub(s, sub string) bool { return strings.Contains(s, sub) }

func slogNew(h slog.Handler) *slog.Logger { return slog.New(h) }

func fmtInt(i int) string { return strconv.Itoa(i) }
