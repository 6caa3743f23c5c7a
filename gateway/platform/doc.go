// Package platform makes a gateway shareable across an organisation:
// tenants (teams) with their consumers and API keys, APIs published with a
// visibility, an approval mode and a lifecycle, subscriptions that an
// administrator approves before a single call goes through, an admin API
// with an audit log, an API catalog and a call analytics dashboard.
//
// # Model
//
// A [Tenant] owns consumers ([ConsumerRecord]: a middleware.Consumer with
// its ID, plan, scopes, roles and metadata, which is what authentication
// puts in the request context), each with API keys ([Key]; only
// the SHA-256 hash of a secret is stored, the secret is shown once). An
// [API] belongs to a tenant and is [Public] or [TenantOnly], with [Auto] or
// [Manual] approval, and moves through [Draft], [Published], [Deprecated]
// and [Retired]. A [Subscription] lets one consumer call one API while it
// is [Active]; the transitions are request, approve, reject, suspend,
// resume and revoke ([Platform.Transition]).
//
// # Request path
//
// [Platform.Identities] gives the middleware API key authenticator its
// keys and consumers; [Platform.Guard] lets a request reach an API's
// routes only with an active subscription, answering 403 problems that say
// how to subscribe or that the subscription awaits approval, 404 for
// drafts and other tenants' tenant-only APIs, Deprecation and Sunset
// headers for deprecated APIs and 410 for retired ones; [Platform.Portal]
// lets consumers serve themselves: browse the APIs they may see, request
// subscriptions and follow their state, create and revoke their own keys
// and read their usage and the quota they have left ([WithQuotaLeft]), as
// JSON for programs and as pages for people, who sign in with one of
// their API keys:
//
//	id := p.Identities()
//	auth := auth.New(auth.Config{Authenticators: []auth.Authenticator{
//		auth.NewAPIKeyAuth(auth.APIKeyConfig{Keys: id, Consumers: id}),
//	}})
//	mux.Handle("/orders/", auth(p.Guard("orders")(ordersProxy)))
//	mux.Handle("/subscriptions", auth(p.Portal()))
//	mux.Handle("/subscriptions/", auth(p.Portal()))
//
// Both read state cached in memory and reloaded when the [Store]'s version
// counter moves, so a change made on any replica is effective on the next
// request on every replica. Reading the version costs an atomic load with
// the file store and one GET with Redis; for a check that stays well under
// a microsecond on a cluster, set [WithRefresh] and run [Platform.Run],
// which follows the store's change feed ([Watcher]) and drops the cache
// within milliseconds of a change, the interval bounding staleness should
// a notification be lost.
// [TenantScope] and [ConsumerScope] key caches, quotas and idempotency
// records per tenant, so one tenant never reads or spends another's.
//
// # Stores
//
// A [Store] holds JSON documents by kind and ID, and a version counter.
// [OpenFile] is the embedded default, a bbolt file that survives restarts;
// [NewMemoryStore] keeps nothing; redisstore.Store.Documents, in package
// middleware/redisstore, shares the state between replicas through Redis.
// While the store is unreachable, the last state loaded keeps serving
// (unless [WithFailClosed]); errors wrapping middleware.ErrStoreUnavailable,
// from a store that already reported its outage, are not logged again.
//
// # Admin listener
//
// [Platform.Admin] serves the admin API (JSON, described by an OpenAPI
// document, [Spec]) for tenants, consumers, keys, APIs, subscriptions, the
// audit log, call records and statistics; the catalog page; and the
// dashboard page, whose charts are drawn by uPlot, embedded in this package
// with its licence, so the pages work offline. Every request needs an
// admin credential ([WithAdminToken], [WithAdminAuth]) and every change is
// written to the audit log with who made it and when ([Platform.Audit]).
//
// # Console
//
// People open the admin handler's root: a landing page with counts, the
// subscriptions waiting for approval (approved or rejected with a button)
// and links to the dashboard, the catalog and the docs. A browser without
// a session is sent to the sign-in form at /login, which takes the admin
// token and sets an HttpOnly, SameSite=Strict session cookie; a program
// that starts a gateway may print a one-time link instead
// ([Platform.LoginLink]). Scripts keep sending the token as a bearer token
// or Basic password. Every change made with the session cookie carries the
// session's CSRF token, and changes from other origins are refused. Links,
// 404s and the admin API document name the real paths wherever the handler
// is mounted.
//
// The dashboard picks a range from 15 minutes to 24 hours (within the
// aggregator's retention), fits the time axis to it, reloads itself, writes
// latencies in milliseconds, rates in requests per second, tokens and cost
// ([WithCurrency]) as people read them, and drills down from tenants to a
// tenant's consumers, a consumer's APIs and an API's routes, with the
// latest errors at each level and the calls no consumer or API claims in a
// row of their own. [WithUpstreamHealth] adds the health of the upstream
// pools.
//
// # Concurrency
//
// A [Platform] and the handlers and middleware it returns are safe for
// concurrent use, as are [FileStore] and [MemoryStore].
package platform
