package ratelimit_test

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"math"
	"net/http"
	"net/http/httptest"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portico-dev/portico/middleware"
	"github.com/portico-dev/portico/middleware/auth"
	"github.com/portico-dev/portico/middleware/ratelimit"
)

var limitedOK = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("ok")) })

func TestRateLimitAdmitsRateTimesTimePlusBurst(t *testing.T) {
	t.Parallel()
	clock := newClock()
	lim := ratelimit.Limit{Requests: 100, Period: time.Second, Burst: 10}
	srv := serve(t, ratelimit.New(ratelimit.Config{Limit: lim, Key: ratelimit.Shared, Now: clock.Now})(limitedOK))
	start := clock.Now()
	admitted := 0
	for i := range 1000 {
		if i > 0 {
			clock.Advance(5 * time.Millisecond) // 200 requests per second: twice the limit
		}
		res, _ := do(t, srv, newRequest(t, http.MethodGet, srv.URL, nil))
		if res.StatusCode == http.StatusOK {
			admitted++
		} else if res.StatusCode != http.StatusTooManyRequests {
			t.Fatalf("status %d, want 200 or 429", res.StatusCode)
		}
	}
	want := lim.PerSecondRate()*clock.Now().Sub(start).Seconds() + float64(lim.Burst)
	if math.Abs(float64(admitted)-want) > want*0.01 {
		t.Fatalf("admitted %d of 1000, want %.1f ± 1%%", admitted, want)
	}
}

func TestRateLimitResponses(t *testing.T) {
	t.Parallel()
	clock := newClock()
	srv := serve(t, ratelimit.New(ratelimit.Config{
		Name:  "per-ip",
		Limit: ratelimit.Limit{Requests: 2, Period: time.Minute},
		Key:   ratelimit.ByIP,
		Now:   clock.Now,
	})(limitedOK))
	get := func() (*http.Response, []byte) { return do(t, srv, newRequest(t, http.MethodGet, srv.URL, nil)) }

	res, _ := get()
	if got, want := res.StatusCode, http.StatusOK; got != want {
		t.Fatalf("first response: status = %d, want %d", got, want)
	}
	if got, want := res.Header.Get("RateLimit-Policy"), `"per-ip";q=2;w=60`; got != want {
		t.Errorf("first response: RateLimit-Policy = %q, want %q", got, want)
	}
	if got, want := res.Header.Get("RateLimit"), `"per-ip";r=1;t=30`; got != want {
		t.Errorf("first response: RateLimit = %q, want %q", got, want)
	}
	res, _ = get()
	if got, want := res.StatusCode, http.StatusOK; got != want {
		t.Fatalf("second response: status = %d, want %d", got, want)
	}
	if got, want := res.Header.Get("RateLimit"), `"per-ip";r=0;t=60`; got != want {
		t.Errorf("second response: RateLimit = %q, want %q", got, want)
	}
	res, body := get()
	if res.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("third response: %d, want 429", res.StatusCode)
	}
	doc := problemDoc(t, res, body)
	if got, want := res.Header.Get("Retry-After"), "30"; got != want {
		t.Errorf("429: Retry-After = %q, want %q", got, want)
	}
	type problemFields struct {
		RetryAfter, Policy, Status any
	}
	if got, want := (problemFields{doc["retry_after"], doc["policy"], doc["status"]}), (problemFields{float64(30), "per-ip", float64(429)}); got != want {
		t.Errorf("429: problem %+v, want %+v", got, want)
	}
	if res.Header.Get("RateLimit") != `"per-ip";r=0;t=60` {
		t.Fatalf("429 RateLimit = %q", res.Header.Get("RateLimit"))
	}
	clock.Advance(30 * time.Second)
	if res, _ := get(); res.StatusCode != http.StatusOK {
		t.Fatalf("after Retry-After: status %d, want 200", res.StatusCode)
	}
}

func TestRateLimitByPlanKeyAndCost(t *testing.T) {
	t.Parallel()
	keys := auth.NewMemoryAPIKeys(
		auth.APIKey{ID: "acme-1", Consumer: "acme", Hash: auth.HashAPIKey("acme-1")},
		auth.APIKey{ID: "acme-2", Consumer: "acme", Hash: auth.HashAPIKey("acme-2")},
		auth.APIKey{ID: "bob-1", Consumer: "bob", Hash: auth.HashAPIKey("bob-1")},
	)
	authn := auth.New(auth.Config{
		Authenticators: []auth.Authenticator{auth.NewAPIKeyAuth(auth.APIKeyConfig{Keys: keys, Consumers: testConsumers()})},
		Anonymous:      true,
	})
	hour := func(n int) ratelimit.Limit { return ratelimit.PerHour(n) }
	cost := func(r *http.Request) int { n, _ := strconv.Atoi(r.URL.Query().Get("cost")); return max(n, 1) }
	tests := []struct {
		name     string
		cfg      ratelimit.Config
		requests [][]string // key, cost
		want     string     // one status letter per request: A admitted, R refused
	}{
		{
			name:     "each plan gets its own limit",
			cfg:      ratelimit.Config{Limit: hour(1), Plans: map[string]ratelimit.Limit{"gold": hour(3)}},
			requests: [][]string{{"acme-1"}, {"acme-1"}, {"acme-1"}, {"acme-1"}, {"bob-1"}, {"bob-1"}},
			want:     "AAARAR",
		},
		{
			name:     "a consumer's keys share the consumer's bucket",
			cfg:      ratelimit.Config{Limit: hour(2)},
			requests: [][]string{{"acme-1"}, {"acme-2"}, {"acme-1"}},
			want:     "AAR",
		},
		{
			name:     "each API key gets its own bucket when keyed by key",
			cfg:      ratelimit.Config{Limit: hour(1), Key: ratelimit.ByAPIKey},
			requests: [][]string{{"acme-1"}, {"acme-2"}, {"acme-1"}},
			want:     "AAR",
		},
		{
			name:     "a tenant shares one bucket",
			cfg:      ratelimit.Config{Limit: hour(1), Key: ratelimit.ByTenant},
			requests: [][]string{{"acme-1"}, {"acme-2"}, {"bob-1"}},
			want:     "ARA",
		},
		{
			name:     "a request may cost more than one",
			cfg:      ratelimit.Config{Limit: hour(10), Cost: cost},
			requests: [][]string{{"bob-1", "4"}, {"bob-1", "4"}, {"bob-1", "4"}, {"bob-1", "2"}},
			want:     "AARA",
		},
		{
			name:     "a request costing more than the burst is refused",
			cfg:      ratelimit.Config{Limit: hour(10), Cost: cost},
			requests: [][]string{{"bob-1", "11"}, {"bob-1", "1"}},
			want:     "RA",
		},
		{
			name:     "anonymous callers fall back to their IP",
			cfg:      ratelimit.Config{Limit: hour(1)},
			requests: [][]string{{""}, {""}, {"bob-1"}},
			want:     "ARA",
		},
		{
			name:     "a header key limits per header value",
			cfg:      ratelimit.Config{Limit: hour(1), Key: ratelimit.ByHeader("X-Client")},
			requests: [][]string{{"", "1", "a"}, {"", "1", "b"}, {"", "1", "a"}},
			want:     "AAR",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := serve(t, authn(ratelimit.New(tt.cfg)(limitedOK)))
			got := ""
			for _, rq := range tt.requests {
				var h []string
				if rq[0] != "" {
					h = append(h, "X-API-Key", rq[0])
				}
				if len(rq) > 2 {
					h = append(h, "X-Client", rq[2])
				}
				u := srv.URL
				if len(rq) > 1 {
					u += "/?cost=" + rq[1]
				}
				res, _ := do(t, srv, newRequest(t, http.MethodGet, u, nil, h...))
				got += map[int]string{200: "A", 429: "R"}[res.StatusCode]
			}
			if got != tt.want {
				t.Fatalf("outcomes = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestKeyByIPGroupsIPv6By64(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, remote, want string
	}{
		{name: "an IPv4 address is its own key", remote: "192.0.2.7:5555", want: "192.0.2.7"},
		{name: "an IPv6 address is keyed by its /64", remote: "[2001:db8:1:2:aaaa::1]:443", want: "2001:db8:1:2::/64"},
		{name: "another address of the same /64 shares the key", remote: "[2001:db8:1:2:ffff:ffff:ffff:ffff]:443", want: "2001:db8:1:2::/64"},
		{name: "an IPv4-mapped IPv6 address is keyed as IPv4", remote: "[::ffff:192.0.2.7]:80", want: "192.0.2.7"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.RemoteAddr = tt.remote
			if got := ratelimit.ByIP(r); got != tt.want {
				t.Fatalf("ByIP = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestKeyByRouteGivesEachRouteItsOwnBucket(t *testing.T) {
	t.Parallel()
	mux := http.NewServeMux()
	limit := ratelimit.New(ratelimit.Config{Limit: ratelimit.PerHour(1), Key: ratelimit.ByRoute})
	mux.Handle("GET /orders/{id}", limit(limitedOK))
	mux.Handle("GET /users/{id}", limit(limitedOK))
	srv := serve(t, mux)
	got := ""
	for _, p := range []string{"/orders/1", "/orders/2", "/users/1", "/users/2"} {
		res, _ := do(t, srv, newRequest(t, http.MethodGet, srv.URL+p, nil))
		got += map[int]string{200: "A", 429: "R"}[res.StatusCode]
	}
	if got != "ARAR" {
		t.Fatalf("outcomes = %q, want ARAR: one bucket per route template, shared by its paths", got)
	}
}

func TestLocalRatesMemoryStaysBoundedWithAMillionKeys(t *testing.T) {
	t.Parallel()
	clock := newClock()
	const maxKeys = 10_000
	heapBefore := liveHeap()
	s := ratelimit.NewMemoryRates(ratelimit.MemoryRatesConfig{MaxKeys: maxKeys, Now: clock.Now})
	lim := ratelimit.PerMinute(10)
	ctx := context.Background()
	for i := range 1_000_000 {
		if d, _ := s.Take(ctx, "client-"+strconv.Itoa(i), lim, 1); !d.Allowed {
			t.Fatalf("first request of key %d refused", i)
		}
		if i%100_000 == 0 && s.Len() > maxKeys {
			t.Fatalf("after %d keys the store holds %d buckets, want at most %d", i+1, s.Len(), maxKeys)
		}
	}
	inRange(t, "buckets after 1,000,000 keys", s.Len(), maxKeys*9/10, maxKeys)
	// A million buckets would take hundreds of megabytes; the capped store
	// holds a few. The margin absorbs other tests running in parallel.
	if grown := int64(liveHeap()) - int64(heapBefore); grown > 64<<20 {
		t.Fatalf("live heap grew by %d MiB over a million keys, want it bounded by the cap", grown>>20)
	}
	runtime.KeepAlive(s)
	// The most recent keys are still limited.
	for range 10 {
		_, _ = s.Take(ctx, "client-999999", lim, 1)
	}
	if d, _ := s.Take(ctx, "client-999999", lim, 1); d.Allowed {
		t.Fatal("a recent key lost its bucket")
	}
}

func TestLocalRatesDropsRefilledBuckets(t *testing.T) {
	t.Parallel()
	clock := newClock()
	s := ratelimit.NewMemoryRates(ratelimit.MemoryRatesConfig{Now: clock.Now})
	lim := ratelimit.PerSecond(10)
	for i := range 1000 {
		_, _ = s.Take(context.Background(), "old-"+strconv.Itoa(i), lim, 1)
	}
	clock.Advance(2 * time.Second) // every bucket is full again
	for i := range 1000 {
		_, _ = s.Take(context.Background(), "new-"+strconv.Itoa(i), lim, 1)
	}
	if n := s.Len(); n > 1100 {
		t.Fatalf("store holds %d buckets, want the refilled ones dropped (about 1000)", n)
	}
}

// liveHeap returns the bytes of live heap objects after a collection.
func liveHeap() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// flakyStore fails while down is set, and otherwise defers to a MemoryRates.
type flakyStore struct {
	down  atomic.Bool
	calls atomic.Int64
	local *ratelimit.MemoryRates
}

func (s *flakyStore) Take(ctx context.Context, key string, l ratelimit.Limit, cost int) (ratelimit.Decision, error) {
	s.calls.Add(1)
	if s.down.Load() {
		return ratelimit.Decision{}, errors.New("dial tcp 10.0.0.9:6379: connection refused")
	}
	return s.local.Take(ctx, key, l, cost)
}

func TestRateLimitStoreOutage(t *testing.T) {
	t.Parallel()
	for _, failClosed := range []bool{false, true} {
		name := map[bool]string{false: "failing open serves at the local share and recovers", true: "failing closed answers 503 and recovers"}[failClosed]
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			clock := newClock()
			store := &flakyStore{local: ratelimit.NewMemoryRates(ratelimit.MemoryRatesConfig{Now: clock.Now})}
			sink := &logSink{}
			srv := serve(t, ratelimit.New(ratelimit.Config{
				Limit:      ratelimit.PerHour(90),
				Key:        ratelimit.Shared,
				Store:      store,
				FailClosed: failClosed,
				Replicas:   3,
				RetryStore: 5 * time.Second,
				Now:        clock.Now,
				Logger:     slog.New(sink),
			})(limitedOK))
			count := func(n int) map[int]int {
				got := map[int]int{}
				for range n {
					res, body := do(t, srv, newRequest(t, http.MethodGet, srv.URL, nil))
					got[res.StatusCode]++
					if res.StatusCode == http.StatusServiceUnavailable {
						if d := problemDoc(t, res, body)["detail"].(string); strings.Contains(d, "10.0.0.9") {
							t.Fatalf("503 detail leaks the store address: %q", d)
						}
					}
				}
				return got
			}
			if got := count(10); got[200] != 10 {
				t.Fatalf("with the store up: %v, want 10 admitted", got)
			}
			store.down.Store(true)
			got := count(60)
			if failClosed {
				if got[503] != 60 {
					t.Fatalf("store down, failing closed: %v, want 60 × 503", got)
				}
			} else if want := map[int]int{200: 30, 429: 30}; !maps.Equal(got, want) {
				t.Fatalf("store down, failing open: %v, want the local share of 30 admitted and 30 refused: %v", got, want)
			}
			if calls := store.calls.Load(); calls != 11 {
				t.Fatalf("the failing store was called %d times, want 11: bypassed until RetryStore passes", calls)
			}
			if len(sink.All()) != 1 {
				t.Fatalf("%d log records for one outage, want 1", len(sink.All()))
			}
			store.down.Store(false)
			clock.Advance(5 * time.Second)
			if got := count(10); got[200] != 10 {
				t.Fatalf("after the store recovered: %v, want 10 admitted by the store", got)
			}
		})
	}
}

func TestRateLimitHeadersListEveryPolicy(t *testing.T) {
	t.Parallel()
	srv := serve(t, middleware.Chain(
		ratelimit.New(ratelimit.Config{Name: "burst", Limit: ratelimit.PerSecond(5), Key: ratelimit.Shared}),
		ratelimit.New(ratelimit.Config{Name: "hourly", Limit: ratelimit.PerHour(100), Key: ratelimit.Shared}),
	)(limitedOK))
	res, _ := do(t, srv, newRequest(t, http.MethodGet, srv.URL, nil))
	policies := res.Header.Values("RateLimit-Policy")
	if want := []string{`"burst";q=5;w=1`, `"hourly";q=100;w=3600`}; !slices.Equal(policies, want) {
		t.Fatalf("RateLimit-Policy = %q, want %q", policies, want)
	}
	re := regexp.MustCompile(`^"(burst|hourly)";r=\d+;t=\d+$`)
	for _, v := range res.Header.Values("RateLimit") {
		if !re.MatchString(v) {
			t.Fatalf("RateLimit value %q is malformed", v)
		}
	}
}

func TestRateLimitPanicsOnAZeroLimit(t *testing.T) {
	t.Parallel()
	defer func() {
		if r := recover(); r == nil {
			t.Fatal("no panic")
		}
	}()
	ratelimit.New(ratelimit.Config{})
}
