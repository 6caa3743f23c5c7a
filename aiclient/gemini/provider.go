package gemini

import (
	"cmp"
	"context"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/portico-dev/portico/aiclient"
	"github.com/portico-dev/portico/aiclient/internal/wire"
	"github.com/portico-dev/portico/resilience"
)

// Defaults of a [Provider].
const (
	DefaultBaseURL    = "https://generativelanguage.googleapis.com"
	DefaultAPIVersion = "v1beta"
)

// Option configures a [Provider].
type Option interface{ apply(*config) }

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

type config struct {
	wire.Common
	version  string
	name     string
	endpoint func(model, method string) string
}

// WithAPIKey sets the API key, sent in the "x-goog-api-key" header.
//
// By default, no key is sent.
func WithAPIKey(key string) Option { return optionFunc(func(c *config) { c.APIKey = key }) }

// WithBaseURL sets the API root that "/<version>/models/..." is appended to.
//
// By default, [DefaultBaseURL].
func WithBaseURL(u string) Option { return optionFunc(func(c *config) { c.BaseURL = u }) }

// WithAPIVersion sets the API version in the path.
//
// By default, [DefaultAPIVersion].
func WithAPIVersion(v string) Option { return optionFunc(func(c *config) { c.version = v }) }

// WithHeader adds a header to every request.
//
// By default, only the authentication and content headers.
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
// By default, up to 3 attempts with backoff honouring the RetryInfo delay
// of an error body on connection errors, 429 with a hint no longer than [WithMaxRetryWait], 500, 502, 503,
// 504 and 529, and a
// circuit breaker per model that opens for 30 s after 5 failures in a row.
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

// WithName sets the provider name used in errors and telemetry.
//
// By default, "gcp.gemini".
func WithName(name string) Option { return optionFunc(func(c *config) { c.name = name }) }

// WithToken sends each request with "Authorization: Bearer" and the OAuth
// 2.0 access token f returns, for Google Cloud credentials instead of (or
// besides) an API key. f is called once per call, so it should cache
// tokens until they expire (an oauth2.ReuseTokenSource does); an error
// from it fails the call with an [*aiclient.Error] of kind
// [aiclient.KindAuthentication].
//
// By default, no token is sent.
func WithToken(f func(context.Context) (string, error)) Option {
	return optionFunc(func(c *config) { c.Token = f })
}

// WithEndpoint sets how the URL of a model's method ("generateContent",
// "streamGenerateContent") is built, for deployments that lay out their
// paths differently, such as Vertex AI's projects and locations (see
// package vertex).
//
// By default, "<base URL>/<version>/models/<model>:<method>".
func WithEndpoint(f func(model, method string) string) Option {
	return optionFunc(func(c *config) { c.endpoint = f })
}

// Provider speaks the Gemini API (generateContent,
// streamGenerateContent, batchEmbedContents, models). It is safe for
// concurrent use.
type Provider struct {
	cfg config
}

// New returns a Provider. It panics if the base URL is not absolute.
func New(opts ...Option) *Provider {
	cfg := config{version: DefaultAPIVersion}
	cfg.BaseURL = DefaultBaseURL
	for _, o := range opts {
		if o != nil {
			o.apply(&cfg)
		}
	}
	if u, err := url.Parse(cfg.BaseURL); err != nil || u.Scheme == "" || u.Host == "" {
		panic("portico/gemini: WithBaseURL needs an absolute URL, got " + cfg.BaseURL)
	}
	cfg.Provider = cmp.Or(cfg.name, "gcp.gemini")
	cfg.BodyHint = retryInfo
	cfg.Build()
	return &Provider{cfg: cfg}
}

// Name returns the provider name: "gcp.gemini" unless set by [WithName].
func (p *Provider) Name() string { return p.cfg.Provider }

func modelPath(model string) string {
	if strings.HasPrefix(model, "models/") || strings.HasPrefix(model, "tunedModels/") {
		return model
	}
	return "models/" + model
}

func (p *Provider) url(model, method string) string {
	if p.cfg.endpoint != nil {
		return p.cfg.endpoint(model, method)
	}
	return p.cfg.BaseURL + "/" + p.cfg.version + "/" + modelPath(model) + ":" + method
}

func (p *Provider) header() http.Header {
	h := http.Header{}
	if p.cfg.APIKey != "" {
		h.Set("x-goog-api-key", p.cfg.APIKey)
	}
	return h
}

func (p *Provider) post(ctx context.Context, model, u string, body []byte) (*http.Response, error) {
	return p.cfg.Do(ctx, http.MethodPost, u, body, p.header(), model, decodeError)
}

var _ aiclient.Provider = (*Provider)(nil)
var _ aiclient.Embedder = (*Provider)(nil)
var _ aiclient.ModelLister = (*Provider)(nil)
