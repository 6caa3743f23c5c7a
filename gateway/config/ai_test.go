package config_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/portico-dev/portico/gateway"
	"github.com/portico-dev/portico/gateway/config"
	"github.com/portico-dev/portico/gateway/internal/gwtest"
)

const aiConfig = `
consumers:
  - id: demo
    tenant: trial
    api_keys:
      - {id: demo-1, secret: "portico-demo-key"}
ai:
  providers:
    - {name: demo, type: demo}
    - {name: openai, type: openai, api_key: "${OPENAI_API_KEY:-}", optional: true}
  models:
    - alias: demo
      candidates: [{provider: demo}]
    - alias: gpt
      candidates: [{provider: openai, model: gpt-4o-mini}]
  prices:
    portico-demo: {input: 1, output: 2}
  limits:
    - {by: consumer, requests: 2, window: 1m}
  prompts:
    - name: shout
      model: demo
      messages: [{role: user, text: "Shout {{.text}}"}]
      input: '{"type":"object","required":["text"],"properties":{"text":{"type":"string"}}}'
`

func TestPromptAPIsArePublishedWithTheOtherDocs(t *testing.T) {
	t.Parallel()
	c, err := config.Parse("ai.yaml", []byte(aiConfig), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	g, err := c.Build()
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	admin := httptest.NewServer(gateway.Admin(gateway.AdminConfig{Gateway: func() *gateway.Gateway { return g }}))
	defer admin.Close()
	resp, err := http.Get(admin.URL + "/apis/prompts/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if got, want := resp.StatusCode, http.StatusOK; got != want {
		t.Errorf("status %d, want %d: %s", got, want, b)
	}
	if !strings.Contains(strings.ReplaceAll(string(b), " ", ""), `"operationId":"shout"`) {
		t.Errorf("document %s lacks operationId shout", b)
	}
}

func TestAIEndpointsFromTheConfigFile(t *testing.T) {
	t.Parallel()
	srv := gwtest.AIGateway(t, aiConfig)
	chat := `{"model":"demo","messages":[{"role":"user","content":"hi"}]}`
	tests := []struct {
		name, path, key, body string
		status                int
		want                  string
	}{
		{
			name:   "the demo consumer's key calls the demo alias",
			path:   "/v1/chat/completions",
			key:    "portico-demo-key",
			body:   chat,
			status: 200,
			want:   `"content":"You said: hi"`,
		},
		{
			name:   "a missing key is refused in OpenAI's format",
			path:   "/v1/chat/completions",
			key:    "",
			body:   chat,
			status: 401,
			want:   `"code":"invalid_api_key"`,
		},
		{
			name:   "an alias whose provider has no key is not served",
			path:   "/v1/chat/completions",
			key:    "portico-demo-key",
			body:   `{"model":"gpt","messages":[{"role":"user","content":"hi"}]}`,
			status: 404,
			want:   `"code":"model_not_found"`,
		},
		{
			name:   "a prompt API is served at its path",
			path:   "/prompts/shout",
			key:    "portico-demo-key",
			body:   `{"text":"hey"}`,
			status: 200,
			want:   `"result":"You said: Shout hey"`,
		},
		{
			name:   "the request limit answers 429 in OpenAI's format",
			path:   "/v1/chat/completions",
			key:    "portico-demo-key",
			body:   chat,
			status: 429,
			want:   `"code":"rate_limit_exceeded"`,
		},
	}
	for _, tt := range tests {
		status, _, body := gwtest.AIPost(t, srv.URL+tt.path, tt.key, tt.body)
		if got, want := status, tt.status; got != want {
			t.Errorf("%s: status %d, want %d: %s", tt.name, got, want, body)
		}
		if !strings.Contains(body, tt.want) {
			t.Errorf("%s: body %s, want %s", tt.name, body, tt.want)
		}
	}
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/v1/models", nil)
	req.Header.Set("Authorization", "Bearer portico-demo-key")
	if resp, err := http.DefaultClient.Do(req); err != nil {
		t.Error(err)
	} else {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.Contains(string(b), `"id":"demo"`) {
			t.Errorf("models %s lack demo", b)
		}
		if strings.Contains(string(b), "gpt") {
			t.Errorf("models %s show a gpt model the key may not use", b)
		}
	}
	status, _, body := gwtest.AIPost(t, srv.URL+"/api/none", "", "")
	var p map[string]any
	if got, want := status, http.StatusNotFound; got != want {
		t.Errorf("other paths still reach the routes: status %d, want %d: %s", got, want, body)
	}
	if err := json.Unmarshal([]byte(body), &p); err != nil {
		t.Errorf("other paths: not a problem document: %s: %v", body, err)
	}
	if p["status"] == nil {
		t.Errorf("other paths: the problem has no status: %s", body)
	}
}

func TestAIConfigErrorsNameTheField(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, cfg, want string
	}{
		{"an unknown provider type", "ai:\n  providers: [{name: x, type: llama}]\n", "ai.providers[0].type"},
		{"a candidate naming no provider", "ai:\n  models: [{alias: a, candidates: [{provider: nope}]}]\n", "ai.models[0].candidates[0].provider"},
		{"a bad limit", "ai:\n  providers: [{name: d, type: demo}]\n  limits: [{by: planet, tokens: 5}]\n", "ai.limits[0].by"},
		{"a budget covering a model without a price",
			"ai:\n  providers: [{name: d, type: demo}]\n  models: [{alias: a, candidates: [{provider: d, model: m1}]}]\n  budgets: [{usd: 5}]\n",
			`ai.budgets[0]: covers model "m1" (ai.models[0].candidates[0])`},
		{"a budget covering the model of an optional provider left out",
			"ai:\n  providers: [{name: d, type: demo}, {name: o, type: openai, optional: true}]\n  prices: {m1: {input: 1}}\n" +
				"  models: [{alias: a, candidates: [{provider: d, model: m1}, {provider: o, model: gpt-x}]}]\n  budgets: [{usd: 5}]\n",
			`covers model "gpt-x" (ai.models[0].candidates[1]) of alias "a", which has no price`},
		{"a prompt schema that is not JSON", "ai:\n  providers: [{name: d, type: demo}]\n  prompts: [{name: p, model: d, messages: [{role: user, text: x}], input: '{'}]\n", "ai.prompts[0].input"},
	}
	for _, tt := range tests {
		c, err := config.Parse("ai.yaml", []byte(tt.cfg), func(string) (string, bool) { return "", false })
		if err == nil {
			_, err = c.Build()
		}
		if err == nil {
			t.Errorf("%s: error nil, want one naming %s", tt.name, tt.want)
			continue
		}
		if !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want one naming %s", tt.name, err, tt.want)
		}
	}
}

// Regression: a money budget silently never applied to a model without a
// price.
func TestABudgetBuildsWhenEveryModelHasAPrice(t *testing.T) {
	t.Parallel()
	cfg := "ai:\n  providers: [{name: d, type: demo}]\n  prices: {gpt-4o: {input: 2.5, output: 10}, free: {}}\n" +
		"  models: [{alias: a, candidates: [{provider: d, model: gpt-4o-2024-08-06}, {provider: d, model: free}]}]\n  budgets: [{usd: 5}]\n"
	c, err := config.Parse("ai.yaml", []byte(cfg), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	g, err := c.Build()
	if err != nil {
		t.Fatalf("a dated model priced by its family, and a model priced 0, are priced: %v", err)
	}
	g.Close()
}
