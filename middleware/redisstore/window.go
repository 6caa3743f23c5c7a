package redisstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/portico-dev/portico/middleware/ratelimit"
)

// Windows returns the [ratelimit.WindowStore] shared by the replicas
// using this Redis.
func (s *Store) Windows() *Windows { return &Windows{s: s} }

// Windows is a [ratelimit.WindowStore] of sliding windows kept as one
// hash per window, a field per slot (see [ratelimit.WindowSlots]),
// checked and added to atomically in one Lua script, so replicas sharing
// one Redis never admit more than the limit between them in any span of
// the window's length. Slots are numbered by the caller's clock, so
// replicas' clocks should agree to well within one slot (a second for a
// one-minute window); the hash expires one slot after its last slot left
// the window.
type Windows struct{ s *Store }

// key returns the Redis key of the window named name.
func (w *Windows) key(name string) string { return w.s.prefix + "window:" + name }

// windowAdd drops the slots that left the window, sums the others (a
// slot ahead of the caller's clock, from a replica whose clock is ahead,
// counts too) and
// adds n to the current slot if the sum stays at or under the limit. It
// returns {allowed, total, the slot whose leaving frees enough (refused)
// or -1, the newest slot holding units or -1}.
var windowAdd = redis.NewScript(`
local cur = tonumber(ARGV[1])
local slots = tonumber(ARGV[2])
local n = tonumber(ARGV[3])
local limit = tonumber(ARGV[4])
local vals = redis.call('HGETALL', KEYS[1])
local total, live, newest = 0, {}, -1
for i = 1, #vals, 2 do
  local s, v = tonumber(vals[i]), tonumber(vals[i + 1])
  if s < cur - slots then
    redis.call('HDEL', KEYS[1], vals[i])
  else
    total = total + v
    live[#live + 1] = {s, v}
    if v > 0 and s > newest then newest = s end
  end
end
if n > 0 and total + n > limit then
  table.sort(live, function(a, b) return a[1] < b[1] end)
  local need, freed, at = total + n - limit, 0, cur
  for _, e in ipairs(live) do
    freed = freed + e[2]
    if freed >= need then at = e[1]; break end
  end
  return {0, total, at, newest}
end
local v = redis.call('HINCRBY', KEYS[1], ARGV[1], n)
if v < 0 then redis.call('HSET', KEYS[1], ARGV[1], 0) end
redis.call('PEXPIRE', KEYS[1], ARGV[5])
if cur > newest then newest = cur end
return {1, total + n, -1, newest}
`)

// windowAdjust adds a delta to a slot that is still held, never below zero.
var windowAdjust = redis.NewScript(`
local v = redis.call('HGET', KEYS[1], ARGV[1])
if not v then return 0 end
local n = tonumber(v) + tonumber(ARGV[2])
if n < 0 then n = 0 end
redis.call('HSET', KEYS[1], ARGV[1], n)
return 1
`)

// Add implements [ratelimit.WindowStore].
func (w *Windows) Add(ctx context.Context, key string, n, limit int64, window time.Duration, now time.Time) (ratelimit.Decision, error) {
	cur, size := ratelimit.WindowSlot(now, window)
	ttl := (window + 2*size).Milliseconds() + 1
	var res []int64
	err := w.s.do(ctx, func(ctx context.Context) (err error) {
		res, err = windowAdd.Run(ctx, w.s.client, []string{w.key(key)},
			cur, ratelimit.WindowSlots, n, limit, ttl).Int64Slice()
		return err
	})
	if err != nil {
		return ratelimit.Decision{}, fmt.Errorf("portico/redisstore: window: %w", err)
	}
	if len(res) != 4 {
		return ratelimit.Decision{}, errors.New("portico/redisstore: window: unexpected script reply")
	}
	d := ratelimit.Decision{Allowed: res[0] == 1, Remaining: int(max(limit-res[1], 0))}
	if res[3] >= 0 {
		d.Reset = ratelimit.SlotLeaves(res[3], window, now)
	}
	if !d.Allowed {
		d.RetryAfter = ratelimit.SlotLeaves(res[2], window, now)
		if n > limit {
			d.RetryAfter = window
		}
	}
	return d, nil
}

// Adjust implements [ratelimit.WindowStore].
func (w *Windows) Adjust(ctx context.Context, key string, delta int64, window time.Duration, at time.Time) error {
	slot, _ := ratelimit.WindowSlot(at, window)
	err := w.s.do(ctx, func(ctx context.Context) error {
		return windowAdjust.Run(ctx, w.s.client, []string{w.key(key)}, slot, delta).Err()
	})
	if err != nil {
		return fmt.Errorf("portico/redisstore: window: %w", err)
	}
	return nil
}
