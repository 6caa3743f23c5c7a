package vertex

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/google"

	"github.com/portico-dev/portico/aiclient"
	"github.com/portico-dev/portico/aiclient/gemini"
	"github.com/portico-dev/portico/aiclient/internal/wire"
	"github.com/portico-dev/portico/resilience"
)

// Defaults of a [Provider].
const (
	DefaultLocation   = "us-central1"
	DefaultAPIVersion = "v1"
	// Scope is the OAuth 2.0 scope the access tokens are asked for.
	Scope = "https://www.googleapis.com/auth/cloud-platform"
)

// name is the provider's name in the OpenTelemetry GenAI conventions.
const name = "gcp.vertex_ai"

// Option configures a [Provider].
type Option interface{ apply(*options) }

type optionFunc func(*options)

func (f optionFunc) apply(o *options) { f(o) }

type options struct {
	project, location, version string
	baseURL                    string
	credsFile                  string
	credsJSON                  []byte
	tokens                     oauth2.TokenSource
	header                     http.Header
	client                     *http.Client
	transport                  aiclient.TransportConfig
	policies                   []resilience.Policy
	custom                     bool
	maxWait                    time.Duration
}

// WithProject sets the Google Cloud project the calls are billed to.
//
// By default, the project of the credentials (a service account key names
// one; Application Default Credentials may); [New] fails without one.
func WithProject(id string) Option { return optionFunc(func(o *options) { o.project = id }) }

// WithLocation sets the region the models run in, such as "europe-west4",
// or "global" for the global endpoint.
//
// By default, [DefaultLocation].
func WithLocation(loc string) Option { return optionFunc(func(o *options) { o.location = loc }) }

// WithCredentialsFile reads the credentials from a JSON file: a service
// account key, or any file Application Default Credentials read
// (authorized_user, external_account for workload identity federation,
// impersonated_service_account). The file is the operator's own: it is
// trusted as such.
//
// By default, Application Default Credentials: GOOGLE_APPLICATION_CREDENTIALS,
// gcloud's application-default login, then the metadata server of GCE,
// GKE and Cloud Run.
func WithCredentialsFile(path string) Option {
	return optionFunc(func(o *options) { o.credsFile = path })
}

// WithCredentialsJSON takes the credentials as the content of a file
// [WithCredentialsFile] reads.
func WithCredentialsJSON(data []byte) Option {
	return optionFunc(func(o *options) { o.credsJSON = data })
}

// WithTokenSource sets where access tokens come from, such as an
// impersonated or a test token source; tokens are reused until they
// expire.
//
// By default, the credentials of [WithCredentialsFile] or Application
// Default Credentials, for [Scope].
func WithTokenSource(ts oauth2.TokenSource) Option {
	return optionFunc(func(o *options) { o.tokens = ts })
}

// WithBaseURL sets the API root that "/<version>/projects/..." is appended
// to, for a Private Service Connect endpoint or a test server.
//
// By default, "https://<location>-aiplatform.googleapis.com", or
// "https://aiplatform.googleapis.com" for the global location.
func WithBaseURL(u string) Option { return optionFunc(func(o *options) { o.baseURL = u }) }

// WithAPIVersion sets the API version in the path, such as "v1beta1".
//
// By default, [DefaultAPIVersion].
func WithAPIVersion(v string) Option { return optionFunc(func(o *options) { o.version = v }) }

// WithHeader adds a header to every request.
//
// By default, only the authentication and content headers are sent.
func WithHeader(name, value string) Option {
	return optionFunc(func(o *options) {
		if o.header == nil {
			o.header = http.Header{}
		}
		o.header.Add(name, value)
	})
}

// WithHTTPClient sets the HTTP client whose transport the resilience
// policies wrap.
//
// By default, a zero http.Client (no timeout: use the context for
// deadlines) over a transport of the provider's own, made by
// [aiclient.NewTransport] (see [WithTransportConfig]); so does a client
// whose Transport is nil.
func WithHTTPClient(hc *http.Client) Option { return optionFunc(func(o *options) { o.client = hc }) }

// WithTransportConfig tunes the transport the provider makes for itself
// (see [WithHTTPClient]): idle connections kept per host, timeouts. A
// negative setting panics in New; see [aiclient.TransportConfig.Validate].
//
// By default, the defaults of [aiclient.TransportConfig].
func WithTransportConfig(tc aiclient.TransportConfig) Option {
	return optionFunc(func(o *options) { o.transport = tc })
}

// WithPolicies replaces the resilience policies wrapped around the HTTP
// client; WithPolicies() with none sends every request once.
//
// By default, those of the gemini package: up to 3 attempts with backoff
// honouring RetryInfo, and a circuit breaker per model.
func WithPolicies(p ...resilience.Policy) Option {
	return optionFunc(func(o *options) { o.policies, o.custom = p, true })
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
	return optionFunc(func(o *options) { o.maxWait = d })
}

// Provider speaks Vertex AI's Gemini API (generateContent,
// streamGenerateContent and text-embedding predict) for one project and
// location. It is safe for concurrent use.
type Provider struct {
	gemini   *gemini.Provider
	cfg      wire.Common // for predict, which the gemini adapter does not speak
	base     string      // "<base URL>/<version>/projects/<p>/locations/<l>"
	project  string
	location string
}

// New returns a Provider. It finds the credentials (see
// [WithCredentialsFile]) and the project, and fails when either cannot be
// had or the base URL is not absolute. Tokens are fetched at the first
// call; ctx carries values (such as oauth2.HTTPClient) to the token
// requests, never its cancellation.
func New(ctx context.Context, opts ...Option) (*Provider, error) {
	o := options{location: DefaultLocation, version: DefaultAPIVersion}
	for _, opt := range opts {
		if opt != nil {
			opt.apply(&o)
		}
	}
	if err := o.transport.Validate(); err != nil {
		return nil, fmt.Errorf("portico/vertex: WithTransportConfig: %w", err)
	}
	// One transport for the token requests and the calls, unless ctx
	// brings the token requests' own client.
	ctx = context.WithoutCancel(ctx)
	if o.client != nil || ctx.Value(oauth2.HTTPClient) == nil {
		o.client = wire.Tuned(o.client, o.transport)
		ctx = context.WithValue(ctx, oauth2.HTTPClient, o.client)
	}
	o.client = wire.Tuned(o.client, o.transport)
	ts, project, err := o.credentials(ctx)
	if err != nil {
		return nil, err
	}
	o.project = cmp.Or(o.project, project)
	if o.project == "" {
		return nil, errors.New("portico/vertex: no project: use WithProject, or credentials that name one")
	}
	if o.baseURL == "" {
		o.baseURL = "https://" + o.location + "-aiplatform.googleapis.com"
		if o.location == "global" {
			o.baseURL = "https://aiplatform.googleapis.com"
		}
	}
	if u, err := url.Parse(o.baseURL); err != nil || u.Scheme == "" || u.Host == "" {
		return nil, fmt.Errorf("portico/vertex: WithBaseURL needs an absolute URL, got %q", o.baseURL)
	}
	p := &Provider{project: o.project, location: o.location,
		base: strings.TrimRight(o.baseURL, "/") + "/" + o.version + "/projects/" + url.PathEscape(o.project) + "/locations/" + url.PathEscape(o.location)}
	token := func(context.Context) (string, error) {
		t, err := ts.Token()
		if err != nil {
			return "", err
		}
		return t.AccessToken, nil
	}
	gopts := []gemini.Option{gemini.WithName(name), gemini.WithToken(token), gemini.WithEndpoint(p.url), gemini.WithHTTPClient(o.client)}
	for k, vs := range o.header {
		for _, v := range vs {
			gopts = append(gopts, gemini.WithHeader(k, v))
		}
	}
	if o.custom {
		gopts = append(gopts, gemini.WithPolicies(o.policies...))
	}
	if o.maxWait > 0 {
		gopts = append(gopts, gemini.WithMaxRetryWait(o.maxWait))
	}
	p.gemini = gemini.New(gopts...)
	p.cfg = wire.Common{Provider: name, BaseURL: o.baseURL, Header: o.header, Client: o.client, Policies: o.policies, Custom: o.custom,
		MaxRetryWait: o.maxWait, Token: token, BodyHint: retryInfo}
	p.cfg.Build()
	return p, nil
}

// credentialTypes are the credential files accepted, those Application
// Default Credentials read.
var credentialTypes = []google.CredentialsType{google.ServiceAccount, google.AuthorizedUser, google.ExternalAccount,
	google.ExternalAccountAuthorizedUser, google.ImpersonatedServiceAccount}

// credentials returns the token source and the project it names.
func (o *options) credentials(ctx context.Context) (oauth2.TokenSource, string, error) {
	if o.tokens != nil {
		return oauth2.ReuseTokenSource(nil, o.tokens), "", nil
	}
	data := o.credsJSON
	if data == nil && o.credsFile != "" {
		b, err := os.ReadFile(o.credsFile)
		if err != nil {
			return nil, "", fmt.Errorf("portico/vertex: reading the credentials file: %w", err)
		}
		data = b
	}
	var creds *google.Credentials
	if data == nil {
		c, err := google.FindDefaultCredentials(ctx, Scope)
		if err != nil {
			return nil, "", fmt.Errorf("portico/vertex: no Application Default Credentials (set GOOGLE_APPLICATION_CREDENTIALS or use WithCredentialsFile): %w", err)
		}
		creds = c
	} else {
		var f struct {
			Type string `json:"type"`
		}
		if err := json.Unmarshal(data, &f); err != nil {
			return nil, "", fmt.Errorf("portico/vertex: the credentials are not JSON: %w", err)
		}
		if !slices.Contains(credentialTypes, google.CredentialsType(f.Type)) {
			return nil, "", fmt.Errorf("portico/vertex: credentials of type %q are not supported; use a service account key or an Application Default Credentials file", f.Type)
		}
		c, err := google.CredentialsFromJSONWithTypeAndParams(ctx, data, google.CredentialsType(f.Type), google.CredentialsParams{Scopes: []string{Scope}})
		if err != nil {
			return nil, "", fmt.Errorf("portico/vertex: reading the credentials: %w", err)
		}
		creds = c
	}
	return creds.TokenSource, creds.ProjectID, nil
}

// Name returns "gcp.vertex_ai".
func (p *Provider) Name() string { return name }

// url builds a model method's URL: a Google model's name goes under
// publishers/google/models; "publishers/...", "endpoints/..." (a tuned
// model's endpoint) and a full "projects/..." resource name are taken as
// they are.
func (p *Provider) url(model, method string) string {
	switch {
	case strings.HasPrefix(model, "projects/"):
		return p.base[:strings.Index(p.base, "/projects/")] + "/" + model + ":" + method
	case strings.HasPrefix(model, "publishers/"), strings.HasPrefix(model, "endpoints/"):
		return p.base + "/" + model + ":" + method
	}
	return p.base + "/publishers/google/models/" + url.PathEscape(model) + ":" + method
}

// Chat sends a generateContent request.
func (p *Provider) Chat(ctx context.Context, req *aiclient.Request) (*aiclient.Response, error) {
	return p.gemini.Chat(ctx, req)
}

// Stream sends a streamGenerateContent request with alt=sse.
func (p *Provider) Stream(ctx context.Context, req *aiclient.Request) (*aiclient.Stream, error) {
	return p.gemini.Stream(ctx, req)
}

var (
	_ aiclient.Provider = (*Provider)(nil)
	_ aiclient.Embedder = (*Provider)(nil)
)
