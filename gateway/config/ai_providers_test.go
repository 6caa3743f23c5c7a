package config_test

import (
	"fmt"
	"github.com/portico-dev/portico/gateway/internal/gwtest"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/portico-dev/portico/aiclient/aitest"
	"github.com/portico-dev/portico/gateway/config"
)

// cloudConfig declares one provider of each cloud type, and Azure twice
// (a key, and Entra ID), all on fakes.
const cloudConfig = `
consumers:
  - {id: app, api_keys: [{id: app-1, secret: "app-key"}]}
ai:
  providers:
    - {name: azure-key, type: azure, base_url: "%[1]s", api_version: "2025-01-01", deployment: gpt-4o-prod, api_key: azure-secret}
    - name: azure-entra
      type: azure
      base_url: "%[1]s"
      entra: {tenant_id: contoso, client_id: app-id, client_secret: app-secret, authority_host: "%[2]s"}
    - {name: bedrock, type: bedrock, base_url: "%[3]s", region: eu-central-1, access_key_id: "%[4]s", secret_access_key: "%[5]s"}
    - {name: vertex, type: vertex, base_url: "%[6]s", location: europe-west4, credentials_file: "%[7]s"}
  models:
    - {alias: azure-key, candidates: [{provider: azure-key, model: gpt-4o}]}
    - {alias: azure-entra, candidates: [{provider: azure-entra, model: gpt-4o-mini}]}
    - {alias: claude, candidates: [{provider: bedrock, model: "anthropic.claude-3-5-haiku-20241022-v1:0"}]}
    - {alias: gemini, candidates: [{provider: vertex, model: gemini-2.5-flash}]}
`

type cloudFakes struct {
	azure, bedrock, vertex *aitest.Server
	gateway                string
}

func newCloudFakes(t *testing.T) *cloudFakes {
	t.Helper()
	f := &cloudFakes{azure: aitest.NewServer(aitest.OpenAI), bedrock: aitest.NewServer(aitest.Bedrock), vertex: aitest.NewServer(aitest.Vertex)}
	for _, s := range []*aitest.Server{f.azure, f.bedrock, f.vertex} {
		t.Cleanup(s.Close)
	}
	login := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil || r.PostForm.Get("client_secret") != "app-secret" || r.URL.Path != "/contoso/oauth2/v2.0/token" {
			w.WriteHeader(http.StatusUnauthorized)
			w.Write([]byte(`{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided."}`))
			return
		}
		w.Write([]byte(`{"token_type":"Bearer","expires_in":3599,"access_token":"entra-access-token"}`))
	}))
	t.Cleanup(login.Close)
	key := filepath.Join(t.TempDir(), "vertex-sa.json")
	if err := os.WriteFile(key, f.vertex.ServiceAccount(), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := fmt.Sprintf(cloudConfig, strings.TrimSuffix(f.azure.URL(), "/v1"), login.URL, f.bedrock.URL(),
		aitest.AWSAccessKeyID, aitest.AWSSecretAccessKey, f.vertex.URL(), key)
	f.gateway = gwtest.AIGateway(t, cfg).URL
	return f
}

// providerCalls are the calls srv received after the first before, token
// requests left out.
func providerCalls(srv *aitest.Server, before int) []aitest.Recorded {
	var calls []aitest.Recorded
	for _, r := range srv.Requests()[before:] {
		if r.Path != "/token" {
			calls = append(calls, r)
		}
	}
	return calls
}

func TestCloudProvidersServeTheirAliasesWholeAndStreamed(t *testing.T) {
	t.Parallel()
	f := newCloudFakes(t)
	tests := []struct {
		alias string
		srv   *aitest.Server
		path  string
		check func(t *testing.T, h http.Header)
	}{
		{
			alias: "azure-key",
			srv:   f.azure,
			path:  "/openai/deployments/gpt-4o-prod/chat/completions",
			check: func(t *testing.T, h http.Header) {
				if got, want := h.Get("api-key"), "azure-secret"; got != want {
					t.Errorf("api-key %q, want %q", got, want)
				}
			},
		},
		{
			alias: "azure-entra",
			srv:   f.azure,
			path:  "/openai/deployments/gpt-4o-mini/chat/completions",
			check: func(t *testing.T, h http.Header) {
				if got, want := h.Get("Authorization"), "Bearer entra-access-token"; got != want {
					t.Errorf("authorization %q, want %q", got, want)
				}
			},
		},
		{
			alias: "claude",
			srv:   f.bedrock,
			path:  "/model/anthropic.claude-3-5-haiku-20241022-v1:0/converse",
			check: func(t *testing.T, h http.Header) {
				if got := h.Get("Authorization"); !strings.Contains(got, "/eu-central-1/bedrock/aws4_request") {
					t.Errorf("authorization %q is not a SigV4 signature for eu-central-1", got)
				}
			},
		},
		{
			alias: "gemini",
			srv:   f.vertex,
			path:  "/v1/projects/aitest-project/locations/europe-west4/publishers/google/models/gemini-2.5-flash:generateContent",
			check: func(t *testing.T, h http.Header) {
				if got := h.Get("Authorization"); !strings.HasPrefix(got, "Bearer ya29.") {
					t.Errorf("authorization %q is not an OAuth access token", got)
				}
			},
		},
	}
	// One at a time: the two Azure aliases share a fake.
	for _, tt := range tests {
		t.Run("the "+tt.alias+" alias", func(t *testing.T) {
			before := len(tt.srv.Requests())
			tt.srv.Push(aitest.Text("Hello from "+tt.alias+".", 7, 5), aitest.Text("Streamed from "+tt.alias+".", 7, 5))
			status, _, body := gwtest.AIPost(t, f.gateway+"/v1/chat/completions", "app-key", `{"model":"`+tt.alias+`","messages":[{"role":"user","content":"hi"}]}`)
			if got, want := status, http.StatusOK; got != want {
				t.Fatalf("whole: status %d, want %d: %s", got, want, body)
			}
			if want := `"content":"Hello from ` + tt.alias + `."`; !strings.Contains(body, want) {
				t.Fatalf("whole: %s, want %s", body, want)
			}
			status, _, body = gwtest.AIPost(t, f.gateway+"/v1/chat/completions", "app-key",
				`{"model":"`+tt.alias+`","stream":true,"messages":[{"role":"user","content":"hi"}]}`)
			if got, want := status, http.StatusOK; got != want {
				t.Fatalf("streamed: status %d, want %d: %s", got, want, body)
			}
			if !strings.Contains(body, "data: [DONE]") {
				t.Fatalf("streamed: %s, want it to end with [DONE]", body)
			}
			var got strings.Builder
			for _, line := range strings.Split(body, "\n") {
				if i := strings.Index(line, `"content":"`); i >= 0 {
					got.WriteString(strings.SplitN(line[i+len(`"content":"`):], `"`, 2)[0])
				}
			}
			if want := "Streamed from " + tt.alias + "."; got.String() != want {
				t.Errorf("streamed text %q, want %q", got.String(), want)
			}
			calls := providerCalls(tt.srv, before)
			if got, want := calls[0].Path, tt.path; got != want {
				t.Errorf("path %q, want %q", got, want)
			}
			tt.check(t, calls[0].Header)
		})
	}
}

func TestABedrockThrottleAnswers429(t *testing.T) {
	t.Parallel()
	f := newCloudFakes(t)
	f.bedrock.Push(aitest.Reply{Status: 429, ErrorCode: "ThrottlingException", ErrorMessage: "Too many requests, please wait before trying again."})
	status, h, body := gwtest.AIPost(t, f.gateway+"/v1/chat/completions", "app-key", `{"model":"claude","messages":[{"role":"user","content":"hi"}]}`)
	if got, want := status, http.StatusTooManyRequests; got != want {
		t.Fatalf("status %d, want %d: %s", got, want, body)
	}
	if !strings.Contains(body, `"code":"rate_limit_exceeded"`) {
		t.Errorf("body %s is not OpenAI's rate-limit error", body)
	}
	if h.Get("Retry-After") == "" {
		t.Error("no Retry-After")
	}
}

func TestCloudProviderSettingsAreCheckedAtBuild(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, provider, path, want string
	}{
		{
			name:     "an azure provider needs its endpoint",
			provider: `{name: p, type: azure, api_key: k}`,
			path:     "ai.providers[0].base_url",
			want:     "resource endpoint",
		},
		{
			name:     "an azure provider needs a key or Entra ID",
			provider: `{name: p, type: azure, base_url: "https://x.openai.azure.com"}`,
			path:     "ai.providers[0].api_key",
			want:     "or entra",
		},
		{
			name:     "an azure provider takes one credential",
			provider: `{name: p, type: azure, base_url: "https://x", api_key: k, entra: {managed_identity: true}}`,
			path:     "ai.providers[0].entra",
			want:     "both set",
		},
		{
			name:     "Entra ID needs exactly one way",
			provider: `{name: p, type: azure, base_url: "https://x", entra: {tenant_id: t, client_id: c}}`,
			path:     "ai.providers[0].entra",
			want:     "exactly one",
		},
		{
			name:     "a client secret needs its tenant",
			provider: `{name: p, type: azure, base_url: "https://x", entra: {client_id: c, client_secret: s}}`,
			path:     "ai.providers[0].entra.tenant_id",
			want:     "is required",
		},
		{
			name:     "a region belongs to bedrock",
			provider: `{name: p, type: openai, region: us-east-1}`,
			path:     "ai.providers[0].region",
			want:     "type bedrock only",
		},
		{
			name:     "a project belongs to vertex",
			provider: `{name: p, type: bedrock, region: us-east-1, project: x}`,
			path:     "ai.providers[0].project",
			want:     "type vertex only",
		},
		{
			name:     "an api_version belongs to azure",
			provider: `{name: p, type: vertex, api_version: "2024-10-21"}`,
			path:     "ai.providers[0].api_version",
			want:     "type azure only",
		},
		{
			name:     "an access key needs its secret",
			provider: `{name: p, type: bedrock, region: us-east-1, access_key_id: AKID}`,
			path:     "ai.providers[0].secret_access_key",
			want:     "is required",
		},
		{
			name:     "a secret key needs its access key",
			provider: `{name: p, type: bedrock, region: us-east-1, secret_access_key: s}`,
			path:     "ai.providers[0].access_key_id",
			want:     "is required",
		},
		{
			name:     "a bedrock provider takes one credential",
			provider: `{name: p, type: bedrock, region: us-east-1, access_key_id: AKID, secret_access_key: s, api_key: k}`,
			path:     "ai.providers[0].api_key",
			want:     "both set",
		},
		{
			name:     "a bedrock endpoint must be absolute",
			provider: `{name: p, type: bedrock, region: us-east-1, api_key: k, base_url: "bedrock.internal"}`,
			path:     "ai.providers[0].base_url",
			want:     "absolute URL",
		},
		{
			name:     "a vertex endpoint must be absolute",
			provider: `{name: p, type: vertex, project: x, credentials_file: "KEY", base_url: "vertex.internal"}`,
			path:     "ai.providers[0].base_url",
			want:     "absolute URL",
		},
		{
			name:     "vertex takes no API key",
			provider: `{name: p, type: vertex, project: x, api_key: k}`,
			path:     "ai.providers[0].api_key",
			want:     "OAuth 2.0",
		},
		{
			name:     "a missing credentials file is named",
			provider: `{name: p, type: vertex, project: x, credentials_file: /nonexistent/sa.json}`,
			path:     "ai.providers[0].credentials_file",
			want:     "reading the credentials file",
		},
		{
			name:     "an unknown type lists the cloud types",
			provider: `{name: p, type: sagemaker}`,
			path:     "ai.providers[0].type",
			want:     "azure, bedrock, vertex",
		},
	}
	vertex := aitest.NewServer(aitest.Vertex)
	t.Cleanup(vertex.Close)
	key := filepath.Join(t.TempDir(), "vertex-sa.json")
	if err := os.WriteFile(key, vertex.ServiceAccount(), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			provider := strings.ReplaceAll(tt.provider, "KEY", key)
			c, err := config.Parse("ai.yaml", []byte("ai:\n  providers:\n    - "+provider+"\n"), func(string) (string, bool) { return "", false })
			if err != nil {
				t.Fatal(err)
			}
			g, err := c.Build()
			if err == nil {
				g.Close()
				t.Fatal("the build succeeded")
			}
			if !strings.Contains(err.Error(), tt.path+": ") {
				t.Errorf("error %q does not name %s", err, tt.path)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not say %q", err, tt.want)
			}
		})
	}
}

func TestOptionalCloudProvidersAreDroppedWithoutTheirIdentity(t *testing.T) {
	t.Parallel()
	srv := gwtest.AIGateway(t, `
consumers:
  - {id: app, api_keys: [{id: app-1, secret: "app-key"}]}
ai:
  providers:
    - {name: demo, type: demo}
    - {name: bedrock, type: bedrock, region: "${AWS_REGION:-}", optional: true}
    - {name: vertex, type: vertex, project: "${GOOGLE_CLOUD_PROJECT:-}", optional: true}
    - {name: azure, type: azure, base_url: "https://x.openai.azure.com", api_key: "${AZURE_OPENAI_API_KEY:-}", optional: true}
  models:
    - {alias: smart, candidates: [{provider: bedrock, model: m}, {provider: vertex, model: m}, {provider: azure, model: m}, {provider: demo, priority: 1}]}
`)
	status, _, body := gwtest.AIPost(t, srv.URL+"/v1/chat/completions", "app-key", `{"model":"smart","messages":[{"role":"user","content":"hi"}]}`)
	if got, want := status, http.StatusOK; got != want {
		t.Fatalf("status %d, want %d: %s", got, want, body)
	}
	if !strings.Contains(body, "You said: hi") {
		t.Fatalf("body %s, want the demo's echo", body)
	}
}
