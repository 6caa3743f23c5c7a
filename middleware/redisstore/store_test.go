package redisstore_test

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/goleak"

	"github.com/portico-dev/portico/internal/redistest"
	"github.com/portico-dev/portico/middleware/ratelimit"
	"github.com/portico-dev/portico/middleware/redisstore"
)

func TestMain(m *testing.M) {
	// The outage tests make go-redis log every refused dial; keep the output readable.
	redis.SetLogger(quiet{})
	goleak.VerifyTestMain(m)
}

type quiet struct{}

func (quiet) Printf(context.Context, string, ...any) {}

// client connects to s without retries, so an outage shows at once.
func client(t testing.TB, s *redistest.Server) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{
		Addr:               s.Addr(),
		MaxRetries:         -1,
		DialerRetries:      1,
		DialerRetryTimeout: time.Millisecond,
		DialTimeout:        2 * time.Second,
		ReadTimeout:        2 * time.Second,
		WriteTimeout:       2 * time.Second,
	})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// steady gives a functional test's store a timeout a loaded machine keeps;
// the tests of timeouts and outages set their own.
var steady = redisstore.WithTimeout(5 * time.Second)

func serve(t testing.TB, h http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

func get(t testing.TB, srv *httptest.Server) int {
	t.Helper()
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, srv.URL, nil)
	res, err := srv.Client().Do(req)
	if err != nil {
		t.Errorf("GET: %v", err)
		return 0
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode
}

var ok200 = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("ok")) })

func TestRatesFollowGCRA(t *testing.T) {
	t.Parallel()
	rates := redisstore.New(client(t, redistest.Start(t)), steady).Rates()
	ctx := context.Background()
	lim := ratelimit.PerMinute(3)
	for i, wantRemaining := range []int{2, 1, 0} {
		d, err := rates.Take(ctx, "k", lim, 1)
		if err != nil {
			t.Fatalf("take %d: %v", i+1, err)
		}
		if !d.Allowed {
			t.Fatalf("take %d = %+v, want allowed", i+1, d)
		}
		if d.Remaining != wantRemaining {
			t.Fatalf("take %d: Remaining = %d, want %d", i+1, d.Remaining, wantRemaining)
		}
	}
	d, err := rates.Take(ctx, "k", lim, 1)
	if err != nil {
		t.Fatalf("fourth take: %v", err)
	}
	if d.Allowed {
		t.Fatalf("fourth take = %+v, want refused", d)
	}
	inRange(t, "RetryAfter", d.RetryAfter, 15*time.Second+1, 20*time.Second) // just under 20s
	inRange(t, "Reset", d.Reset, 55*time.Second+1, time.Minute)              // just under 1m
	if d, _ := rates.Take(ctx, "other", lim, 3); !d.Allowed {
		t.Fatal("another key shares the first key's bucket")
	}
	d, _ = rates.Take(ctx, "big", lim, 4)
	if d.Allowed {
		t.Fatalf("a cost above the burst = %+v, want refused", d)
	}
	if got, want := d.RetryAfter, time.Minute; got != want {
		t.Errorf("a cost above the burst: RetryAfter = %v, want one period, %v", got, want)
	}
}

func TestThreeReplicasEnforceOneGlobalLimit(t *testing.T) {
	t.Parallel()
	rs := redistest.Start(t)
	lim := ratelimit.PerHour(300)
	var replicas []*httptest.Server
	for range 3 {
		store := redisstore.New(client(t, rs), steady).Rates() // one client per replica
		replicas = append(replicas, serve(t, ratelimit.New(ratelimit.Config{
			Limit:    lim,
			Key:      ratelimit.Shared,
			Store:    store,
			Replicas: 3,
		})(ok200)))
	}
	start := time.Now()
	var admitted, refused atomic.Int64
	var wg sync.WaitGroup
	for w := range 12 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 125 {
				switch get(t, replicas[(w+i)%3]) {
				case 200:
					admitted.Add(1)
				case 429:
					refused.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	want := float64(lim.Normalize().Burst) + lim.PerSecondRate()*time.Since(start).Seconds()
	if admitted.Load()+refused.Load() != 1500 {
		t.Fatalf("%d admitted + %d refused, want 1500 answers", admitted.Load(), refused.Load())
	}
	if got := float64(admitted.Load()); math.Abs(got-want) > want*0.01 {
		t.Fatalf("three replicas admitted %.0f of 1500, want %.1f ± 1%%", got, want)
	}
}

func TestRedisOutage(t *testing.T) {
	t.Parallel()
	rs := redistest.Start(t)
	lim := ratelimit.PerHour(300)
	handler := func(failClosed bool) *httptest.Server {
		return serve(t, ratelimit.New(ratelimit.Config{
			Name:       fmt.Sprint("closed-", failClosed),
			Limit:      lim,
			Key:        ratelimit.Shared,
			Store:      redisstore.New(client(t, rs), steady).Rates(),
			FailClosed: failClosed,
			Replicas:   3,
			RetryStore: 50 * time.Millisecond,
		})(ok200))
	}
	open, closed := handler(false), handler(true)
	for _, srv := range []*httptest.Server{open, closed} {
		if got := get(t, srv); got != 200 {
			t.Fatalf("with Redis up: status %d, want 200", got)
		}
	}

	rs.Kill()
	statuses := map[int]int{}
	for range 200 {
		statuses[get(t, open)]++
	}
	// The local share is 300/3 = 100 requests of burst; refill in the
	// seconds this takes adds well under one request.
	inRange(t, "failing open with Redis down: admitted at the local share", statuses[200], 100, 101)
	if got, want := statuses[200]+statuses[429], 200; got != want {
		t.Fatalf("failing open with Redis down: %v, want the rest 429", statuses)
	}
	for range 20 {
		if got := get(t, closed); got != 503 {
			t.Fatalf("failing closed with Redis down: status %d, want 503", got)
		}
	}

	rs.Restart()
	deadline := time.Now().Add(30 * time.Second)
	for _, srv := range []*httptest.Server{open, closed} {
		for get(t, srv) != 200 {
			// The fail-open replica's local bucket is empty, so a 200 can
			// only come from Redis again.
			if time.Now().After(deadline) {
				t.Fatal("no recovery within 30s of Redis returning")
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

func TestQuotasAreSharedAndResetAtThePeriodBoundary(t *testing.T) {
	t.Parallel()
	rs := redistest.Start(t)
	// Redis expires counters by its own clock, so the test clock starts a
	// day ahead of real time, a minute before midnight.
	day := time.Now().UTC().Truncate(24 * time.Hour).Add(48 * time.Hour)
	var mu sync.Mutex
	now := day.Add(-time.Minute)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	keyed := func(*http.Request) string { return "acme" }
	var replicas []*httptest.Server
	for range 2 {
		replicas = append(replicas, serve(t, ratelimit.Quota(ratelimit.QuotaConfig{
			Limit: 5,
			Key:   keyed,
			Store: redisstore.New(client(t, rs), steady).Quotas(),
			Now:   clock,
		})(ok200)))
	}
	count := func() (admitted int) {
		for i := range 8 {
			if get(t, replicas[i%2]) == 200 {
				admitted++
			}
		}
		return admitted
	}
	if got := count(); got != 5 {
		t.Fatalf("two replicas admitted %d of 8 under a quota of 5", got)
	}
	mu.Lock()
	now = day.Add(time.Second)
	mu.Unlock()
	if got := count(); got != 5 {
		t.Fatalf("after midnight the replicas admitted %d of 8, want a fresh quota of 5", got)
	}
}

func TestQuotaRefundsAreAlwaysApplied(t *testing.T) {
	t.Parallel()
	q := redisstore.New(client(t, redistest.Start(t)), steady, redisstore.WithPrefix("test:")).Quotas()
	ctx := context.Background()
	exp := time.Now().Add(time.Hour)
	type added struct {
		Used int64
		OK   bool
	}
	used, ok, err := q.Add(ctx, "budget", 10, 10, exp)
	if err != nil {
		t.Fatalf("Add(10): %v", err)
	}
	if got, want := (added{used, ok}), (added{10, true}); got != want {
		t.Fatalf("Add(10) = %+v, want %+v", got, want)
	}
	used, ok, _ = q.Add(ctx, "budget", 1, 10, exp)
	if got, want := (added{used, ok}), (added{10, false}); got != want {
		t.Fatalf("Add beyond the limit = %+v, want refused at 10: %+v", got, want)
	}
	used, ok, _ = q.Add(ctx, "budget", -4, 10, exp)
	if got, want := (added{used, ok}), (added{6, true}); got != want {
		t.Fatalf("refund of 4 = %+v, want %+v", got, want)
	}
}

func BenchmarkRatesTake(b *testing.B) {
	rates := redisstore.New(client(b, redistest.Start(b)), steady).Rates()
	ctx := context.Background()
	lim := ratelimit.Limit{Requests: 1 << 30, Period: time.Second}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := rates.Take(ctx, "bench", lim, 1); err != nil {
			b.Fatal(err)
		}
	}
}

// inRange fails the test unless lo <= got <= hi.
func inRange[T cmp.Ordered](t *testing.T, name string, got, lo, hi T) {
	t.Helper()
	if got < lo {
		t.Errorf("%s = %v, want at least %v (and at most %v)", name, got, lo, hi)
	}
	if got > hi {
		t.Errorf("%s = %v, want at most %v (and at least %v)", name, got, hi, lo)
	}
}
