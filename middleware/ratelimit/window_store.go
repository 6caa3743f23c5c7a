package ratelimit

import (
	"context"
	"sync"
	"time"
)

// WindowSlots is the number of slots a sliding window is counted in. A
// window of length W is kept as WindowSlots counters of W/WindowSlots
// each; the total of a window at time now is the sum of the slots that
// overlap [now-W, now], the oldest one whole. A total never leaves out a
// unit added within the last W, so no span of length W ever holds more
// than the limit: there is no double burst at the edge of a window, as
// with fixed windows. A unit stops counting between W and W plus one
// slot after it was added.
const WindowSlots = 60

// WindowStore keeps sliding-window counters that reserve before use and
// reconcile after it, for limits that must hold in every span of their
// window's length: the token and request limits of AI calls.
// [MemoryWindows] keeps them in memory; package redisstore shares them
// between replicas. Implementations must be safe for concurrent use.
type WindowStore interface {
	// Add adds n, at time now, to the sliding window named key of length
	// window if the window's total stays at or under limit. The Decision
	// reports whether it did (Allowed), what is left under the limit
	// (Remaining), how long until the window holds nothing (Reset) and,
	// when refused, how long until n would fit (RetryAfter; the window's
	// length if n exceeds limit).
	Add(ctx context.Context, key string, n, limit int64, window time.Duration, now time.Time) (Decision, error)
	// Adjust adds delta, which may be negative, to what Add added at time
	// at to the window named key, without checking the limit: it returns
	// an unused reservation, or counts what a call used beyond it. A
	// slot that has left the window is not changed, and no slot goes
	// below zero.
	Adjust(ctx context.Context, key string, delta int64, window time.Duration, at time.Time) error
}

// WindowSlot returns the index of the slot of a window of length window
// that holds t, and the slot's length.
func WindowSlot(t time.Time, window time.Duration) (slot int64, size time.Duration) {
	size = max(window/WindowSlots, 1)
	return t.UnixNano() / int64(size), size
}

// SlotLeaves returns how long after now the slot of a window of length
// window leaves it, and stops counting.
func SlotLeaves(slot int64, window time.Duration, now time.Time) time.Duration {
	_, size := WindowSlot(now, window)
	return max(time.Duration(slot+WindowSlots+1)*size-time.Duration(now.UnixNano()), 0)
}

// MemoryWindows is the in-memory [WindowStore]. Windows that hold nothing
// any more are dropped as new ones are added. It is safe for concurrent
// use.
type MemoryWindows struct {
	mu  sync.Mutex
	m   map[string]*slidingWindow
	ops int
}

// slidingWindow is one window's slots, a ring indexed by slot modulo its
// length.
type slidingWindow struct {
	size time.Duration
	slot [WindowSlots + 1]int64 // the index of the slot each entry holds
	n    [WindowSlots + 1]int64
	last int64 // the newest slot added to
}

// NewMemoryWindows returns an empty store.
func NewMemoryWindows() *MemoryWindows {
	return &MemoryWindows{m: make(map[string]*slidingWindow)}
}

// Len returns the number of windows held.
func (s *MemoryWindows) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.m)
}

// Add implements [WindowStore]. It never returns an error.
func (s *MemoryWindows) Add(_ context.Context, key string, n, limit int64, window time.Duration, now time.Time) (Decision, error) {
	cur, size := WindowSlot(now, window)
	s.mu.Lock()
	defer s.mu.Unlock()
	w := s.m[key]
	if w == nil || w.size != size {
		s.sweep(now)
		w = &slidingWindow{size: size}
		for i := range w.slot {
			w.slot[i] = -1
		}
		s.m[key] = w
	}
	total := w.sum(cur)
	if n > 0 && total+n > limit {
		d := Decision{Remaining: int(max(limit-total, 0)), Reset: w.reset(now, cur)}
		if n > limit {
			d.RetryAfter = window
			return d, nil
		}
		d.RetryAfter = SlotLeaves(w.freeing(cur, total+n-limit), window, now)
		return d, nil
	}
	i := cur % int64(len(w.slot))
	if w.slot[i] != cur {
		w.slot[i], w.n[i] = cur, 0
	}
	w.n[i] = max(w.n[i]+n, 0)
	w.last = max(w.last, cur)
	return Decision{Allowed: true, Remaining: int(max(limit-total-n, 0)), Reset: w.reset(now, cur)}, nil
}

// Adjust implements [WindowStore]. It never returns an error.
func (s *MemoryWindows) Adjust(_ context.Context, key string, delta int64, window time.Duration, at time.Time) error {
	slot, size := WindowSlot(at, window)
	s.mu.Lock()
	defer s.mu.Unlock()
	w := s.m[key]
	if w == nil || w.size != size {
		return nil
	}
	if i := slot % int64(len(w.slot)); w.slot[i] == slot {
		w.n[i] = max(w.n[i]+delta, 0)
	}
	return nil
}

// sum returns the total of the slots in the window ending in slot cur;
// a slot after cur (the clock went back) counts too.
func (w *slidingWindow) sum(cur int64) int64 {
	var total int64
	for i, s := range w.slot {
		if s >= cur-WindowSlots {
			total += w.n[i]
		}
	}
	return total
}

// freeing returns the slot whose leaving the window, with the slots
// before it, takes need off the total of the window ending in slot cur.
func (w *slidingWindow) freeing(cur, need int64) int64 {
	var freed int64
	for s := cur - WindowSlots; s <= cur; s++ {
		if i := s % int64(len(w.slot)); w.slot[i] == s {
			if freed += w.n[i]; freed >= need {
				return s
			}
		}
	}
	return cur
}

// reset returns how long after now the window holds nothing.
func (w *slidingWindow) reset(now time.Time, cur int64) time.Duration {
	newest := int64(-1)
	for i, s := range w.slot {
		if s >= cur-WindowSlots && w.n[i] > 0 {
			newest = max(newest, s)
		}
	}
	if newest < 0 {
		return 0
	}
	return SlotLeaves(newest, WindowSlots*w.size, now)
}

// sweep drops, once every 1024 new windows, those whose slots have all
// left their window, keeping the cost amortised.
func (s *MemoryWindows) sweep(now time.Time) {
	s.ops++
	if s.ops < 1024 {
		return
	}
	s.ops = 0
	for k, w := range s.m {
		if time.Duration(w.last+WindowSlots+1)*w.size <= time.Duration(now.UnixNano()) {
			delete(s.m, k)
		}
	}
}
