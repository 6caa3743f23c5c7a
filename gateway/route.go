package gateway

import (
	"net/http"
	"time"
)

// Route says which requests go where and what happens to them on the way.
//
// A request matches a route when every matcher that is set accepts it:
// Hosts, Methods, Path or Prefix, and Headers. The zero value of a matcher
// accepts everything, except that a route needs Path or Prefix.
//
// The same type is built in Go and decoded from the config file; the yaml
// tags are the config keys.
type Route struct {
	// Name identifies the route in errors, metrics and /routes.
	// If empty, "<methods> <path>" is used.
	Name string `yaml:"name"`
	// Priority orders overlapping routes: a route with a higher priority is
	// tried first. Among routes of equal priority the most specific path
	// wins (a static segment before a {param}, a {param} before a
	// catch-all), then the route defined first. The default is 0.
	Priority int `yaml:"priority"`
	// Hosts lists the hosts the route answers, matched against the request
	// Host without its port and ignoring case: "api.example.com" exactly, or
	// "*.example.com" for any subdomain of example.com (not example.com
	// itself). If empty, every host matches.
	Hosts []string `yaml:"hosts"`
	// Methods lists the methods the route answers, such as GET or POST.
	// If empty, every method matches. A request whose path matches a route
	// but whose method does not is answered 405 with an Allow header.
	Methods []string `yaml:"methods"`
	// Path is a chi pattern matched against the whole request path:
	// "/users" exactly, "/users/{id}" with a parameter, "/files/*" with a
	// catch-all. Set Path or Prefix, not both.
	Path string `yaml:"path"`
	// Prefix matches the path Prefix itself and everything under it:
	// "/api" matches "/api", "/api/" and "/api/users/7" but not "/apis".
	Prefix string `yaml:"prefix"`
	// Headers lists request headers that must be present with the given
	// value (any of the header's values may match). The value "*" only
	// requires the header to be present.
	Headers map[string]string `yaml:"headers"`

	// Upstream names the pool requests are sent to. Set Upstream or Split.
	Upstream string `yaml:"upstream"`
	// Split sends a weighted share of requests to each backend, for canary
	// and blue-green releases.
	Split []Backend `yaml:"split"`
	// Pin lets a client choose, or keep, its side of a Split.
	Pin *Pin `yaml:"pin"`
	// Versions sends each API version to its own upstream or path; it
	// replaces Upstream and Split.
	Versions *Versions `yaml:"versions"`
	// Compose answers with one JSON object merged from several upstream
	// calls made in parallel; it replaces Upstream and Split.
	Compose *Compose `yaml:"compose"`
	// Mirror copies requests to a shadow pool without waiting for it.
	Mirror *Mirror `yaml:"mirror"`

	// StripPrefix removes this prefix from the path sent upstream, so
	// "/api/users" becomes "/users" with StripPrefix "/api".
	StripPrefix string `yaml:"strip_prefix"`
	// AddPrefix is put in front of the path sent upstream, after
	// StripPrefix is applied; the two together replace a prefix.
	AddPrefix string `yaml:"add_prefix"`
	// Rewrite replaces the upstream path with a template filled from the
	// route's path parameters: "/v2/users/{id}", or "{*}" for the
	// catch-all. It excludes StripPrefix and AddPrefix.
	Rewrite string `yaml:"rewrite"`
	// Host overrides the Host header sent upstream. If empty, the host of
	// the upstream instance is used.
	Host string `yaml:"host"`
	// RequestHeaders changes the headers sent upstream.
	RequestHeaders HeaderEdits `yaml:"request_headers"`
	// ResponseHeaders changes the headers sent back to the client.
	ResponseHeaders HeaderEdits `yaml:"response_headers"`

	// Policy is what the route asks for on its way upstream: timeouts,
	// retries, a circuit breaker, a bulkhead, body limits and middleware.
	Policy Policy `yaml:"policy"`

	// Serve, if set, answers the route's requests in place of the reverse
	// proxy, for protocols the proxy does not speak as such (gRPC, or
	// REST translated to gRPC). It is called once per backend with the
	// backend's upstream transport: the route's policies (timeout, retry,
	// breaker, bulkhead) around the pool. The handler runs after the
	// route's stages and middleware, and receives each request as the
	// proxy would send it: path rewritten (StripPrefix, AddPrefix,
	// Rewrite), Host and request header rules applied, forwarding headers
	// set, the consumed credential removed, and the URL's scheme and host
	// naming the upstream, which is where the transport sends requests
	// that keep them. Serve excludes Versions and Compose.
	Serve func(upstream http.RoundTripper) http.Handler `yaml:"-"`

	// validate is the OpenAPI validation of a route built from an OpenAPI
	// document (config.API).
	validate func(http.Handler) http.Handler
}

// Backend is one side of a traffic split.
type Backend struct {
	// Upstream names the pool.
	Upstream string `yaml:"upstream"`
	// Weight is the backend's share of the traffic, relative to the sum of
	// the weights. A weight of 0 takes only pinned requests.
	Weight int `yaml:"weight"`
}

// Pin lets a request choose its side of a split by naming the backend's
// upstream in a header or cookie. With Cookie set, a client that was not
// pinned receives a cookie naming the side it was sent to, so it stays
// there on its next requests.
type Pin struct {
	// Header is a request header whose value names a backend.
	Header string `yaml:"header"`
	// Cookie is a cookie whose value names a backend.
	Cookie string `yaml:"cookie"`
	// MaxAge is the lifetime of the cookie the gateway sets.
	// If zero, the cookie lasts for the browser session.
	MaxAge time.Duration `yaml:"max_age"`
}

// Mirror copies requests to a shadow pool. Copies are sent after the
// primary request starts, with their own timeout, and their responses are
// discarded: a slow or failing shadow never changes or delays the primary
// response. When MaxConcurrent copies are already in flight, further copies
// are dropped rather than queued.
type Mirror struct {
	// Upstream names the shadow pool.
	Upstream string `yaml:"upstream"`
	// Percent is the share of requests copied, from 0 to 100.
	// If zero, every request is copied.
	Percent float64 `yaml:"percent"`
	// MaxConcurrent bounds the copies in flight. If zero, 64.
	MaxConcurrent int `yaml:"max_concurrent"`
	// Timeout bounds each copy. If zero, 10s.
	Timeout time.Duration `yaml:"timeout"`
	// MaxBodyBytes is the largest request body copied; requests with a
	// larger body, or a body of unknown length, are not mirrored, so the
	// primary request is never buffered beyond this. If zero, 64 KiB.
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
}

// HeaderEdits changes a set of headers, in the order Remove, Set, Add.
type HeaderEdits struct {
	// Set replaces a header's values with one value.
	Set map[string]string `yaml:"set"`
	// Add appends a value to a header.
	Add map[string]string `yaml:"add"`
	// Remove deletes headers.
	Remove []string `yaml:"remove"`
}

// Policy describes what a route asks for on the way to its upstream. It
// is one vocabulary shared by the builder, the config file and OpenAPI
// x-portico-* extensions (see config.API); a zero Policy asks for nothing.
//
// A request passes the route's stages in this order, the first being the
// outermost, and /routes lists them so:
//
//	lifecycle ─► auth ─► authorize ─► subscription ─► identity ─► rate_limit
//	  ─► quota ─► validate ─► version ─► cache ─► idempotency ─► transform
//	  ─► Middleware ─► timeout ─► retry | hedge ─► breaker ─► bulkhead ─► proxy
//
// identity (see [Identity]) runs on every route, with or without Auth.
type Policy struct {
	// Timeout bounds the whole upstream exchange, retries included, until
	// the response headers arrive. A request that runs out of time is
	// answered 504. If zero, there is no timeout beyond the client's.
	Timeout time.Duration `yaml:"timeout"`
	// Retry retries failed attempts on another instance.
	Retry *Retry `yaml:"retry"`
	// Hedge sends a slow idempotent request again to another instance,
	// and takes the first good answer.
	Hedge *Hedge `yaml:"hedge"`
	// Breaker stops sending requests to a failing upstream for a while.
	Breaker *Breaker `yaml:"breaker"`
	// Bulkhead bounds the requests in flight to the upstream.
	Bulkhead *Bulkhead `yaml:"bulkhead"`
	// MaxBodyBytes bounds the request body; a larger body is answered 413.
	// If zero, the body is not limited by the gateway.
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
	// Middleware names middleware registered with [WithMiddleware], applied
	// to the route in order: the first is the outermost. They run after
	// the built-in stages below, just before the upstream policies.
	Middleware []string `yaml:"middleware"`

	// Auth authenticates callers and checks their scopes. If nil, the
	// route is open to anonymous callers.
	Auth *Auth `yaml:"auth"`
	// RateLimit limits the request rate per caller.
	RateLimit *RateLimit `yaml:"rate_limit"`
	// Quota caps the requests per caller per day or month.
	Quota *Quota `yaml:"quota"`
	// Cache stores responses.
	Cache *Cache `yaml:"cache"`
	// Idempotency makes retried POST and PATCH requests safe.
	Idempotency *Idempotency `yaml:"idempotency"`
	// Transform reshapes headers and JSON bodies.
	Transform *Transform `yaml:"transform"`
	// Lifecycle announces deprecation and retirement.
	Lifecycle *Lifecycle `yaml:"lifecycle"`
	// Subscription is the ID of the platform API the route belongs to:
	// callers need an active subscription to it (see config.WithPlatform). It
	// is checked right after Auth, which it requires, and before caching.
	Subscription string `yaml:"subscription"`
}

// Retry retries an attempt that failed to connect, was reset, timed out or
// was answered with one of the retryable statuses, on another instance
// when the pool has one. Requests with an idempotent method (GET, HEAD,
// OPTIONS, PUT, DELETE, TRACE) or an Idempotency-Key header are retried;
// others only when their connection could not even be made, so they never
// reached the upstream. Bodies up to 1 MiB are replayed; a larger body is
// sent once. Retries are capped at a fifth of the requests (at least 10
// per 10 seconds), so an outage cannot multiply the load.
type Retry struct {
	// Attempts is the total number of attempts, the first included.
	// It must be at least 2.
	Attempts int `yaml:"attempts"`
	// PerTry bounds each attempt until its response headers arrive, so a
	// slow instance is abandoned for another. If zero, attempts are bounded
	// only by the route's Timeout.
	PerTry time.Duration `yaml:"per_try"`
	// Backoff is the delay before the first retry, doubled for each one and
	// jittered. If zero, 100ms ([resilience.DefaultRetryBaseDelay]).
	Backoff time.Duration `yaml:"backoff"`
	// MaxBackoff caps the delay; a Retry-After longer than it is not waited
	// for. If zero, 10s ([resilience.DefaultRetryMaxDelay]).
	MaxBackoff time.Duration `yaml:"max_backoff"`
	// Statuses lists the response statuses that are retried.
	// If empty, 502, 503 and 504.
	Statuses []int `yaml:"statuses"`
}

// Breaker opens after too many consecutive failures and answers 503 with
// Retry-After until Delay has passed, then lets trial requests through.
// With a gateway/upstream pool there is one breaker per instance: the pool
// picks an instance whose breaker admits the request, so one bad instance
// never opens the circuit for the others (when every breaker is open, the
// route answers 503).
type Breaker struct {
	// Failures is the number of consecutive failures that opens the breaker.
	// If zero, 5 ([resilience.DefaultBreakerFailures]).
	Failures int `yaml:"failures"`
	// Delay is how long the breaker stays open. If zero, 30s
	// ([resilience.DefaultBreakerOpenFor]).
	Delay time.Duration `yaml:"delay"`
	// Successes is the number of trial successes that closes it again.
	// If zero, 1 ([resilience.DefaultBreakerProbes]).
	Successes int `yaml:"successes"`
}

// Bulkhead bounds the requests in flight to a route's upstream; requests
// beyond the bound wait up to MaxWait and are then answered 503.
type Bulkhead struct {
	// MaxConcurrent is the bound. It must be at least 1.
	MaxConcurrent int `yaml:"max_concurrent"`
	// MaxWait is how long a request waits for a slot. If zero, it does not wait.
	MaxWait time.Duration `yaml:"max_wait"`
}
