// Package redisstore keeps Portico's shared state in Redis, so that many
// gateway replicas enforce one limit.
//
// It is the only Portico package that links a Redis client: importing
// package middleware alone never does. A [Store] wraps a go-redis client
// the caller configures and owns, and hands out views implementing the
// store interfaces of package middleware:
//
//   - [Store.Rates] is a [middleware.RateStore] running the generic cell
//     rate algorithm (GCRA) in one Lua script against the Redis server's
//     own clock, so clock skew between replicas does not matter.
//   - [Store.Quotas] is a [middleware.QuotaStore] of counters that are
//     checked and incremented atomically and expire at the end of their
//     period.
//   - [Store.Cache] is a [middleware.CacheStore]; bound its memory with
//     Redis' maxmemory-policy allkeys-lru.
//   - [Store.Idempotency] is a [middleware.IdempotencyStore] whose claim is
//     one Lua script, so two replicas never both run a request.
//   - [Store.Documents] is the store of package gateway/platform: JSON
//     documents per kind in hashes tagged "{platform}", a version counter
//     and a pub/sub change feed ([Documents.Watch]).
//
// # Outages
//
// Every method returns an error when Redis cannot be reached; it never
// guesses. What happens then is the middleware's choice, configured by the
// user: [middleware.RateLimitConfig] fails open to a local limiter at the
// per-replica share of the limit, or fails closed with 503.
//
// The client's settings decide how fast an outage is noticed. go-redis
// retries a refused dial five times, 100ms apart, by default; for a rate
// limiter, fail fast instead:
//
//	client := redis.NewClient(&redis.Options{
//		Addr:          "redis:6379",
//		MaxRetries:    -1, // a limiter decision is not worth a retry
//		DialerRetries: 1,
//		DialTimeout:   200 * time.Millisecond,
//		ReadTimeout:   200 * time.Millisecond,
//		WriteTimeout:  200 * time.Millisecond,
//	})
//
// # Keys
//
// Keys are prefixed with "portico:" (see [WithPrefix]) followed by the kind
// of state ("rate:", "quota:", "cache:", "idem:") and the key the middleware chose.
//
// All types are safe for concurrent use.
package redisstore
