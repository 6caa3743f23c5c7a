// Package cache keeps responses and makes retries safe: a shared HTTP
// cache (RFC 9111) and idempotency keys for POST and PATCH. Each
// constructor returns a plain func(http.Handler) http.Handler.
//
// # HTTP cache
//
// [New] stores responses in a [Store] ([Memory] in memory, or the Redis
// store of package redisstore) under keys built from the method, the URL,
// the fields named in Vary and a [Config].Scope such as [ConsumerScope] or
// [TenantScope], which keep one caller's entries from another's;
// [Config].Namespace keeps one cache's entries from another's on a
// shared store. It reports what it did in Cache-Status (RFC 9211).
//
// # Idempotency
//
// [Idempotency] makes retried POST and PATCH requests safe (the
// Idempotency-Key draft): the first request with a key claims it in an
// [IdempotencyStore] ([MemoryIdempotency] in memory), and a retry gets the
// recorded response ([IdempotencyRecord]) instead of running again.
// [ErrIdempotencyClaimLost] and [ErrIdempotencyStoreFull] report what a
// store could not do.
//
// # Order
//
// Behind authentication and rate limits, and behind middleware.Version so
// that entries are keyed on the API version:
//
//	ratelimit.New ─► middleware.Version ─► cache.New ─► cache.Idempotency ─► handler
//
// # Concurrency
//
// The middleware and the in-memory stores are safe for concurrent use.
package cache
