package openai

import (
	"context"
	"net/http"
	"net/url"
	"time"

	"github.com/portico-dev/portico/aiclient"
	"github.com/portico-dev/portico/aiclient/internal/wire"
	"github.com/portico-dev/portico/resilience"
)

// DefaultBaseURL is OpenAI's API root.
const DefaultBaseURL = "https://api.openai.com/v1"

// Option configures a [Provider].
type Option interface{ apply(*config) }

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

type config struct {
	wire.Common
	azureVersion string
	legacyMax    bool
	noUsage      bool
	name         string
	deployment   string // Azure: the deployment every call goes to
}

// WithAPIKey sets the API key, sent as "Authorization: Bearer <key>" (or
// as "api-key: <key>" with [WithAzure]).
//
// By default, no key is sent, as local servers expect.
func WithAPIKey(key string) Option { return optionFunc(func(c *config) { c.APIKey = key }) }

// WithBaseURL sets the API root that paths such as "/chat/completions"
// are appended to: "https://api.groq.com/openai/v1",
// "http://localhost:11434/v1" (Ollama), "http://localhost:8000/v1"
// (vLLM), or an Azure resource endpoint "https://NAME.openai.azure.com"
// with [WithAzure].
//
// By default, [DefaultBaseURL].
func WithBaseURL(u string) Option { return optionFunc(func(c *config) { c.BaseURL = u }) }

// WithHeader adds a header to every request, such as OpenRouter's
// "HTTP-Referer" or OpenAI's "OpenAI-Organization".
//
// By default, only the authentication and content headers are sent.
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
// By default, up to 3 attempts with backoff honouring the provider's
// retry hints (retry-after-ms, retry-after, or the reset time of the
// exhausted x-ratelimit-* limit) on connection errors, 429 with a hint
// no longer than [WithMaxRetryWait], 500, 502, 503, 504 and 529, and a
// circuit breaker per deployment (host, path and model) that opens for
// 30 s after 5 failures in a row (5xx answers or connection failures; a
// 429 is not a failure), so a [aiclient.Client] falls back without waiting.
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

// WithAzure switches to Azure OpenAI's deployment API: requests go to
// "<base URL>/openai/deployments/<model>/chat/completions?api-version=<v>",
// where the request's model names the deployment, and the key is sent in
// the "api-key" header. (Azure's newer "/openai/v1" API is plain
// OpenAI-compatible: use [WithBaseURL] alone for it.)
//
// By default, OpenAI's own URL layout is used.
func WithAzure(apiVersion string) Option {
	return optionFunc(func(c *config) {
		c.azureVersion = apiVersion
		if c.name == "" {
			c.name = "azure.ai.openai"
		}
	})
}

// WithLegacyMaxTokens sends [aiclient.Request.MaxOutputTokens] as
// "max_tokens", for servers that do not know "max_completion_tokens".
//
// By default, "max_completion_tokens" is sent.
func WithLegacyMaxTokens() Option { return optionFunc(func(c *config) { c.legacyMax = true }) }

// WithoutStreamUsage stops asking for usage in streams
// ("stream_options": {"include_usage": true}), for servers that reject
// the option.
//
// By default, streams ask for usage.
func WithoutStreamUsage() Option { return optionFunc(func(c *config) { c.noUsage = true }) }

// WithName sets the provider name used in errors and telemetry, such as
// "groq" or "deepseek" for a compatible server.
//
// By default, "openai", or "azure.ai.openai" with [WithAzure].
func WithName(name string) Option { return optionFunc(func(c *config) { c.name = name }) }

// Provider speaks OpenAI's Chat Completions, Embeddings and Models APIs.
// It is safe for concurrent use.
type Provider struct {
	cfg config
}

// New returns a Provider. It panics if the base URL is not absolute.
func New(opts ...Option) *Provider {
	var cfg config
	for _, o := range opts {
		if o != nil {
			o.apply(&cfg)
		}
	}
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultBaseURL
	}
	if u, err := url.Parse(cfg.BaseURL); err != nil || u.Scheme == "" || u.Host == "" {
		panic("portico/openai: WithBaseURL needs an absolute URL, got " + cfg.BaseURL)
	}
	if cfg.name == "" {
		cfg.name = "openai"
	}
	cfg.Provider = cfg.name
	cfg.Build()
	return &Provider{cfg: cfg}
}

// Name returns the provider name (see [WithName]).
func (p *Provider) Name() string { return p.cfg.name }

func (p *Provider) url(model, path string) string {
	if p.cfg.azureVersion == "" {
		return p.cfg.BaseURL + path
	}
	if model == "" { // models listing is not per deployment
		return p.cfg.BaseURL + "/openai" + path + "?api-version=" + url.QueryEscape(p.cfg.azureVersion)
	}
	if p.cfg.deployment != "" {
		model = p.cfg.deployment
	}
	return p.cfg.BaseURL + "/openai/deployments/" + url.PathEscape(model) + path + "?api-version=" + url.QueryEscape(p.cfg.azureVersion)
}

func (p *Provider) header() http.Header {
	h := http.Header{}
	if p.cfg.APIKey == "" {
		return h
	}
	if p.cfg.azureVersion != "" {
		h.Set("api-key", p.cfg.APIKey)
	} else {
		h.Set("Authorization", "Bearer "+p.cfg.APIKey)
	}
	return h
}

func (p *Provider) post(ctx context.Context, model, path string, body []byte, stream bool) (*http.Response, error) {
	h := p.header()
	if stream {
		h.Set("Accept", "text/event-stream")
	}
	return p.cfg.Do(ctx, http.MethodPost, p.url(model, path), body, h, model, decodeError)
}

var _ aiclient.Provider = (*Provider)(nil)
var _ aiclient.Embedder = (*Provider)(nil)
var _ aiclient.ModelLister = (*Provider)(nil)

func unixTime(s int64) time.Time {
	if s == 0 {
		return time.Time{}
	}
	return time.Unix(s, 0).UTC()
}
