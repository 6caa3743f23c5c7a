package platform_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/portico-dev/portico/gateway/platform"
	"github.com/portico-dev/portico/internal/redistest"
	"github.com/portico-dev/portico/middleware/redisstore"
)

// steady gives the stores of these tests a timeout a loaded machine keeps:
// with the default 200ms, one slow call opens the store's breaker, and the
// platform answers 503 to a test that is not about timeouts. An outage
// still opens it at once, since nothing listens on a killed server.
var steady = redisstore.WithTimeout(5 * time.Second)

func TestRevocationOnOneReplicaIsEffectiveOnTheNextRequestOnAnother(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	docs := func() platform.Store {
		c := redis.NewClient(&redis.Options{Addr: srv.Addr(), DialTimeout: 5 * time.Second, ReadTimeout: 5 * time.Second})
		t.Cleanup(func() { _ = c.Close() })
		return redisstore.New(c, steady).Documents()
	}
	a, b := newGateway(t, docs()), newGateway(t, docs())
	shop, _ := a.seed(t)
	var sub platform.Subscription
	b.call(t, http.MethodPost, "/subscriptions", shop, map[string]string{"api": "orders"}).json(t, &sub)
	a.adm(t, http.MethodPost, "/api/subscriptions/"+sub.ID+"/approve", nil, http.StatusOK)

	// Both replicas serve the consumer, and cache the decision.
	for i := range 3 {
		for _, g := range []*gateway{a, b} {
			if r := g.call(t, http.MethodGet, "/orders/1", shop, nil); r.status != http.StatusOK {
				t.Fatalf("call %d before revocation: %d %s", i, r.status, r.body)
			}
		}
	}
	a.adm(t, http.MethodPost, "/api/subscriptions/"+sub.ID+"/revoke", map[string]string{"reason": "unpaid"}, http.StatusOK)
	if r := b.call(t, http.MethodGet, "/orders/1", shop, nil); r.status != http.StatusForbidden {
		t.Fatalf("the next request on the other replica: status %d, want 403: %s", r.status, r.body)
	}
	// A key deleted on one replica stops working on the other at once too.
	var keys []platform.Key
	b.adm(t, http.MethodGet, "/api/tenants/acme/consumers/shop/keys", nil, http.StatusOK).json(t, &keys)
	b.adm(t, http.MethodDelete, "/api/tenants/acme/keys/"+keys[0].ID, nil, http.StatusNoContent)
	if r := a.call(t, http.MethodGet, "/orders/1", shop, nil); r.status != http.StatusUnauthorized {
		t.Errorf("deleted key on the other replica: status %d, want 401", r.status)
	}
}

func TestARestartOfASingleNodeGatewayKeepsTenantsKeysAndSubscriptions(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "platform.db")
	store := openFile(t, path)
	g := newGateway(t, store)
	shop, ledger := g.seed(t)
	g.call(t, http.MethodPost, "/subscriptions", ledger, map[string]string{"api": "reports"})
	var sub platform.Subscription
	g.call(t, http.MethodPost, "/subscriptions", shop, map[string]string{"api": "orders"}).json(t, &sub)
	g.adm(t, http.MethodPost, "/api/subscriptions/"+sub.ID+"/approve", nil, http.StatusOK)
	before, _ := store.Version(context.Background())
	g.admin.Close()
	g.public.Close()
	if err := store.Close(); err != nil {
		t.Fatal(err)
	}

	store = openFile(t, path)
	defer store.Close()
	if after, _ := store.Version(context.Background()); after != before {
		t.Errorf("version after restart %d, want %d", after, before)
	}
	g = newGateway(t, store)
	for _, c := range []struct{ key, path string }{{shop, "/orders/1"}, {ledger, "/reports/1"}} {
		if r := g.call(t, http.MethodGet, c.path, c.key, nil); r.status != http.StatusOK {
			t.Errorf("%s after restart: status %d, want 200: %s", c.path, r.status, r.body)
		}
	}
	var tenants []platform.Tenant
	g.adm(t, http.MethodGet, "/api/tenants", nil, http.StatusOK).json(t, &tenants)
	if len(tenants) != 2 {
		t.Errorf("tenants after restart = %+v, want acme and globex", tenants)
	}
	var audit []platform.Entry
	g.adm(t, http.MethodGet, "/api/audit", nil, http.StatusOK).json(t, &audit)
	if len(audit) < 10 {
		t.Errorf("audit log after restart has %d entries, want every earlier write", len(audit))
	}
}

func TestAStoreOutageKeepsTheCachedStateOrFailsClosedAsConfigured(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	docs := func() platform.Store {
		c := redis.NewClient(&redis.Options{
			Addr:          srv.Addr(),
			MaxRetries:    -1,
			DialerRetries: 1,
			DialTimeout:   2 * time.Second,
			ReadTimeout:   2 * time.Second,
			WriteTimeout:  2 * time.Second,
		})
		t.Cleanup(func() { _ = c.Close() })
		return redisstore.New(c, steady).Documents()
	}
	open, closed := newGateway(t, docs(), platform.WithLogger(quietLogger())), newGateway(t, docs(), platform.WithFailClosed())
	_, ledger := open.seed(t)
	open.call(t, http.MethodPost, "/subscriptions", ledger, map[string]string{"api": "reports"})
	for _, g := range []*gateway{open, closed} {
		if r := g.call(t, http.MethodGet, "/reports/1", ledger, nil); r.status != http.StatusOK {
			t.Fatalf("before the outage: %d %s", r.status, r.body)
		}
	}
	srv.Kill()
	if r := open.call(t, http.MethodGet, "/reports/1", ledger, nil); r.status != http.StatusOK {
		t.Errorf("fail open during the outage: status %d, want 200 from the cached state", r.status)
	}
	if r := closed.call(t, http.MethodGet, "/reports/1", ledger, nil); r.status != http.StatusServiceUnavailable {
		t.Errorf("fail closed during the outage: status %d, want 503", r.status)
	}
	r := send(t, http.MethodPost, open.admin.URL+"/api/tenants", adminToken, map[string]string{"id": "initech"})
	if r.status != http.StatusServiceUnavailable {
		t.Errorf("an admin write during the outage: status %d, want 503", r.status)
	}
	problemOf(t, r)
}

func TestWithRefreshBoundsHowLongAnotherReplicaServesAChange(t *testing.T) {
	t.Parallel()
	store := platform.NewMemoryStore()
	var mu sync.Mutex
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	a := newGateway(t, store)
	b := newGateway(t, store, platform.WithRefresh(time.Minute), platform.WithClock(clock))
	_, ledger := a.seed(t)
	a.call(t, http.MethodPost, "/subscriptions", ledger, map[string]string{"api": "reports"})
	mu.Lock()
	now = now.Add(2 * time.Minute) // b's first load happened at the old time
	mu.Unlock()
	if r := b.call(t, http.MethodGet, "/reports/1", ledger, nil); r.status != http.StatusOK {
		t.Fatalf("before revocation: %d %s", r.status, r.body)
	}
	a.adm(t, http.MethodPost, "/api/subscriptions/ledger.reports/revoke", nil, http.StatusOK)
	if r := b.call(t, http.MethodGet, "/reports/1", ledger, nil); r.status != http.StatusOK {
		t.Errorf("within the refresh interval: status %d, want the cached 200", r.status)
	}
	mu.Lock()
	now = now.Add(time.Minute)
	mu.Unlock()
	if r := b.call(t, http.MethodGet, "/reports/1", ledger, nil); r.status != http.StatusForbidden {
		t.Errorf("after the refresh interval: status %d, want 403", r.status)
	}
	if r := a.call(t, http.MethodGet, "/reports/1", ledger, nil); r.status != http.StatusForbidden {
		t.Errorf("the replica that revoked: status %d, want 403 at once", r.status)
	}
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func TestTheChangeFeedSpreadsARevocationWithinTheRefreshInterval(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	docs := func() platform.Store {
		c := redis.NewClient(&redis.Options{Addr: srv.Addr(), DialTimeout: 5 * time.Second, ReadTimeout: 5 * time.Second})
		t.Cleanup(func() { _ = c.Close() })
		return redisstore.New(c, steady).Documents()
	}
	a := newGateway(t, docs())
	// b trusts its cache for an hour, but follows the change feed.
	b := newGateway(t, docs(), platform.WithRefresh(time.Hour))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.p.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("Run returned %v, want context.Canceled", err)
		}
	}()
	_, ledger := a.seed(t)
	a.call(t, http.MethodPost, "/subscriptions", ledger, map[string]string{"api": "reports"})
	waitStatus(t, b, ledger, http.StatusOK)
	a.adm(t, http.MethodPost, "/api/subscriptions/ledger.reports/revoke", nil, http.StatusOK)
	waitStatus(t, b, ledger, http.StatusForbidden)
}

// waitStatus polls b until a call answers want, failing after 20 seconds.
func waitStatus(t *testing.T, g *gateway, key string, want int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		r := g.call(t, http.MethodGet, "/reports/1", key, nil)
		if r.status == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("status %d after 20s, want %d: %s", r.status, want, r.body)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
