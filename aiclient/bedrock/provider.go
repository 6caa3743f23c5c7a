package bedrock

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/smithy-go/encoding/httpbinding"

	"github.com/portico-dev/portico/aiclient"
	"github.com/portico-dev/portico/aiclient/internal/wire"
	"github.com/portico-dev/portico/resilience"
)

// name is the provider's name in the OpenTelemetry GenAI conventions.
const name = "aws.bedrock"

// service is the SigV4 signing name of the Bedrock runtime.
const service = "bedrock"

// Option configures a [Provider].
type Option interface{ apply(*options) }

type optionFunc func(*options)

func (f optionFunc) apply(o *options) { f(o) }

type options struct {
	wire.Common
	region  string
	profile string
	creds   aws.CredentialsProvider
}

// WithRegion sets the AWS region, such as "us-east-1": it picks the
// endpoint and scopes the signature.
//
// By default, the region of the AWS configuration (AWS_REGION, or the
// profile's region); [New] fails when there is none.
func WithRegion(region string) Option { return optionFunc(func(o *options) { o.region = region }) }

// WithProfile sets the shared configuration profile (~/.aws/config and
// ~/.aws/credentials) the default credential chain and region come from.
//
// By default, AWS_PROFILE, or "default".
func WithProfile(profile string) Option { return optionFunc(func(o *options) { o.profile = profile }) }

// WithCredentials sets where the credentials that sign requests come
// from, such as credentials.NewStaticCredentialsProvider or an assumed
// role's provider. They are cached until they expire.
//
// By default, the AWS SDK's default chain: environment variables, the
// shared files (SSO and assumed roles included), web identity (EKS),
// then the ECS or EC2 instance role.
func WithCredentials(p aws.CredentialsProvider) Option {
	return optionFunc(func(o *options) { o.creds = p })
}

// WithAPIKey authenticates with a Bedrock API key, sent as
// "Authorization: Bearer <key>", instead of signing with AWS credentials.
//
// By default, requests are signed with SigV4.
func WithAPIKey(key string) Option { return optionFunc(func(o *options) { o.APIKey = key }) }

// WithBaseURL sets the endpoint, for a VPC endpoint or a test server.
//
// By default, "https://bedrock-runtime.<region>.amazonaws.com".
func WithBaseURL(u string) Option { return optionFunc(func(o *options) { o.BaseURL = u }) }

// WithHeader adds a header to every request (signed with the others).
//
// By default, only the authentication and content headers are sent.
func WithHeader(name, value string) Option {
	return optionFunc(func(o *options) {
		if o.Header == nil {
			o.Header = http.Header{}
		}
		o.Header.Add(name, value)
	})
}

// WithHTTPClient sets the HTTP client whose transport the signer and the
// resilience policies wrap.
//
// By default, a zero http.Client (no timeout: use the context for
// deadlines) over a transport of the provider's own, made by
// [aiclient.NewTransport] (see [WithTransportConfig]); so does a client
// whose Transport is nil.
func WithHTTPClient(hc *http.Client) Option { return optionFunc(func(o *options) { o.Client = hc }) }

// WithTransportConfig tunes the transport the provider makes for itself
// (see [WithHTTPClient]): idle connections kept per host, timeouts. A
// negative setting panics in New; see [aiclient.TransportConfig.Validate].
//
// By default, the defaults of [aiclient.TransportConfig].
func WithTransportConfig(tc aiclient.TransportConfig) Option {
	return optionFunc(func(o *options) { o.Transport = tc })
}

// WithPolicies replaces the resilience policies wrapped around the HTTP
// client; WithPolicies() with none sends every request once. Each attempt
// is signed afresh.
//
// By default, up to 3 attempts with backoff on connection errors, 500,
// 502, 503, 504 and 529, and a circuit breaker per model that opens for
// 30 s after 5 failures in a row.
// (5xx answers or connection failures; a 429 is not a failure)
func WithPolicies(p ...resilience.Policy) Option {
	return optionFunc(func(o *options) { o.Policies, o.Custom = p, true })
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
	return optionFunc(func(o *options) { o.MaxRetryWait = d })
}

// Provider speaks the Bedrock runtime's Converse and ConverseStream APIs.
// It is safe for concurrent use.
type Provider struct {
	cfg   wire.Common
	creds aws.CredentialsProvider // nil with an API key
}

// New returns a Provider. It loads the AWS configuration for what the
// options leave unset (the region, the credential chain), and fails when
// that configuration is invalid, when no region is known, or when the
// base URL is not absolute. Credentials are fetched at the first call.
func New(ctx context.Context, opts ...Option) (*Provider, error) {
	var o options
	for _, opt := range opts {
		if opt != nil {
			opt.apply(&o)
		}
	}
	// An API key needs no credentials, nor a region with a base URL.
	needRegion := o.region == "" && (o.BaseURL == "" || o.APIKey == "")
	if needRegion || (o.creds == nil && o.APIKey == "") {
		var load []func(*config.LoadOptions) error
		if o.region != "" {
			load = append(load, config.WithRegion(o.region))
		}
		if o.profile != "" {
			load = append(load, config.WithSharedConfigProfile(o.profile))
		}
		cfg, err := config.LoadDefaultConfig(ctx, load...)
		if err != nil {
			return nil, fmt.Errorf("portico/bedrock: loading the AWS configuration: %w", err)
		}
		o.region = cfg.Region
		if o.creds == nil {
			o.creds = cfg.Credentials
		}
	}
	if o.region == "" && (o.BaseURL == "" || o.APIKey == "") {
		return nil, errors.New("portico/bedrock: no AWS region: use WithRegion, or set AWS_REGION or the profile's region")
	}
	if o.BaseURL == "" {
		o.BaseURL = "https://bedrock-runtime." + o.region + ".amazonaws.com"
	}
	if u, err := url.Parse(o.BaseURL); err != nil || u.Scheme == "" || u.Host == "" {
		return nil, fmt.Errorf("portico/bedrock: WithBaseURL needs an absolute URL, got %q", o.BaseURL)
	}
	p := &Provider{}
	if o.APIKey == "" {
		p.creds = o.creds
		if _, cached := p.creds.(*aws.CredentialsCache); !cached && p.creds != nil {
			p.creds = aws.NewCredentialsCache(p.creds)
		}
	}
	if err := o.Transport.Validate(); err != nil {
		return nil, fmt.Errorf("portico/bedrock: WithTransportConfig: %w", err)
	}
	base := wire.Tuned(o.Client, o.Transport)
	signed := *base
	signed.Transport = &signer{next: base.Transport, signer: v4.NewSigner(), region: o.region}
	o.Client = &signed
	o.Provider = name
	o.Build()
	p.cfg = o.Common
	return p, nil
}

// Name returns "aws.bedrock".
func (p *Provider) Name() string { return name }

// url returns the endpoint of a model's operation ("converse" or
// "converse-stream"); the model ID (a model, an inference profile or an
// ARN) is one escaped path segment, as the AWS SDK sends it.
func (p *Provider) url(model, op string) string {
	return p.cfg.BaseURL + "/model/" + httpbinding.EscapePath(model, true) + "/" + op
}

// post sends body to a model's operation, signed with the credentials of
// the moment, or with the API key.
func (p *Provider) post(ctx context.Context, model, op, accept string, body []byte) (*http.Response, error) {
	h := http.Header{"Accept": {accept}}
	if p.creds == nil {
		h.Set("Authorization", "Bearer "+p.cfg.APIKey)
	} else {
		creds, err := p.creds.Retrieve(ctx)
		if err != nil {
			return nil, p.cfg.TokenError(model, err)
		}
		ctx = context.WithValue(ctx, credsKey{}, creds)
	}
	return p.cfg.Do(ctx, http.MethodPost, p.url(model, op), body, h, model, decodeError)
}

type credsKey struct{}

// signer signs each attempt with SigV4, innermost, so that a retry is
// signed at its own time and every header set above it is covered.
type signer struct {
	next   http.RoundTripper
	signer *v4.Signer
	region string
}

func (s *signer) RoundTrip(req *http.Request) (*http.Response, error) {
	next := s.next
	if next == nil {
		next = http.DefaultTransport
	}
	creds, ok := req.Context().Value(credsKey{}).(aws.Credentials)
	if !ok {
		return next.RoundTrip(req)
	}
	r := req.Clone(req.Context())
	var body []byte
	if req.Body != nil {
		b, err := io.ReadAll(req.Body)
		_ = req.Body.Close()
		if err != nil {
			return nil, err
		}
		body = b
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
	}
	sum := sha256.Sum256(body)
	if err := s.signer.SignHTTP(r.Context(), creds, r, hex.EncodeToString(sum[:]), service, s.region, time.Now()); err != nil {
		return nil, fmt.Errorf("signing the request: %w", err)
	}
	return next.RoundTrip(r)
}

var _ aiclient.Provider = (*Provider)(nil)
