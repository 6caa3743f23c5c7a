package anthropic

import (
	"context"
	"net/http"
	"net/url"
	"time"

	"github.com/portico-dev/portico/aiclient"
	"github.com/portico-dev/portico/aiclient/internal/wire"
	"github.com/portico-dev/portico/resilience"
)

// Defaults of a [Provider].
const (
	DefaultBaseURL   = "https://api.anthropic.com"
	DefaultVersion   = "2023-06-01"
	DefaultMaxTokens = 4096
)

// Option configures a [Provider].
type Option interface{ apply(*config) }

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

type config struct {
	wire.Common
	bearer    bool
	version   string
	betas     []string
	maxTokens int
}

// WithAPIKey sets the API key, sent in the "x-api-key" header.
//
// By default, no key is sent.
func WithAPIKey(key string) Option {
	return optionFunc(func(c *config) { c.APIKey, c.bearer = key, false })
}

// WithAuthToken sets a bearer token, sent as "Authorization: Bearer
// <token>", for gateways and platforms that authenticate that way.
//
// By default, [WithAPIKey] is used.
func WithAuthToken(token string) Option {
	return optionFunc(func(c *config) { c.APIKey, c.bearer = token, true })
}

// WithBaseURL sets the API root that "/v1/messages" is appended to.
//
// By default, [DefaultBaseURL].
func WithBaseURL(u string) Option { return optionFunc(func(c *config) { c.BaseURL = u }) }

// WithVersion sets the "anthropic-version" header.
//
// By default, [DefaultVersion].
func WithVersion(v string) Option { return optionFunc(func(c *config) { c.version = v }) }

// WithBeta adds features to the "anthropic-beta" header.
//
// By default, none.
func WithBeta(features ...string) Option {
	return optionFunc(func(c *config) { c.betas = append(c.betas, features...) })
}

// WithMaxTokens sets the "max_tokens" sent when the request sets no
// [aiclient.Request.MaxOutputTokens]; the Messages API requires one.
//
// By default, [DefaultMaxTokens].
func WithMaxTokens(n int) Option { return optionFunc(func(c *config) { c.maxTokens = n }) }

// WithHeader adds a header to every request.
//
// By default, only the authentication, version and content headers.
func WithHeader(name, value string) Option {
	return optionFunc(func(c *config) {
		if c.Header == nil {
			c.Header = http.Header{}
		}
		c.Header.Add(name, value)
	})
}

// WithHTTPClient sets the HTTP client whose transport the resilience
// policies wrap.
//
// By default, a zero http.Client (no timeout: use the context for
// deadlines) over a transport of the provider's own, made by
// [aiclient.NewTransport] (see [WithTransportConfig]); so does a client
// whose Transport is nil.
func WithHTTPClient(hc *http.Client) Option { return optionFunc(func(c *config) { c.Client = hc }) }

// WithTransportConfig tunes the transport the provider makes for itself
// (see [WithHTTPClient]): idle connections kept per host, timeouts. A
// negative setting panics in New; see [aiclient.TransportConfig.Validate].
//
// By default, the defaults of [aiclient.TransportConfig].
func WithTransportConfig(tc aiclient.TransportConfig) Option {
	return optionFunc(func(c *config) { c.Transport = tc })
}

// WithPolicies replaces the resilience policies wrapped around the HTTP
// client; WithPolicies() with none sends every request once.
//
// By default, up to 3 attempts with backoff honouring retry-after (or the
// reset time of the exhausted anthropic-ratelimit-* limit) on connection
// errors, 429 with a hint no longer than [WithMaxRetryWait], 500, 502, 503, 504 and 529, and a
// circuit breaker per deployment (host, path and model) that opens for
// 30 s after 5 failures in a row.
// (5xx answers or connection failures; a 429 is not a failure)
func WithPolicies(p ...resilience.Policy) Option {
	return optionFunc(func(c *config) { c.Policies, c.Custom = p, true })
}

// WithMaxRetryWait sets the longest the default policies wait before a
// retry: a 429 or 503 whose Retry-After asks for longer is returned at
// once, with its Retry-After in [aiclient.Error], so the caller (or an
// [aiclient.Client] with another candidate) does not stall; backoff
// between retries of server errors is capped by it too. It has no effect
// with [WithPolicies].
//
// By default, 1 s.
func WithMaxRetryWait(d time.Duration) Option {
	return optionFunc(func(c *config) { c.MaxRetryWait = d })
}

// Provider speaks Anthropic's Messages API. It is safe for concurrent use.
type Provider struct {
	cfg config
}

// New returns a Provider. It panics on a base URL that is not absolute or
// a negative max tokens.
func New(opts ...Option) *Provider {
	cfg := config{version: DefaultVersion, maxTokens: DefaultMaxTokens}
	cfg.BaseURL = DefaultBaseURL
	for _, o := range opts {
		if o != nil {
			o.apply(&cfg)
		}
	}
	if u, err := url.Parse(cfg.BaseURL); err != nil || u.Scheme == "" || u.Host == "" {
		panic("portico/anthropic: WithBaseURL needs an absolute URL, got " + cfg.BaseURL)
	}
	if cfg.maxTokens <= 0 {
		panic("portico/anthropic: WithMaxTokens needs a positive count")
	}
	cfg.Provider = "anthropic"
	cfg.Build()
	return &Provider{cfg: cfg}
}

// Name returns "anthropic".
func (p *Provider) Name() string { return "anthropic" }

func (p *Provider) header() http.Header {
	h := http.Header{}
	h.Set("anthropic-version", p.cfg.version)
	for _, b := range p.cfg.betas {
		h.Add("anthropic-beta", b)
	}
	if p.cfg.APIKey != "" {
		if p.cfg.bearer {
			h.Set("Authorization", "Bearer "+p.cfg.APIKey)
		} else {
			h.Set("x-api-key", p.cfg.APIKey)
		}
	}
	return h
}

func (p *Provider) post(ctx context.Context, model string, body []byte, stream bool) (*http.Response, error) {
	h := p.header()
	if stream {
		h.Set("Accept", "text/event-stream")
	}
	return p.cfg.Do(ctx, http.MethodPost, p.cfg.BaseURL+"/v1/messages", body, h, model, decodeError)
}

var _ aiclient.Provider = (*Provider)(nil)
var _ aiclient.ModelLister = (*Provider)(nil)
