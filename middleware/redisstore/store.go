package redisstore

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/portico-dev/portico/middleware/ratelimit"
)

// Store is the Redis backend of Portico's shared state. It is safe for
// concurrent use; its methods return views implementing the store
// interfaces of package middleware. All views of one Store share its
// timeout and its circuit breaker, so once Redis is known to be down,
// every one of them skips it at once.
type Store struct {
	client  redis.UniversalClient
	owned   bool // made by Open: Close closes it
	prefix  string
	timeout time.Duration
	guard   *guard
}

// New returns a store over client, which the caller owns and closes. It
// panics if client is nil.
//
// Every call runs under the store's timeout ([WithTimeout]) and through
// its circuit breaker ([WithBreaker]), but the client's own settings still
// decide how it retries and whether the store's timeout bounds socket
// reads: configure it as [Open] does (MaxRetries -1, DialerRetries 1,
// timeouts no longer than the store's, ContextTimeoutEnabled), or call
// Open.
func New(client redis.UniversalClient, opts ...Option) *Store {
	if client == nil {
		panic("portico/redisstore: New needs a client")
	}
	c := newConfig(opts)
	if c.tracer != nil {
		if o, ok := client.(interface{ Options() *redis.Options }); ok {
			client.AddHook(newTracingHook(c.tracer, o.Options().Addr, o.Options().DB))
		} else {
			client.AddHook(newTracingHook(c.tracer, "", 0))
		}
	}
	return &Store{client: client, prefix: c.prefix, timeout: c.timeout, guard: newGuard(c)}
}

// Open returns a store over a new client to the Redis that o describes,
// set up to fail fast: one attempt per command and one dial per
// connection (MaxRetries -1, DialerRetries 1), dial, read, write and pool
// timeouts no longer than the store's timeout, and context deadlines
// honoured (ContextTimeoutEnabled). Other fields of o, such as the address,
// credentials, TLS and pool size, are used as they are; o is not modified.
// The store owns the client: [Store.Close] closes it. Like
// redis.NewClient, Open does not connect: the first command does. It
// panics if o is nil.
func Open(o *redis.Options, opts ...Option) *Store {
	if o == nil {
		panic("portico/redisstore: Open needs options with at least an Addr")
	}
	c := newConfig(opts)
	client := redis.NewClient(failFast(o, c.timeout))
	client.AddHook(newTracingHook(c.tracer, o.Addr, o.DB))
	return &Store{client: client, owned: true, prefix: c.prefix, timeout: c.timeout, guard: newGuard(c)}
}

// failFast returns a copy of o that makes one bounded attempt per command.
func failFast(o *redis.Options, timeout time.Duration) *redis.Options {
	cp := *o
	cp.MaxRetries = -1
	cp.DialerRetries = 1
	bound := func(d time.Duration) time.Duration {
		if d <= 0 || d > timeout {
			return timeout
		}
		return d
	}
	cp.DialTimeout = bound(cp.DialTimeout)
	cp.ReadTimeout = bound(cp.ReadTimeout)
	cp.WriteTimeout = bound(cp.WriteTimeout)
	cp.PoolTimeout = bound(cp.PoolTimeout)
	cp.ContextTimeoutEnabled = true
	return &cp
}

// Client returns the store's go-redis client, for commands of the
// caller's own (which do not go through the store's breaker) and for
// hooks.
func (s *Store) Client() redis.UniversalClient { return s.client }

// Close stops the store's metrics and, for a store made by [Open], closes
// its client. A store made by [New] leaves its client to the caller.
func (s *Store) Close() error {
	err := s.guard.close()
	if s.owned {
		err = errors.Join(err, s.client.Close())
	}
	return err
}

// Rates returns the shared [ratelimit.RateStore].
func (s *Store) Rates() *Rates { return &Rates{s: s} }

// Quotas returns the shared [ratelimit.QuotaStore].
func (s *Store) Quotas() *Quotas { return &Quotas{s: s} }

// Rates is a [ratelimit.RateStore] implementing the generic cell rate
// algorithm (GCRA) in one Lua script. The script reads the clock of the
// Redis server, so clock skew between gateway replicas does not matter.
type Rates struct{ s *Store }

// gcra keeps, per key, the theoretical arrival time (TAT) in microseconds
// of server time. A request of cost c is allowed when TAT + c·T − τ ≤ now,
// where T is the emission interval and τ = T·burst the tolerance.
var gcra = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1])) or now
if tat < now then tat = now end
local new_tat = tat + interval * cost
local allow_at = new_tat - tolerance
if allow_at > now then
  local remaining = math.max(0, math.floor((tolerance - (tat - now)) / interval))
  return {0, remaining, math.ceil(tat - now), math.ceil(allow_at - now)}
end
redis.call('SET', KEYS[1], string.format('%.0f', new_tat), 'PX', string.format('%d', math.ceil((new_tat - now) / 1000) + 1))
local remaining = math.max(0, math.floor((tolerance - (new_tat - now)) / interval))
return {1, remaining, math.ceil(new_tat - now), 0}
`)

// Take implements [ratelimit.RateStore].
func (r *Rates) Take(ctx context.Context, key string, l ratelimit.Limit, cost int) (ratelimit.Decision, error) {
	l = l.Normalize()
	interval := float64(l.Period.Microseconds()) / float64(l.Requests)
	var res []int64
	err := r.s.do(ctx, func(ctx context.Context) (err error) {
		res, err = gcra.Run(ctx, r.s.client, []string{r.s.prefix + "rate:" + key},
			interval, interval*float64(l.Burst), cost).Int64Slice()
		return err
	})
	if err != nil {
		return ratelimit.Decision{}, fmt.Errorf("portico/redisstore: rate limit: %w", err)
	}
	if len(res) != 4 {
		return ratelimit.Decision{}, errors.New("portico/redisstore: rate limit: unexpected script reply")
	}
	d := ratelimit.Decision{
		Allowed:   res[0] == 1,
		Remaining: int(res[1]),
		Reset:     time.Duration(res[2]) * time.Microsecond,
	}
	if !d.Allowed {
		d.RetryAfter = time.Duration(res[3]) * time.Microsecond
		if cost > l.Burst {
			d.RetryAfter = l.Period
		}
	}
	return d, nil
}

// Quotas is a [ratelimit.QuotaStore] of counters that expire at a fixed
// time, checked and incremented atomically in one Lua script.
type Quotas struct{ s *Store }

var quotaAdd = redis.NewScript(`
local n = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local cur = tonumber(redis.call('GET', KEYS[1])) or 0
if n > 0 and cur + n > limit then return {0, cur} end
local v = redis.call('INCRBY', KEYS[1], ARGV[1])
redis.call('PEXPIREAT', KEYS[1], ARGV[3])
return {1, v}
`)

// Add implements [ratelimit.QuotaStore].
func (q *Quotas) Add(ctx context.Context, key string, n, limit int64, expires time.Time) (int64, bool, error) {
	if limit > math.MaxInt64/2 {
		limit = math.MaxInt64 / 2
	}
	var res []int64
	err := q.s.do(ctx, func(ctx context.Context) (err error) {
		res, err = quotaAdd.Run(ctx, q.s.client, []string{q.s.prefix + "quota:" + key}, n, limit, expires.UnixMilli()).Int64Slice()
		return err
	})
	if err != nil {
		return 0, false, fmt.Errorf("portico/redisstore: quota: %w", err)
	}
	if len(res) != 2 {
		return 0, false, errors.New("portico/redisstore: quota: unexpected script reply")
	}
	return res[1], res[0] == 1, nil
}
