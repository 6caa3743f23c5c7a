package openapi

import (
	"fmt"
	"log/slog"
	"net/http"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/metric"
)

// Option configures a [Validator].
type Option interface {
	apply(*config)
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// ResponseMode says what a [Validator] does with responses.
type ResponseMode int

const (
	// ResponsesOff does not look at responses.
	ResponsesOff ResponseMode = iota
	// ResponsesReport forwards every response unchanged and reports the
	// ones that break the contract to the logger and the
	// portico.openapi.response.violations counter.
	ResponsesReport
	// ResponsesEnforce replaces a response that breaks the contract with a
	// 502 problem document. Meant for tests and staging.
	ResponsesEnforce
)

// String returns the mode's name.
func (m ResponseMode) String() string {
	switch m {
	case ResponsesOff:
		return "off"
	case ResponsesReport:
		return "report"
	case ResponsesEnforce:
		return "enforce"
	}
	return fmt.Sprintf("ResponseMode(%d)", int(m))
}

// Identity is what the authentication in front of the validator
// established about the caller.
type Identity struct {
	// Schemes names the security schemes (keys of
	// components.securitySchemes) the request satisfied. Nil means the
	// caller is authenticated for every scheme of the document.
	Schemes []string
	// Scopes are the OAuth2 scopes or roles the caller was granted.
	Scopes []string
}

// IdentityFunc returns the identity established for r, and false when the
// request is anonymous.
type IdentityFunc func(r *http.Request) (Identity, bool)

type config struct {
	bodyLimit     int64
	responseLimit int64
	passThrough   bool
	identity      IdentityFunc
	responses     ResponseMode
	logger        *slog.Logger
	meter         metric.MeterProvider
}

// WithBodyLimit sets the largest request body read for validation; a longer
// one is refused with 413. By default, 1 MiB.
func WithBodyLimit(n int64) Option {
	if n <= 0 {
		panic("portico/openapi: WithBodyLimit needs a limit > 0")
	}
	return optionFunc(func(c *config) { c.bodyLimit = n })
}

// WithPassThrough lets requests that match no operation of the document
// through, unvalidated. By default, they get a 404 or 405 problem.
func WithPassThrough() Option {
	return optionFunc(func(c *config) { c.passThrough = true })
}

// WithSecurity checks each operation's security requirements against the
// identity f returns: an anonymous request to a protected operation gets
// 401, one that lacks a scheme or scope gets 403. By default, security
// requirements are not checked (authentication is left to the middleware in
// front).
func WithSecurity(f IdentityFunc) Option {
	return optionFunc(func(c *config) { c.identity = f })
}

// WithResponses sets how responses are validated. By default,
// [ResponsesOff].
func WithResponses(m ResponseMode) Option {
	if m < ResponsesOff || m > ResponsesEnforce {
		panic(fmt.Sprintf("portico/openapi: WithResponses got unknown mode %d", int(m)))
	}
	return optionFunc(func(c *config) { c.responses = m })
}

// WithResponseLimit sets the largest response body validated. Longer
// responses, and streams (text/event-stream, or any response whose handler
// flushes), are forwarded without validation and never held back. By
// default, 1 MiB.
func WithResponseLimit(n int64) Option {
	if n <= 0 {
		panic("portico/openapi: WithResponseLimit needs a limit > 0")
	}
	return optionFunc(func(c *config) { c.responseLimit = n })
}

// WithLogger sets the logger that reports response violations. By default,
// slog.Default().
func WithLogger(l *slog.Logger) Option {
	return optionFunc(func(c *config) {
		if l != nil {
			c.logger = l
		}
	})
}

// WithMeterProvider sets the provider of the validator's counters. By
// default, the global provider from go.opentelemetry.io/otel.
func WithMeterProvider(p metric.MeterProvider) Option {
	return optionFunc(func(c *config) {
		if p != nil {
			c.meter = p
		}
	})
}

func newConfig(opts []Option) config {
	c := config{bodyLimit: 1 << 20, responseLimit: 1 << 20}
	for _, o := range opts {
		if o != nil {
			o.apply(&c)
		}
	}
	if c.logger == nil {
		c.logger = slog.Default()
	}
	if c.meter == nil {
		c.meter = otel.GetMeterProvider()
	}
	return c
}
