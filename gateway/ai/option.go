package ai

import (
	"log/slog"
	"time"

	"go.opentelemetry.io/otel/metric"

	"github.com/portico-dev/portico/middleware/auth"
	"github.com/portico-dev/portico/middleware/ratelimit"
)

// Option configures a [Handler].
type Option interface{ apply(*config) }

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

type config struct {
	prefix      string
	auths       auth.Authenticators
	models      []string
	limits      []Limit
	budgets     []Budget
	counters    []string // the counter names of limits, then budgets
	store       Store
	windows     ratelimit.WindowStore
	failOpen    bool
	sink        Sink
	logger      *slog.Logger
	meter       metric.MeterProvider
	labels      MetricLabels
	content     bool
	clock       func() time.Time
	prompts     []Prompt
	outputGuess int64
	maxBody     int64
}

func defaults() config {
	return config{
		prefix:      "/v1",
		outputGuess: 1024,
		maxBody:     8 << 20,
		clock:       time.Now,
	}
}

// WithPrefix sets the path prefix of the OpenAI- and Anthropic-compatible
// endpoints: prefix+"/chat/completions" and so on. Prompt APIs keep their
// own paths.
//
// By default, "/v1".
func WithPrefix(prefix string) Option {
	return optionFunc(func(c *config) { c.prefix = prefix })
}

// WithAuthenticator sets who may call the endpoints: the authenticators
// of package middleware (the gateway's API keys, JWTs, client
// certificates...) or [Keys], the gateway's own keys (virtual keys). They
// are tried in order as a route's authentication tries them
// (auth.Authenticators): the first to identify the caller wins, so a
// key one of them rejects may still be accepted by the next. A request
// none of them identifies keeps the consumer an authentication middleware
// in front already established (middleware.ConsumerFrom). Missing or
// invalid credentials are answered 401 and an unavailable backend 503, in
// the caller's wire format. The consumer's ID and tenant key limits,
// budgets and records; its [ModelsKey] metadata restricts its aliases.
//
// By default, the caller is the consumer in the request context, if an
// authentication middleware in front set one; otherwise the request is
// anonymous and served under the limits and budgets of an empty consumer.
func WithAuthenticator(auths ...auth.Authenticator) Option {
	return optionFunc(func(c *config) { c.auths = append(auth.Authenticators(nil), auths...) })
}

// WithModels lists the model aliases the endpoints serve and /v1/models
// reports (a consumer may be restricted to some of them with [ModelsKey]). A request for
// any other model is answered 404 model_not_found without calling a
// provider.
//
// By default, every model the client routes is served, and /v1/models
// lists the client's route aliases.
func WithModels(aliases ...string) Option {
	return optionFunc(func(c *config) { c.models = append(c.models, aliases...) })
}

// WithLimit adds a request or token rate limit; see [Limit].
//
// By default, there is no limit.
func WithLimit(l Limit) Option {
	return optionFunc(func(c *config) { c.limits = append(c.limits, l) })
}

// WithBudget adds a spending limit; see [Budget].
//
// By default, there is no budget.
func WithBudget(b Budget) Option {
	return optionFunc(func(c *config) { c.budgets = append(c.budgets, b) })
}

// WithStore sets where budget counters are kept. Pass the Redis store's
// Quotas (package middleware/redisstore) to share them between gateway
// replicas. Counters are named by each budget's settings, not by its
// place in the list, so a store that outlives the handler (a gateway
// reload) keeps counting each budget whose settings are unchanged, and
// starts afresh one whose settings changed.
//
// By default, a ratelimit.MemoryCounters private to the handler.
func WithStore(s Store) Option {
	return optionFunc(func(c *config) { c.store = s })
}

// WithWindowStore sets where the sliding windows of limits are kept.
// Pass the Redis store's Windows (package middleware/redisstore) to share
// them between gateway replicas. Windows are named by each limit's
// settings, as budget counters are (see [WithStore]), so a store that
// outlives the handler keeps each limit whose settings are unchanged.
//
// By default, a ratelimit.MemoryWindows private to the handler.
func WithWindowStore(s ratelimit.WindowStore) Option {
	return optionFunc(func(c *config) { c.windows = s })
}

// WithFailOpen says what happens when the store fails (Redis is down):
// true serves the call without counting it, false refuses it with a 503.
//
// By default, calls are refused (fail closed).
func WithFailOpen(open bool) Option {
	return optionFunc(func(c *config) { c.failOpen = open })
}

// WithSink sets where call records go, in addition to the metrics.
//
// By default, records are logged at Info level to the logger of
// [WithLogger], or dropped when there is none.
func WithSink(s Sink) Option {
	return optionFunc(func(c *config) { c.sink = s })
}

// WithLogger sets the logger for store failures and, unless [WithSink]
// replaces it, call records.
//
// By default, nothing is logged.
func WithLogger(l *slog.Logger) Option {
	return optionFunc(func(c *config) { c.logger = l })
}

// WithMeterProvider sets where the portico.ai.* metrics go.
//
// By default, the global meter provider.
func WithMeterProvider(mp metric.MeterProvider) Option {
	return optionFunc(func(c *config) { c.meter = mp })
}

// WithContent puts the prompt messages and the completion text in call
// records. They may hold personal data.
//
// By default, records hold no content.
func WithContent(on bool) Option {
	return optionFunc(func(c *config) { c.content = on })
}

// WithClock sets the clock for limit windows, budget periods and records,
// for tests. Budget counters expire at the end of their period by this
// clock, so with a shared store (Redis expires keys by its own clock) it
// must not be behind real time.
//
// By default, time.Now.
func WithClock(now func() time.Time) Option {
	return optionFunc(func(c *config) { c.clock = now })
}

// WithPrompt serves p as a REST API; see [Prompt].
//
// By default, no prompt is served.
func WithPrompt(p Prompt) Option {
	return optionFunc(func(c *config) { c.prompts = append(c.prompts, p) })
}

// WithOutputEstimate sets how many output tokens a token limit or a
// budget reserves for a call that sets no max_tokens; the reservation is
// reconciled with the real usage after the call.
//
// By default, 1024.
func WithOutputEstimate(tokens int64) Option {
	return optionFunc(func(c *config) { c.outputGuess = tokens })
}

// WithMaxBody caps the size of a request body, answered 413 beyond it.
//
// By default, 8 MiB.
func WithMaxBody(n int64) Option {
	return optionFunc(func(c *config) { c.maxBody = n })
}
