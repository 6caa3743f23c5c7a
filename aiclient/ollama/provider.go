package ollama

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"time"

	"github.com/portico-dev/portico/aiclient"
	"github.com/portico-dev/portico/aiclient/internal/wire"
	"github.com/portico-dev/portico/resilience"
)

// DefaultBaseURL is a local Ollama server.
const DefaultBaseURL = "http://localhost:11434"

// Option configures a [Provider].
type Option interface{ apply(*config) }

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

type config struct {
	wire.Common
}

// WithBaseURL sets the server root that "/api/chat" is appended to.
//
// By default, [DefaultBaseURL].
func WithBaseURL(u string) Option { return optionFunc(func(c *config) { c.BaseURL = u }) }

// WithAPIKey sets a key sent as "Authorization: Bearer <key>", for
// Ollama's hosted service or an authenticating proxy.
//
// By default, no key is sent.
func WithAPIKey(key string) Option { return optionFunc(func(c *config) { c.APIKey = key }) }

// WithHeader adds a header to every request.
//
// By default, only the content headers.
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
// By default, up to 3 attempts with backoff on connection errors, 429
// with a hint no longer than [WithMaxRetryWait], 500, 502, 503, 504 and 529, and a circuit breaker per
// model that opens for 30 s after 5 failures in a row.
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

// Provider speaks Ollama's native API (/api/chat, /api/embed,
// /api/tags). For Ollama's OpenAI-compatible /v1 API, use the openai
// package instead. It is safe for concurrent use.
type Provider struct {
	cfg config
}

// New returns a Provider. It panics if the base URL is not absolute.
func New(opts ...Option) *Provider {
	var cfg config
	cfg.BaseURL = DefaultBaseURL
	for _, o := range opts {
		if o != nil {
			o.apply(&cfg)
		}
	}
	if u, err := url.Parse(cfg.BaseURL); err != nil || u.Scheme == "" || u.Host == "" {
		panic("portico/ollama: WithBaseURL needs an absolute URL, got " + cfg.BaseURL)
	}
	cfg.Provider = "ollama"
	cfg.Build()
	return &Provider{cfg: cfg}
}

// Name returns "ollama".
func (p *Provider) Name() string { return "ollama" }

func (p *Provider) header() http.Header {
	h := http.Header{}
	if p.cfg.APIKey != "" {
		h.Set("Authorization", "Bearer "+p.cfg.APIKey)
	}
	return h
}

func (p *Provider) do(ctx context.Context, method, path, model string, body []byte) (*http.Response, error) {
	return p.cfg.Do(ctx, method, p.cfg.BaseURL+path, body, p.header(), model, decodeError)
}

func decodeError(res *http.Response, body []byte) *aiclient.Error {
	var w struct {
		Error string `json:"error"`
	}
	_ = json.Unmarshal(body, &w) // a body that is not an error object gives nil
	if w.Error == "" {
		return nil
	}
	return &aiclient.Error{Message: w.Error, Kind: aiclient.KindFromStatus(res.StatusCode)}
}

var _ aiclient.Provider = (*Provider)(nil)
var _ aiclient.Embedder = (*Provider)(nil)
var _ aiclient.ModelLister = (*Provider)(nil)
