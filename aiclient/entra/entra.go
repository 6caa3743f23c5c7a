package entra

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Defaults of a [TokenSource].
const (
	// DefaultScope is Azure OpenAI's (Azure AI services') scope.
	DefaultScope = "https://cognitiveservices.azure.com/.default"
	// DefaultAuthorityHost is Microsoft Entra ID in Azure's public cloud.
	DefaultAuthorityHost = "https://login.microsoftonline.com"
	// DefaultIdentityEndpoint is the instance metadata service's token
	// endpoint of Azure VMs, scale sets and AKS nodes.
	DefaultIdentityEndpoint = "http://169.254.169.254/metadata/identity/oauth2/token"
)

// refreshBefore is how long before a token expires a new one is fetched.
const refreshBefore = 5 * time.Minute

// Option configures a [TokenSource].
type Option interface{ apply(*options) }

type optionFunc func(*options)

func (f optionFunc) apply(o *options) { f(o) }

type options struct {
	scope, authority, identity string
	client                     *http.Client
	now                        func() time.Time
}

// WithScope sets the scope the tokens are for.
//
// By default, [DefaultScope].
func WithScope(scope string) Option { return optionFunc(func(o *options) { o.scope = scope }) }

// WithAuthorityHost sets the Entra ID host the client-credentials grants
// go to, for a sovereign cloud ("https://login.microsoftonline.us") or a
// test server.
//
// By default, AZURE_AUTHORITY_HOST, or else [DefaultAuthorityHost].
func WithAuthorityHost(u string) Option { return optionFunc(func(o *options) { o.authority = u }) }

// WithIdentityEndpoint sets the managed identity token endpoint.
//
// By default, IDENTITY_ENDPOINT (App Service, Container Apps), or else
// [DefaultIdentityEndpoint].
func WithIdentityEndpoint(u string) Option { return optionFunc(func(o *options) { o.identity = u }) }

// WithHTTPClient sets the client the token requests are sent with.
//
// By default, a client with a 30 s timeout.
func WithHTTPClient(hc *http.Client) Option { return optionFunc(func(o *options) { o.client = hc }) }

// WithClock sets the clock tokens expire by, for tests.
//
// By default, time.Now.
func WithClock(now func() time.Time) Option { return optionFunc(func(o *options) { o.now = now }) }

// TokenSource gets access tokens from Microsoft Entra ID and keeps each
// until 5 minutes before it expires. It is safe for concurrent use: one
// caller fetches a token while the others wait for it.
type TokenSource struct {
	o     options
	fetch func(ctx context.Context) (string, time.Duration, error)

	mu  sync.Mutex
	tok string
	exp time.Time
}

func newSource(opts []Option) *TokenSource {
	s := &TokenSource{o: options{scope: DefaultScope, authority: os.Getenv("AZURE_AUTHORITY_HOST"), identity: os.Getenv("IDENTITY_ENDPOINT")}}
	for _, opt := range opts {
		if opt != nil {
			opt.apply(&s.o)
		}
	}
	if s.o.authority == "" {
		s.o.authority = DefaultAuthorityHost
	}
	if s.o.identity == "" {
		s.o.identity = DefaultIdentityEndpoint
	}
	if s.o.client == nil {
		s.o.client = &http.Client{Timeout: 30 * time.Second}
	}
	if s.o.now == nil {
		s.o.now = time.Now
	}
	return s
}

// ClientSecret returns a source of tokens for an app registration (a
// service principal) that authenticates with a client secret: the OAuth
// 2.0 client-credentials grant.
func ClientSecret(tenantID, clientID, secret string, opts ...Option) *TokenSource {
	s := newSource(opts)
	s.fetch = func(ctx context.Context) (string, time.Duration, error) {
		return s.grant(ctx, tenantID, url.Values{"client_id": {clientID}, "client_secret": {secret}})
	}
	return s
}

// WorkloadIdentity returns a source of tokens for workload identity
// federation, as AKS sets it up: the client-credentials grant with the
// Kubernetes service account token in tokenFile as the client assertion.
// The file is read at each fetch, since Kubernetes rotates it.
func WorkloadIdentity(tenantID, clientID, tokenFile string, opts ...Option) *TokenSource {
	s := newSource(opts)
	s.fetch = func(ctx context.Context) (string, time.Duration, error) {
		assertion, err := os.ReadFile(tokenFile)
		if err != nil {
			return "", 0, fmt.Errorf("reading the federated token file: %w", err)
		}
		return s.grant(ctx, tenantID, url.Values{"client_id": {clientID},
			"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
			"client_assertion":      {strings.TrimSpace(string(assertion))}})
	}
	return s
}

// ManagedIdentity returns a source of tokens for the Azure resource's
// managed identity: the system-assigned one when clientID is empty, else
// the user-assigned one with that client ID. On App Service and
// Container Apps (IDENTITY_ENDPOINT and IDENTITY_HEADER set) it asks
// their endpoint, elsewhere the instance metadata service.
func ManagedIdentity(clientID string, opts ...Option) *TokenSource {
	s := newSource(opts)
	s.fetch = func(ctx context.Context) (string, time.Duration, error) {
		q := url.Values{"resource": {strings.TrimSuffix(s.o.scope, "/.default")}}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.o.identity, nil)
		if err != nil {
			return "", 0, err
		}
		if h := os.Getenv("IDENTITY_HEADER"); h != "" {
			q.Set("api-version", "2019-08-01")
			req.Header.Set("X-IDENTITY-HEADER", h)
		} else {
			q.Set("api-version", "2018-02-01")
			req.Header.Set("Metadata", "true")
		}
		if clientID != "" {
			q.Set("client_id", clientID)
		}
		req.URL.RawQuery = q.Encode()
		return s.do(req)
	}
	return s
}

// Token returns a valid access token, fetching one when the last is
// about to expire.
func (s *TokenSource) Token(ctx context.Context) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tok != "" && s.o.now().Before(s.exp.Add(-refreshBefore)) {
		return s.tok, nil
	}
	tok, ttl, err := s.fetch(ctx)
	if err != nil {
		return "", fmt.Errorf("entra: %w", err)
	}
	s.tok, s.exp = tok, s.o.now().Add(ttl)
	return tok, nil
}

// grant posts a client-credentials grant to the tenant's v2 endpoint.
func (s *TokenSource) grant(ctx context.Context, tenantID string, form url.Values) (string, time.Duration, error) {
	form.Set("grant_type", "client_credentials")
	form.Set("scope", s.o.scope)
	u := strings.TrimRight(s.o.authority, "/") + "/" + url.PathEscape(tenantID) + "/oauth2/v2.0/token"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		return "", 0, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return s.do(req)
}

// tokenResponse is Entra ID's and the identity endpoints' answer; the
// identity endpoints send the numbers as strings.
type tokenResponse struct {
	AccessToken string          `json:"access_token"`
	ExpiresIn   json.RawMessage `json:"expires_in"`
	Error       string          `json:"error"`
	Description string          `json:"error_description"`
}

// do sends a token request and reads the token and its lifetime.
func (s *TokenSource) do(req *http.Request) (string, time.Duration, error) {
	res, err := s.o.client.Do(req)
	if err != nil {
		return "", 0, err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		return "", 0, err
	}
	var w tokenResponse
	jerr := json.Unmarshal(body, &w)
	switch {
	case res.StatusCode != http.StatusOK && w.Error != "":
		return "", 0, fmt.Errorf("%s (%d %s): %s", req.URL.Host, res.StatusCode, w.Error, w.Description)
	case res.StatusCode != http.StatusOK:
		return "", 0, fmt.Errorf("%s answered %d", req.URL.Host, res.StatusCode)
	case jerr != nil || w.AccessToken == "":
		return "", 0, fmt.Errorf("%s answered no access token", req.URL.Host)
	}
	secs, err := strconv.ParseInt(strings.Trim(string(w.ExpiresIn), `"`), 10, 64)
	if err != nil || secs <= 0 {
		secs = 3600 // Entra ID tokens last at least an hour
	}
	return w.AccessToken, time.Duration(secs) * time.Second, nil
}
