// Package ratelimit limits how often and how much a caller may use an
// HTTP service: token-bucket rate limits, quotas per day or month, and
// sliding windows for limits that must hold in every span of their window.
// Each middleware constructor returns a plain func(http.Handler)
// http.Handler:
//
//	ratelimit.New(ratelimit.Config{Limit: ratelimit.PerMinute(60), Key: ratelimit.ByConsumer})
//
// # Keys
//
// A [KeyFunc] names the bucket or counter of a request: [ByConsumer],
// [ByTenant], [ByAPIKey], [ByIP], [ByHeader], [ByRoute] (one bucket per
// route template) or [Shared] (one bucket for every request the
// middleware sees); [FirstOf] takes the first that is not empty. A request
// whose key is "" is not limited.
//
// # Rate limits and quotas
//
// [New] takes tokens from a bucket in a [RateStore] ([MemoryRates] in
// memory, or the Redis store of package redisstore, failing open to a
// per-replica share or closed with 503). [Quota] counts requests per
// [Period] (a [Day] or a [Month]) in a [QuotaStore] ([MemoryCounters]).
// Both answer 429 problem documents with Retry-After and the IETF
// RateLimit headers, and both read the [middleware.Consumer]'s plan for
// per-plan limits.
//
// # Sliding windows
//
// A [WindowStore] ([MemoryWindows] in memory, or the Redis store) keeps
// sliding windows of [WindowSlots] slots, with reservations made before use
// and reconciled after it: the token and request limits of the AI
// endpoints count in one.
//
// # Stores
//
// A store that knows its backend is down answers at once with an error
// wrapping [middleware.ErrStoreUnavailable]: the middleware falls back as
// for any store error, without logging it per request.
//
// # Concurrency
//
// The middleware and the in-memory stores are safe for concurrent use.
package ratelimit
