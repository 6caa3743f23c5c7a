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
		{"azure-key", f.azure, "/openai/deployments/gpt-4o-prod/chat/completions", func(t *testing.T, h http.Header) {
			if got, want := h.Get("api-key"), "azure-secret"; got != want {
				t.Errorf("api-key %q, want %q", got, want)
			}
		}},
		{"azure-entra", f.azure, "/openai/deployments/gpt-4o-mini/chat/completions", func(t *testing.T, h http.Header) {
			if got, want := h.Get("Authorization"), "Bearer entra-access-token"; got != want {
				t.Errorf("authorization %q, want %q", got, want)
			}
		}},
		{"claude", f.bedrock, "/model/anthropic.claude-3-5-haiku-20241022-v1:0/converse", func(t *testing.T, h http.Header) {
			if got := h.Get("Authorization"); !strings.Contains(got, "/eu-central-1/bedrock/aws4_request") {
				t.Errorf("authorization %q is not a SigV4 signature for eu-central-1", got)
			}
		}},
		{"gemini", f.vertex, "/v1/projects/aitest-project/locations/europe-west4/publishers/google/models/gemini-2.5-flash:generateContent", func(t *testing.T, h http.Header) {
			if got := h.Get("Authorization"); !strings.HasPrefix(got, "Bearer ya29.") {
				t.Errorf("authorization %q is not an OAuth access token", got)
			}
		}},
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
		{"an azure provider needs its endpoint", `{name: p, type: azure, api_key: k}`, "ai.providers[0].base_url", "resource endpoint"},
		{"an azure provider needs a key or Entra ID", `{name: p, type: azure, base_url: "https://x.openai.azure.com"}`, "ai.providers[0].api_key", "or entra"},
		{"an azure provider takes one credential", `{name: p, type: azure, base_url: "https://x", api_key: k, entra: {managed_identity: true}}`, "ai.providers[0].entra", "both set"},
		{"Entra ID needs exactly one way", `{name: p, type: azure, base_url: "https://x", entra: {tenant_id: t, client_id: c}}`, "ai.providers[0].entra", "exactly one"},
		{"a client secret needs its tenant", `{name: p, type: azure, base_url: "https://x", entra: {client_id: c, client_secret: s}}`, "ai.providers[0].entra.tenant_id", "is required"},
		{"a region belongs to bedrock", `{name: p, type: openai, region: us-east-1}`, "ai.providers[0].region", "type bedrock only"},
		{"a project belongs to vertex", `{name: p, type: bedrock, region: us-east-1, project: x}`, "ai.providers[0].project", "type vertex only"},
		{"an api_version belongs to azure", `{name: p, type: vertex, api_version: "2024-10-21"}`, "ai.providers[0].api_version", "type azure only"},
		{"an access key needs its secret", `{name: p, type: bedrock, region: us-east-1, access_key_id: AKID}`, "ai.providers[0].secret_access_key", "is required"},
		{"a secret key needs its access key", `{name: p, type: bedrock, region: us-east-1, secret_access_key: s}`, "ai.providers[0].access_key_id", "is required"},
		{"a bedrock provider takes one credential", `{name: p, type: bedrock, region: us-east-1, access_key_id: AKID, secret_access_key: s, api_key: k}`,
			"ai.providers[0].api_key", "both set"},
		{"a bedrock endpoint must be absolute", `{name: p, type: bedrock, region: us-east-1, api_key: k, base_url: "bedrock.internal"}`, "ai.providers[0].base_url", "absolute URL"},
		{"a vertex endpoint must be absolute", `{name: p, type: vertex, project: x, credentials_file: "KEY", base_url: "vertex.internal"}`, "ai.providers[0].base_url", "absolute URL"},
		{"vertex takes no API key", `{name: p, type: vertex, project: x, api_key: k}`, "ai.providers[0].api_key", "OAuth 2.0"},
		{"a missing credentials file is named", `{name: p, type: vertex, project: x, credentials_file: /nonexistent/sa.json}`, "ai.providers[0].credentials_file", "reading the credentials file"},
		{"an unknown type lists the cloud types", `{name: p, type: sagemaker}`, "ai.providers[0].type", "azure, bedrock, vertex"},
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
