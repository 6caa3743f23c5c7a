// Package aicache answers LLM calls from the answers to earlier ones: a
// [Cache] is an [aiclient.Provider] wrapping another, so it sits in front of
// one adapter, one candidate of an alias, or a whole [aiclient.Client].
//
// # Exact matches
//
// A request's [Key] is a SHA-256 over its JSON with the keys of every
// object sorted (tool schemas and extra members included) and without the
// members that do not change the answer (user, metadata); a stream and a
// whole call of one request share it. Entries live for the TTL of
// [WithTTL] in a [Store]: a [Memory] by default, or the redisstore
// package's AICache for replicas that share answers.
//
// # Scopes, skipping and hits
//
// A [Call] in the call's context ([WithCall]) carries the scope (the
// gateway sets the caller's tenant, so tenants never share answers) and
// whether to skip the lookup (Cache-Control: no-cache); the cache sets its
// Hit and Semantic fields. A hit answers with zero usage, so budgets count
// nothing for it; a stream hit is replayed as events ([Replay]), which the
// gateway writes as SSE in its caller's wire format. Only complete answers
// are stored.
//
// # Semantic matches
//
// [WithSemantic] also answers a request from the stored answer of a
// similar one: the same settings and tools, and a conversation whose
// embedding, from a configured embedding model, is at least as similar as
// a threshold (cosine). The embeddings are kept in an [Index], by
// partition (the scope and the settings), so a lookup compares only the
// requests it could match, and at most the index's bound of them: a
// [MemoryIndex] by default, or the redisstore package's AIIndex for
// replicas that share semantic hits ([WithIndex]). A miss embeds the
// request once, for the lookup and the store.
// Embeddings are only as good as the model: the package's tests measure
// the decisions on a committed set with vectors the test controls, not
// real-world hit rates.
//
// A Cache and a Memory are safe for concurrent use.
package aicache
