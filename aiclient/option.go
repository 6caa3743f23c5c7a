package aiclient

import (
	"fmt"
	"log/slog"
	"math/rand/v2"

	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
)

// Option configures a [Client].
type Option interface{ apply(*config) }

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

type config struct {
	routes   map[string][]Candidate
	fallback Provider
	prices   Prices
	tracers  trace.TracerProvider
	meters   metric.MeterProvider
	capture  bool
	logger   *slog.Logger
	rand     rand.Source
}

// Candidate is one way to serve a model alias: a provider (which holds
// the endpoint and credentials: a key, an Azure deployment...), the model
// name to send it, and its place in the order.
type Candidate struct {
	// Provider serves the call. It must be comparable (adapters are
	// pointers): candidates with the same Provider and Model are one
	// deployment.
	Provider Provider
	// Model is the provider's name for the model; empty means the alias.
	Model string
	// Priority orders candidates: all candidates of the lowest priority
	// are tried before any of the next. By default, 0.
	Priority int
	// Weight is the candidate's share of the calls among candidates of
	// the same priority, which are tried in a weighted random order.
	// By default (zero), 1.
	Weight int
}

// WithRoute routes calls for the model alias to the candidates. Calls try
// the candidates of the lowest [Candidate.Priority] first, in a random
// order weighted by [Candidate.Weight], and fall back to the next on an
// error that another deployment may not have (see [Client]).
//
// By default, no alias is routed.
func WithRoute(alias string, candidates ...Candidate) Option {
	if alias == "" || len(candidates) == 0 {
		panic("portico/aiclient: WithRoute needs an alias and at least one candidate")
	}
	for i, c := range candidates {
		if c.Provider == nil {
			panic(fmt.Sprintf("portico/aiclient: WithRoute(%q): candidate %d has no Provider", alias, i))
		}
		if c.Weight < 0 {
			panic(fmt.Sprintf("portico/aiclient: WithRoute(%q): candidate %d has a negative Weight", alias, i))
		}
	}
	cs := append([]Candidate(nil), candidates...)
	return optionFunc(func(c *config) {
		if c.routes == nil {
			c.routes = make(map[string][]Candidate)
		}
		c.routes[alias] = cs
	})
}

// WithDefault sends calls for models that no route names to p, with the
// model name unchanged.
//
// By default, such calls fail with an [*Error] of kind [KindNotFound].
func WithDefault(p Provider) Option {
	return optionFunc(func(c *config) { c.fallback = p })
}

// WithPrices sets the price table [Client.Cost] uses.
//
// By default, no model is priced.
func WithPrices(p Prices) Option {
	return optionFunc(func(c *config) { c.prices = p })
}

// WithTracerProvider sets where spans go.
//
// By default, the global tracer provider.
func WithTracerProvider(tp trace.TracerProvider) Option {
	return optionFunc(func(c *config) { c.tracers = tp })
}

// WithMeterProvider sets where the gen_ai.client.* metrics go.
//
// By default, the global meter provider.
func WithMeterProvider(mp metric.MeterProvider) Option {
	return optionFunc(func(c *config) { c.meters = mp })
}

// WithContentCapture records prompts and completions on spans, as the
// gen_ai.system_instructions, gen_ai.input.messages and
// gen_ai.output.messages attributes. They may hold personal data.
//
// By default, content is not recorded.
func WithContentCapture(on bool) Option {
	return optionFunc(func(c *config) { c.capture = on })
}

// WithLogger sets the logger that records fallbacks at Warn level.
//
// By default, nothing is logged.
func WithLogger(l *slog.Logger) Option {
	return optionFunc(func(c *config) { c.logger = l })
}

// WithRandSource sets the random source for weighted ordering, for
// reproducible tests. The Client serialises its use.
//
// By default, a source seeded from the runtime's random generator.
func WithRandSource(src rand.Source) Option {
	return optionFunc(func(c *config) { c.rand = src })
}
