package redisstore_test

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/redistest"
	"github.com/portico-dev/portico/middleware/ratelimit"
	"github.com/portico-dev/portico/middleware/redisstore"
)

var _ ratelimit.WindowStore = (*redisstore.Windows)(nil)

// windowStores are the two WindowStores, which must behave alike.
func windowStores(t *testing.T) map[string]ratelimit.WindowStore {
	t.Helper()
	rs := redistest.Start(t)
	return map[string]ratelimit.WindowStore{
		"in memory": ratelimit.NewMemoryWindows(),
		"in redis":  redisstore.New(client(t, rs), redisstore.WithTimeout(5*time.Second)).Windows(),
	}
}

// t0 is the start of a one-second slot of a one-minute window.
var t0 = time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)

// add adds n at t0+at to the one-minute window key with a limit of 10.
func add(t *testing.T, s ratelimit.WindowStore, key string, n int64, at time.Duration) ratelimit.Decision {
	t.Helper()
	d, err := s.Add(context.Background(), key, n, 10, time.Minute, t0.Add(at))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func adjust(t *testing.T, s ratelimit.WindowStore, key string, delta int64, at time.Duration) {
	t.Helper()
	if err := s.Adjust(context.Background(), key, delta, time.Minute, t0.Add(at)); err != nil {
		t.Fatal(err)
	}
}

func TestWindowStoresFollowOneContract(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		run  func(t *testing.T, s ratelimit.WindowStore, key string)
	}{
		{"a refusal says when the call fits", func(t *testing.T, s ratelimit.WindowStore, key string) {
			add(t, s, key, 6, 0)
			if got, want := add(t, s, key, 4, 10*time.Second).Remaining, 0; got != want {
				t.Errorf("remaining = %d, want %d", got, want)
			}
			// The 6 of t0 leave the window at t0+61s, one slot after it.
			d := add(t, s, key, 1, 30*time.Second)
			if got, want := d.Allowed, false; got != want {
				t.Errorf("allowed at the edge of a fixed minute = %t, want %t", got, want)
			}
			if got, want := d.RetryAfter, 31*time.Second; got != want {
				t.Errorf("retry after %v, want %v", got, want)
			}
			if got, want := add(t, s, key, 1, 60*time.Second+500*time.Millisecond).Allowed, false; got != want {
				t.Errorf("allowed a minute after = %t, want %t", got, want)
			}
			if got, want := add(t, s, key, 6, 61*time.Second).Allowed, true; got != want {
				t.Errorf("allowed once t0's slot left = %t, want %t", got, want)
			}
		}},
		{"a returned reservation frees its room", func(t *testing.T, s ratelimit.WindowStore, key string) {
			add(t, s, key, 10, 0)
			adjust(t, s, key, -4, 0)
			if got, want := add(t, s, key, 4, time.Second).Allowed, true; got != want {
				t.Errorf("the returned room: allowed = %t, want %t", got, want)
			}
			if got, want := add(t, s, key, 1, time.Second).Allowed, false; got != want {
				t.Errorf("beyond it: allowed = %t, want %t", got, want)
			}
		}},
		{"an adjustment of a slot that left the window changes nothing", func(t *testing.T, s ratelimit.WindowStore, key string) {
			add(t, s, key, 5, 0)
			add(t, s, key, 10, 2*time.Minute)
			adjust(t, s, key, -5, 0)
			if got, want := add(t, s, key, 1, 2*time.Minute).Allowed, false; got != want {
				t.Errorf("allowed = %t, want %t", got, want)
			}
		}},
		{"no slot goes below zero", func(t *testing.T, s ratelimit.WindowStore, key string) {
			add(t, s, key, 3, 0)
			adjust(t, s, key, -10, 0)
			add(t, s, key, 10, time.Second)
			if got, want := add(t, s, key, 1, time.Second).Allowed, false; got != want {
				t.Errorf("allowed = %t, want %t", got, want)
			}
		}},
		{"a call larger than the limit waits a whole window", func(t *testing.T, s ratelimit.WindowStore, key string) {
			d := add(t, s, key, 11, 0)
			if got, want := d.Allowed, false; got != want {
				t.Errorf("allowed = %t, want %t", got, want)
			}
			if got, want := d.RetryAfter, time.Minute; got != want {
				t.Errorf("retry after %v, want %v", got, want)
			}
		}},
		{"no span of the window ever holds more than the limit", func(t *testing.T, s ratelimit.WindowStore, key string) {
			type taken struct {
				at time.Duration
				n  int64
			}
			var all []taken
			rnd := rand.New(rand.NewPCG(1, 2))
			for at := time.Duration(0); at < 4*time.Minute; at += 250 * time.Millisecond {
				if n := rnd.Int64N(4) + 1; add(t, s, key, n, at).Allowed {
					all = append(all, taken{at, n})
				}
			}
			var total int64
			for _, a := range all {
				total += a.n
				var in int64
				for _, b := range all {
					if b.at >= a.at && b.at < a.at+time.Minute {
						in += b.n
					}
				}
				if in > 10 {
					t.Fatalf("%d taken in the minute from t0+%v, more than 10", in, a.at)
				}
			}
			if total < 30 {
				t.Errorf("%d taken in 4 minutes, want at least 30", total)
			}
		}},
	}
	for name, s := range windowStores(t) {
		for _, tt := range tests {
			t.Run(name+"/"+tt.name, func(t *testing.T) {
				t.Parallel()
				tt.run(t, s, t.Name())
			})
		}
	}
}

func BenchmarkWindowsAdd(b *testing.B) {
	rs := redistest.Start(b)
	w := redisstore.New(client(b, rs), steady).Windows()
	ctx := context.Background()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		// A call every 10ms: the window keeps sliding, 61 slots held.
		if _, err := w.Add(ctx, "bench", 1, 1<<40, time.Minute, t0.Add(time.Duration(i)*10*time.Millisecond)); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
