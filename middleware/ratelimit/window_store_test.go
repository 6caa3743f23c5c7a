package ratelimit_test

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/portico-dev/portico/middleware/ratelimit"
)

func TestLocalWindowsDropWindowsThatHoldNothing(t *testing.T) {
	t.Parallel()
	s := ratelimit.NewMemoryWindows()
	ctx := context.Background()
	t0 := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	for i := range 1024 {
		_, _ = s.Add(ctx, "old-"+strconv.Itoa(i), 1, 10, time.Minute, t0)
	}
	// Two minutes on, the old windows hold nothing: the next new windows
	// sweep them away.
	for i := range 1024 {
		_, _ = s.Add(ctx, "new-"+strconv.Itoa(i), 1, 10, time.Minute, t0.Add(2*time.Minute))
	}
	if got, want := s.Len(), 1024; got > want {
		t.Errorf("%d windows held, want at most %d", got, want)
	}
}

func TestLocalWindowsKeepWindowsApartByLength(t *testing.T) {
	t.Parallel()
	s := ratelimit.NewMemoryWindows()
	ctx := context.Background()
	now := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	_, _ = s.Add(ctx, "k", 10, 10, time.Minute, now)
	// The same name with another length is another window: it starts empty.
	d, _ := s.Add(ctx, "k", 10, 10, time.Hour, now)
	if got, want := d.Allowed, true; got != want {
		t.Errorf("allowed = %t, want %t", got, want)
	}
}

// A sliding window of 3 calls a minute: at the edge of a fixed minute the
// calls of the previous half minute still count, and the refusal says when
// the first of them leaves the window. A reservation returned frees room.
func ExampleMemoryWindows() {
	s := ratelimit.NewMemoryWindows()
	ctx := context.Background()
	at := func(sec int) time.Time { return time.Date(2030, 1, 1, 12, 0, sec, 0, time.UTC) }
	for _, sec := range []int{30, 40, 50, 60} {
		d, _ := s.Add(ctx, "alice", 1, 3, time.Minute, at(sec))
		fmt.Println(at(sec).Format("15:04:05"), d.Allowed, d.RetryAfter)
	}
	_ = s.Adjust(ctx, "alice", -1, time.Minute, at(50)) // the call of 12:00:50 used nothing
	d, _ := s.Add(ctx, "alice", 1, 3, time.Minute, at(60))
	fmt.Println("after the refund:", d.Allowed)
	// Output:
	// 12:00:30 true 0s
	// 12:00:40 true 0s
	// 12:00:50 true 0s
	// 12:01:00 false 31s
	// after the refund: true
}

func BenchmarkLocalWindowsAdd(b *testing.B) {
	s := ratelimit.NewMemoryWindows()
	keys := make([]string, 1024)
	for i := range keys {
		keys[i] = "consumer-" + strconv.Itoa(i)
	}
	ctx := context.Background()
	now := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		// A call every 10ms over 1,024 consumers: windows keep sliding.
		_, _ = s.Add(ctx, keys[i&1023], 1, 1<<40, time.Minute, now.Add(time.Duration(i)*10*time.Millisecond))
		i++
	}
}
