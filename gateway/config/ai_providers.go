package config

import (
	"cmp"
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/portico-dev/portico/aiclient"
	"github.com/portico-dev/portico/aiclient/bedrock"
	"github.com/portico-dev/portico/aiclient/entra"
	"github.com/portico-dev/portico/aiclient/openai"
	"github.com/portico-dev/portico/aiclient/vertex"
	"github.com/portico-dev/portico/gateway"
)

// DefaultAzureAPIVersion is the Azure OpenAI API version an azure provider
// uses unless it names one.
const DefaultAzureAPIVersion = "2024-10-21"

// AICloud holds the settings of the cloud provider types, promoted into
// [AIProvider]: each applies to one type, and setting it on another is a
// build error.
type AICloud struct {
	// APIVersion is the Azure OpenAI API version (type azure). By
	// default, [DefaultAzureAPIVersion].
	APIVersion string `yaml:"api_version"`
	// Deployment is the Azure OpenAI deployment every call goes to (type
	// azure), so candidates and prices name the model. By default, the
	// candidate's model names the deployment.
	Deployment string `yaml:"deployment"`
	// Entra authenticates with Microsoft Entra ID instead of api_key
	// (type azure). By default, api_key is sent.
	Entra *AIEntra `yaml:"entra"`

	// Region is the AWS region (type bedrock). By default, that of the
	// AWS configuration (AWS_REGION, or the profile's).
	Region string `yaml:"region"`
	// Profile is the AWS shared configuration profile the credentials and
	// region come from (type bedrock). By default, AWS_PROFILE or
	// "default".
	Profile string `yaml:"profile"`
	// AccessKeyID, SecretAccessKey and SessionToken are static AWS
	// credentials, usually ${ENV} references (type bedrock). By default,
	// the AWS SDK's default credential chain (environment, shared files,
	// SSO, web identity, container and instance roles); api_key sends a
	// Bedrock API key instead.
	AccessKeyID     string `yaml:"access_key_id"`
	SecretAccessKey string `yaml:"secret_access_key"`
	SessionToken    string `yaml:"session_token"`

	// Project is the Google Cloud project (type vertex). By default, the
	// project of the credentials.
	Project string `yaml:"project"`
	// Location is the Vertex AI region, or "global" (type vertex). By
	// default, "us-central1".
	Location string `yaml:"location"`
	// CredentialsFile is a service account key or another Application
	// Default Credentials file (type vertex). By default, Application
	// Default Credentials.
	CredentialsFile string `yaml:"credentials_file"`
}

// AIEntra is how an azure provider gets Microsoft Entra ID tokens: one of
// a client secret, a federated token file (workload identity, as AKS sets
// it up) or the managed identity.
type AIEntra struct {
	// TenantID and ClientID are the directory and the app registration
	// (or, for a user-assigned managed identity, its client ID).
	TenantID string `yaml:"tenant_id"`
	ClientID string `yaml:"client_id"`
	// ClientSecret is the app registration's secret.
	ClientSecret string `yaml:"client_secret"`
	// FederatedTokenFile is the Kubernetes service account token file,
	// usually ${AZURE_FEDERATED_TOKEN_FILE}.
	FederatedTokenFile string `yaml:"federated_token_file"`
	// ManagedIdentity uses the resource's managed identity.
	ManagedIdentity bool `yaml:"managed_identity"`
	// AuthorityHost is the Entra ID host. By default,
	// https://login.microsoftonline.com.
	AuthorityHost string `yaml:"authority_host"`
	// Scope is the tokens' scope. By default,
	// https://cognitiveservices.azure.com/.default.
	Scope string `yaml:"scope"`
}

// configured reports whether an optional provider has what it needs to
// be kept: its api_key, or for the cloud types their identity (an Entra
// ID setting for azure, the region for bedrock, the project for vertex).
func (p AIProvider) configured() bool {
	switch p.Type {
	case "azure":
		return p.APIKey != "" || p.Entra != nil
	case "bedrock":
		return p.APIKey != "" || p.Region != ""
	case "vertex":
		return p.Project != ""
	}
	return p.APIKey != ""
}

// providerErr places a provider's build error: under the field it names,
// or under type.
func providerErr(at string, err error) error {
	if fe, ok := errors.AsType[*gateway.FieldError](err); ok && fe.Path != "" {
		return fieldErr(at+"."+fe.Path, "%s", fe.Msg)
	}
	return fieldErr(at+".type", "%v", err)
}

// cloud builds the adapter of an azure, bedrock or vertex provider, and
// refuses a cloud setting on a type it does not apply to. It reports
// whether p is of a cloud type.
func (p AIProvider) cloud(hc *http.Client) (aiclient.Provider, bool, error) {
	if err := p.misplaced(); err != nil {
		return nil, true, err
	}
	switch p.Type {
	case "azure":
		pv, err := p.azure(hc)
		return pv, true, err
	case "bedrock":
		pv, err := p.bedrock(hc)
		return pv, true, err
	case "vertex":
		pv, err := p.vertex(hc)
		return pv, true, err
	}
	return nil, false, nil
}

// misplaced refuses a cloud setting on a type it does not apply to.
func (p AIProvider) misplaced() error {
	for _, f := range []struct {
		name, typ string
		set       bool
	}{
		{"api_version", "azure", p.APIVersion != ""}, {"deployment", "azure", p.Deployment != ""}, {"entra", "azure", p.Entra != nil},
		{"region", "bedrock", p.Region != ""}, {"profile", "bedrock", p.Profile != ""}, {"access_key_id", "bedrock", p.AccessKeyID != ""},
		{"secret_access_key", "bedrock", p.SecretAccessKey != ""}, {"session_token", "bedrock", p.SessionToken != ""},
		{"project", "vertex", p.Project != ""}, {"location", "vertex", p.Location != ""}, {"credentials_file", "vertex", p.CredentialsFile != ""},
	} {
		if f.set && p.Type != f.typ {
			return fieldErr(f.name, "applies to type %s only, not %q", f.typ, p.Type)
		}
	}
	return nil
}

// azure is Azure OpenAI: the openai adapter with Azure's deployment URLs,
// authenticated by an API key or an Entra ID token.
func (p AIProvider) azure(hc *http.Client) (aiclient.Provider, error) {
	if p.BaseURL == "" {
		return nil, fieldErr("base_url", "is required: the resource endpoint, such as https://NAME.openai.azure.com")
	}
	opts := []openai.Option{openai.WithBaseURL(p.BaseURL), openai.WithAzure(cmp.Or(p.APIVersion, DefaultAzureAPIVersion)), openai.WithHTTPClient(hc)}
	if p.Deployment != "" {
		opts = append(opts, openai.WithDeployment(p.Deployment))
	}
	switch {
	case p.APIKey != "" && p.Entra != nil:
		return nil, fieldErr("entra", "and api_key are both set; an azure provider authenticates with one")
	case p.Entra != nil:
		ts, err := p.Entra.source()
		if err != nil {
			return nil, err
		}
		opts = append(opts, openai.WithToken(ts.Token))
	case p.APIKey != "":
		opts = append(opts, openai.WithAPIKey(p.APIKey))
	default:
		return nil, fieldErr("api_key", "is required, or entra for Microsoft Entra ID tokens")
	}
	for k, v := range p.Headers {
		opts = append(opts, openai.WithHeader(k, v))
	}
	if p.MaxRetryWait > 0 {
		opts = append(opts, openai.WithMaxRetryWait(p.MaxRetryWait))
	}
	return openai.New(opts...), nil
}

// source returns the token source of e, which must name one way.
func (e *AIEntra) source() (*entra.TokenSource, error) {
	var opts []entra.Option
	if e.AuthorityHost != "" {
		opts = append(opts, entra.WithAuthorityHost(e.AuthorityHost))
	}
	if e.Scope != "" {
		opts = append(opts, entra.WithScope(e.Scope))
	}
	ways := 0
	for _, set := range []bool{e.ClientSecret != "", e.FederatedTokenFile != "", e.ManagedIdentity} {
		if set {
			ways++
		}
	}
	if ways != 1 {
		return nil, fieldErr("entra", "needs exactly one of client_secret, federated_token_file or managed_identity: true")
	}
	if e.ManagedIdentity {
		return entra.ManagedIdentity(e.ClientID, opts...), nil
	}
	for _, f := range []struct{ name, v string }{{"tenant_id", e.TenantID}, {"client_id", e.ClientID}} {
		if f.v == "" {
			return nil, fieldErr("entra."+f.name, "is required with client_secret or federated_token_file")
		}
	}
	if e.ClientSecret != "" {
		return entra.ClientSecret(e.TenantID, e.ClientID, e.ClientSecret, opts...), nil
	}
	return entra.WorkloadIdentity(e.TenantID, e.ClientID, e.FederatedTokenFile, opts...), nil
}

// bedrock is Amazon Bedrock's Converse API, signed with the AWS SDK's
// credentials, or authenticated by a Bedrock API key.
func (p AIProvider) bedrock(hc *http.Client) (aiclient.Provider, error) {
	opts := []bedrock.Option{bedrock.WithHTTPClient(hc)}
	if p.Region != "" {
		opts = append(opts, bedrock.WithRegion(p.Region))
	}
	if p.Profile != "" {
		opts = append(opts, bedrock.WithProfile(p.Profile))
	}
	switch {
	case p.AccessKeyID != "" && p.SecretAccessKey == "":
		return nil, fieldErr("secret_access_key", "is required with access_key_id")
	case p.AccessKeyID == "" && (p.SecretAccessKey != "" || p.SessionToken != ""):
		return nil, fieldErr("access_key_id", "is required with secret_access_key and session_token")
	case p.AccessKeyID != "" && p.APIKey != "":
		return nil, fieldErr("api_key", "and access_key_id are both set; a bedrock provider authenticates with one")
	case p.AccessKeyID != "":
		opts = append(opts, bedrock.WithCredentials(credentials.NewStaticCredentialsProvider(p.AccessKeyID, p.SecretAccessKey, p.SessionToken)))
	case p.APIKey != "":
		opts = append(opts, bedrock.WithAPIKey(p.APIKey))
	}
	opts = shared(p, opts, bedrock.WithBaseURL, bedrock.WithHeader, bedrock.WithMaxRetryWait)
	pv, err := bedrock.New(context.Background(), opts...)
	if err != nil {
		return nil, cloudErr(err, "region")
	}
	return pv, nil
}

// vertex is Gemini on Vertex AI, with OAuth 2.0 tokens of a service
// account key or Application Default Credentials.
func (p AIProvider) vertex(hc *http.Client) (aiclient.Provider, error) {
	if p.APIKey != "" {
		return nil, fieldErr("api_key", "is not used by type vertex, which authenticates with OAuth 2.0: set credentials_file, or leave it out for Application Default Credentials")
	}
	opts := []vertex.Option{vertex.WithHTTPClient(hc)}
	if p.Project != "" {
		opts = append(opts, vertex.WithProject(p.Project))
	}
	if p.Location != "" {
		opts = append(opts, vertex.WithLocation(p.Location))
	}
	if p.CredentialsFile != "" {
		opts = append(opts, vertex.WithCredentialsFile(p.CredentialsFile))
	}
	opts = shared(p, opts, vertex.WithBaseURL, vertex.WithHeader, vertex.WithMaxRetryWait)
	pv, err := vertex.New(context.Background(), opts...)
	if err != nil {
		return nil, cloudErr(err, "credentials_file")
	}
	return pv, nil
}

// cloudErr places an adapter's construction error under the field it is
// most likely about.
func cloudErr(err error, field string) error {
	msg := strings.TrimPrefix(strings.TrimPrefix(err.Error(), "portico/bedrock: "), "portico/vertex: ")
	switch {
	case strings.Contains(msg, "base URL") || strings.Contains(msg, "WithBaseURL"):
		field = "base_url"
	case strings.Contains(msg, "project"):
		field = "project"
	}
	return fieldErr(field, "%s", msg)
}
