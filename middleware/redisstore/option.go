package redisstore

import (
	"log/slog"
	"time"

	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
)

// Option configures a [Store].
type Option interface{ apply(*config) }

type config struct {
	prefix   string
	timeout  time.Duration
	failures int
	openFor  time.Duration
	logger   *slog.Logger
	meter    metric.MeterProvider
	tracer   trace.TracerProvider
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

const (
	defaultTimeout  = 200 * time.Millisecond
	defaultFailures = 1
	defaultOpenFor  = time.Second
)

func newConfig(opts []Option) config {
	c := config{prefix: "portico:"}
	for _, o := range opts {
		if o != nil {
			o.apply(&c)
		}
	}
	if c.timeout <= 0 {
		c.timeout = defaultTimeout
	}
	if c.failures <= 0 {
		c.failures = defaultFailures
	}
	if c.openFor <= 0 {
		c.openFor = defaultOpenFor
	}
	return c
}

// WithPrefix sets the prefix of every key the store writes, so that several
// gateways (or other applications) can share one Redis. By default,
// "portico:" is used.
func WithPrefix(p string) Option { return optionFunc(func(c *config) { c.prefix = p }) }

// WithTimeout bounds each call to Redis: a rate-limit decision, a quota
// count, a cache read or write, an idempotency claim, a platform
// document read or one attempt of its update. With [Open] it also bounds
// the client's dial, read, write and pool timeouts. A call that takes
// longer fails and counts as a failure of Redis. By default, 200ms.
func WithTimeout(d time.Duration) Option { return optionFunc(func(c *config) { c.timeout = d }) }

// WithBreaker configures the store's circuit breaker. It opens once
// failures calls in a row have failed: timed out, found the connection
// broken, or met a server that cannot serve (LOADING, READONLY,
// MASTERDOWN and the like); a refused connection (nothing listens) opens
// it at once whatever failures says. A reply, even an error reply such as
// a missing key, is a success, and so is neither outcome of a call its
// caller gave up on or that found no free connection in time (the
// gateway is overloaded, not Redis).
//
// While it is open, every call fails at once with an error wrapping
// [middleware.ErrStoreUnavailable], so the middleware falls back (or
// fails closed) without waiting and without logging: the store logs the
// outage once (see [WithLogger]). After openFor, one call probes Redis:
// if it succeeds, the breaker closes and Redis is used again; if not, it
// stays open for another openFor.
//
// By default, failures is 1 and openFor one second: an outage costs the
// calls in flight one timeout, and no call after them. A larger failures
// rides out isolated timeouts (a CPU-throttled container, a pause), at
// the cost of up to that many timeouts for the first requests of an
// outage.
func WithBreaker(failures int, openFor time.Duration) Option {
	return optionFunc(func(c *config) { c.failures, c.openFor = failures, openFor })
}

// WithLogger sets the logger that reports the breaker's transitions: a
// warning when Redis stops answering, and an info record with the
// outage's length when it answers again. It never logs per call. By
// default, nothing is logged.
func WithLogger(l *slog.Logger) Option { return optionFunc(func(c *config) { c.logger = l }) }

// WithMeterProvider sets the meter provider of the store's instruments:
// portico.redisstore.calls, a counter of calls by portico.outcome ("ok",
// "failed", or "skipped" while the breaker is open), and
// portico.redisstore.breaker.state, a gauge (0 closed, 1 half-open, 2
// open). Both carry the key prefix as portico.prefix. By default, the
// global meter provider is used.
func WithMeterProvider(mp metric.MeterProvider) Option {
	return optionFunc(func(c *config) { c.meter = mp })
}
