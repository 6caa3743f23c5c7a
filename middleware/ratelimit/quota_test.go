package ratelimit_test

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/portico-dev/portico/middleware"
	"github.com/portico-dev/portico/middleware/auth"
	"github.com/portico-dev/portico/middleware/ratelimit"
)

func TestQuotaResetsAtThePeriodBoundary(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		period    ratelimit.Period
		loc       *time.Location
		start     time.Time
		boundary  time.Time // the next period starts here
		wantReset string
	}{
		{
			name:      "a daily quota resets at midnight UTC",
			period:    ratelimit.Day,
			start:     time.Date(2026, 3, 14, 23, 59, 0, 0, time.UTC),
			boundary:  time.Date(2026, 3, 15, 0, 0, 0, 0, time.UTC),
			wantReset: "2026-03-15T00:00:00Z",
		},
		{
			name:      "a monthly quota resets on the first of the month",
			period:    ratelimit.Month,
			start:     time.Date(2026, 2, 28, 12, 0, 0, 0, time.UTC),
			boundary:  time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC),
			wantReset: "2026-03-01T00:00:00Z",
		},
		{
			name:      "a daily quota follows the configured time zone",
			period:    ratelimit.Day,
			loc:       time.FixedZone("UTC+2", 2*3600),
			start:     time.Date(2026, 3, 14, 21, 30, 0, 0, time.UTC),
			boundary:  time.Date(2026, 3, 14, 22, 0, 0, 0, time.UTC),
			wantReset: "2026-03-14T22:00:00Z",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			clock := newClock()
			clock.Set(tt.start)
			srv := serve(t, ratelimit.Quota(ratelimit.QuotaConfig{
				Limit:    3,
				Period:   tt.period,
				Location: tt.loc,
				Key:      ratelimit.Shared,
				Now:      clock.Now,
			})(limitedOK))
			get := func() (*http.Response, []byte) { return do(t, srv, newRequest(t, http.MethodGet, srv.URL, nil)) }
			for i := range 3 {
				if res, _ := get(); res.StatusCode != http.StatusOK {
					t.Fatalf("request %d: status %d, want 200", i+1, res.StatusCode)
				}
			}
			res, body := get()
			if res.StatusCode != http.StatusTooManyRequests {
				t.Fatalf("fourth request: status %d, want 429", res.StatusCode)
			}
			doc := problemDoc(t, res, body)
			wantRetry := int(tt.boundary.Sub(tt.start) / time.Second)
			if got, want := doc["reset"], tt.wantReset; got != want {
				t.Errorf("429 reset = %v, want %s", got, want)
			}
			if got, want := res.Header.Get("Retry-After"), strconv.Itoa(wantRetry); got != want {
				t.Errorf("429 Retry-After = %q, want %q", got, want)
			}
			if got := res.Header.Get("RateLimit"); got != `"quota";r=0;t=`+strconv.Itoa(wantRetry) {
				t.Fatalf("RateLimit = %q", got)
			}
			clock.Set(tt.boundary.Add(-time.Nanosecond))
			if res, _ := get(); res.StatusCode != http.StatusTooManyRequests {
				t.Fatalf("just before the boundary: status %d, want 429", res.StatusCode)
			}
			clock.Set(tt.boundary)
			if res, _ := get(); res.StatusCode != http.StatusOK {
				t.Fatalf("at the boundary: status %d, want 200", res.StatusCode)
			}
		})
	}
}

func TestQuotaPerPlanAndRefusalsAreNotCounted(t *testing.T) {
	t.Parallel()
	clock := newClock()
	store := ratelimit.NewMemoryCounters(clock.Now)
	keys := auth.NewMemoryAPIKeys(
		auth.APIKey{ID: "a", Consumer: "acme", Hash: auth.HashAPIKey("acme")},
		auth.APIKey{ID: "b", Consumer: "bob", Hash: auth.HashAPIKey("bob")},
	)
	srv := serve(t, middleware.Chain(
		auth.New(auth.Config{Authenticators: []auth.Authenticator{auth.NewAPIKeyAuth(auth.APIKeyConfig{Keys: keys, Consumers: testConsumers()})}}),
		ratelimit.Quota(ratelimit.QuotaConfig{
			Name:  "daily",
			Limit: 2,
			Plans: map[string]int64{"gold": 4},
			Store: store,
			Now:   clock.Now,
		}),
	)(limitedOK))
	run := func(key string, n int) (admitted int) {
		for range n {
			if res, _ := do(t, srv, newRequest(t, http.MethodGet, srv.URL, nil, "X-API-Key", key)); res.StatusCode == http.StatusOK {
				admitted++
			}
		}
		return admitted
	}
	if got := run("acme", 10); got != 4 {
		t.Fatalf("gold consumer admitted %d of 10, want 4", got)
	}
	if got := run("bob", 10); got != 2 {
		t.Fatalf("free consumer admitted %d of 10, want 2", got)
	}
	used, _, _ := store.Add(context.Background(), "daily:bob:20260314", 0, 2, clock.Now().Add(time.Hour))
	if used != 2 {
		t.Fatalf("bob's counter reads %d after 8 refusals, want 2: refusals must not count", used)
	}
}

type brokenCounters struct{}

func (brokenCounters) Add(context.Context, string, int64, int64, time.Time) (int64, bool, error) {
	return 0, false, errors.New("redis: connection refused")
}

func TestQuotaStoreFailure(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		failClosed bool
		want       int
	}{
		{name: "failing open lets requests through uncounted", want: 200},
		{name: "failing closed answers 503", failClosed: true, want: 503},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := serve(t, ratelimit.Quota(ratelimit.QuotaConfig{
				Limit:      1,
				Key:        ratelimit.Shared,
				Store:      brokenCounters{},
				FailClosed: tt.failClosed,
			})(limitedOK))
			if res, _ := do(t, srv, newRequest(t, http.MethodGet, srv.URL, nil)); res.StatusCode != tt.want {
				t.Fatalf("status %d, want %d", res.StatusCode, tt.want)
			}
		})
	}
}

func TestLocalCountersDropExpiredCounters(t *testing.T) {
	t.Parallel()
	clock := newClock()
	s := ratelimit.NewMemoryCounters(clock.Now)
	ctx := context.Background()
	for i := range 5000 {
		_, _, _ = s.Add(ctx, "day1-"+strconv.Itoa(i), 1, 10, clock.Now().Add(time.Hour))
	}
	clock.Advance(2 * time.Hour)
	for i := range 5000 {
		_, _, _ = s.Add(ctx, "day2-"+strconv.Itoa(i), 1, 10, clock.Now().Add(time.Hour))
	}
	if n := s.Len(); n > 6100 {
		t.Fatalf("store holds %d counters, want the 5000 expired ones mostly swept", n)
	}
}

func TestQuotaLeftReadsAConsumersQuotaWithoutCountingIt(t *testing.T) {
	t.Parallel()
	clock := newClock()
	clock.Set(time.Date(2026, 3, 14, 12, 0, 0, 0, time.UTC))
	cfg := ratelimit.QuotaConfig{
		Limit: 10,
		Plans: map[string]int64{"gold": 100},
		Store: ratelimit.NewMemoryCounters(clock.Now),
		Now:   clock.Now,
	}
	gold := &middleware.Consumer{ID: "shop", Plan: "gold"} // as asConsumer makes it
	srv := serve(t, asConsumer(ratelimit.Quota(cfg)(limitedOK)))
	for range 2 {
		req := newRequest(t, http.MethodGet, srv.URL, nil)
		req.Header.Set("X-Test-Consumer", "shop")
		do(t, srv, req)
	}
	r, _ := http.NewRequestWithContext(middleware.WithConsumer(context.Background(), gold), http.MethodGet, "/", nil)
	for range 2 { // reading twice counts nothing
		s, ok, err := ratelimit.QuotaLeft(cfg, r)
		if err != nil {
			t.Fatalf("QuotaLeft: %v", err)
		}
		if !ok {
			t.Fatal("QuotaLeft: ok = false, want the consumer's quota")
		}
		if got, want := s.Used, int64(2); got != want {
			t.Errorf("used = %d, want %d", got, want)
		}
		if got, want := s.Limit, int64(100); got != want {
			t.Errorf("limit = %d, want the gold plan's %d", got, want)
		}
		if got, want := s.Left, int64(98); got != want {
			t.Errorf("left = %d, want %d", got, want)
		}
		if got, want := s.Resets, time.Date(2026, 3, 15, 0, 0, 0, 0, time.UTC); !got.Equal(want) {
			t.Errorf("resets = %v, want %v", got, want)
		}
	}
	anonymous, _ := http.NewRequest(http.MethodGet, "/", nil)
	if _, ok, _ := ratelimit.QuotaLeft(cfg, anonymous); ok {
		t.Error("QuotaLeft of an anonymous request: ok, want no quota (anonymous requests are not counted)")
	}
}
