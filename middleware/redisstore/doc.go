// Package redisstore keeps Portico's shared state in Redis, so that many
// gateway replicas enforce one limit.
//
// It is the only Portico package that links a Redis client: importing
// package middleware alone never does. [Open] makes a [Store] with a
// go-redis client of its own, set up to fail fast; [New] wraps a client
// the caller configures and owns. A Store hands out views implementing
// the store interfaces of package middleware:
//
//   - [Store.Rates] is a [ratelimit.RateStore] running the generic cell
//     rate algorithm (GCRA) in one Lua script against the Redis server's
//     own clock, so clock skew between replicas does not matter.
//   - [Store.Quotas] is a [ratelimit.QuotaStore] of counters that are
//     checked and incremented atomically and expire at the end of their
//     period.
//   - [Store.Windows] is a [ratelimit.WindowStore] of sliding windows
//     (the token and request limits of AI calls), one hash of slots per
//     window, checked and added to atomically in one Lua script.
//   - [Store.Cache] is a [cache.Store]; bound its memory with
//     Redis' maxmemory-policy allkeys-lru.
//   - [Store.Idempotency] is a [cache.IdempotencyStore] whose claim is
//     one Lua script, so two replicas never both run a request.
//   - [Store.AICache] and [Store.AIIndex] are the answers and the
//     embeddings of the AI response cache (package aiclient/aicache):
//     replicas share exact and semantic hits, each tenant in its own
//     partitions; a semantic lookup reads a bounded number of embeddings
//     and compares them in the caller, as Redis has no vector search here.
//   - [Store.Documents] is the store of package gateway/platform: JSON
//     documents per kind in hashes tagged "{platform}", a version counter
//     and a pub/sub change feed ([Documents.Watch]).
//
// # Outages
//
// A Redis outage costs a request at most the store timeout, and only
// while nobody knows Redis is down. Every call of every view runs under
// the store's timeout ([WithTimeout], 200ms by default) and through one
// circuit breaker per Store ([WithBreaker]):
//
//   - closed: calls go to Redis. A refused connection opens the breaker at
//     once, and so does, by default, a timeout or a broken connection. A
//     reply, even an error reply such as a missing key, is a success.
//   - open: no call goes to Redis. Each fails at once with an error
//     wrapping [middleware.ErrStoreUnavailable], and the middleware falls
//     back (or fails closed) without waiting. The store logs the outage
//     once ([WithLogger]); the middleware does not log such errors.
//   - half-open: after a second ([WithBreaker]'s openFor), one call probes
//     Redis while the others are still skipped. Success closes the
//     breaker and Redis is used again; failure opens it for another
//     second.
//
// So that all views share what one learns, make one Store per Redis and
// take every view from it. [Store.Status] and the instruments of
// [WithMeterProvider] show the breaker's state and the calls by outcome;
// the spans of [WithTracerProvider] (one client span per command, under
// the request's span) show which Redis calls a request made and how long
// each took.
//
// What happens while Redis is down is the middleware's choice, configured
// by the user: [ratelimit.Config] fails open to a local limiter
// at the per-replica share of the limit, or fails closed with 503;
// quotas let requests through uncounted or answer 503; caches miss;
// idempotency keys answer 503 unless they fail open.
//
// The client's own settings decide how each call is attempted. By
// default go-redis retries a command 3 times and a refused dial 5 times,
// 100ms apart; [Open] sets one attempt of each, timeouts no longer than
// the store's, and ContextTimeoutEnabled. A client passed to [New] should
// be set up the same way:
//
//	client := redis.NewClient(&redis.Options{
//		Addr:                  "redis:6379",
//		MaxRetries:            -1, // a limiter decision is not worth a retry
//		DialerRetries:         1,
//		DialTimeout:           200 * time.Millisecond,
//		ReadTimeout:           200 * time.Millisecond,
//		WriteTimeout:          200 * time.Millisecond,
//		PoolTimeout:           200 * time.Millisecond,
//		ContextTimeoutEnabled: true, // the store's timeout bounds socket reads
//	})
//
// # Keys
//
// Keys are prefixed with "portico:" (see [WithPrefix]) followed by the kind
// of state ("rate:", "quota:", "cache:", "idem:") and the key the middleware chose.
//
// All types are safe for concurrent use.
package redisstore
