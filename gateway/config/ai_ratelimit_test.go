package config_test

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/aiclient/aitest"
	"github.com/portico-dev/portico/gateway/config"
	"github.com/portico-dev/portico/gateway/internal/gwtest"
)

// rateConfig declares one provider of each type on fakes, an alias for
// each, and an alias whose first candidate is rate limited.
const rateConfig = `
consumers:
  - {id: app, api_keys: [{id: app-1, secret: "app-key"}]}
ai:
  providers:
    - {name: openai, type: openai, base_url: "%[1]s", api_key: sk-test%[6]s}
    - {name: anthropic, type: anthropic, base_url: "%[2]s", api_key: sk-ant%[6]s}
    - {name: gemini, type: gemini, base_url: "%[3]s", api_key: g-key%[6]s}
    - {name: vertex, type: vertex, base_url: "%[4]s", credentials_file: "%[5]s"%[6]s}
  models:
    - {alias: openai, candidates: [{provider: openai, model: gpt-4o}]}
    - {alias: anthropic, candidates: [{provider: anthropic, model: claude-sonnet-4-5}]}
    - {alias: gemini, candidates: [{provider: gemini, model: gemini-2.5-flash}]}
    - {alias: vertex, candidates: [{provider: vertex, model: gemini-2.5-flash}]}
    - {alias: spread, candidates: [{provider: openai, model: gpt-4o}, {provider: anthropic, model: claude-sonnet-4-5, priority: 1}]}
`

type rateFakes struct {
	openai, anthropic, gemini, vertex *aitest.Server
	gateway                           string
}

// newRateFakes starts the fakes and a gateway on them; wait, if set, is
// every provider's max_retry_wait.
func newRateFakes(t *testing.T, wait string) *rateFakes {
	t.Helper()
	f := &rateFakes{
		openai:    aitest.NewServer(aitest.OpenAI),
		anthropic: aitest.NewServer(aitest.Anthropic),
		gemini:    aitest.NewServer(aitest.Gemini),
		vertex:    aitest.NewServer(aitest.Vertex),
	}
	for _, s := range []*aitest.Server{f.openai, f.anthropic, f.gemini, f.vertex} {
		t.Cleanup(s.Close)
	}
	key := filepath.Join(t.TempDir(), "vertex-sa.json")
	if err := os.WriteFile(key, f.vertex.ServiceAccount(), 0o600); err != nil {
		t.Fatal(err)
	}
	extra := ""
	if wait != "" {
		extra = ", max_retry_wait: " + wait
	}
	f.gateway = gwtest.AIGateway(t, fmt.Sprintf(rateConfig, f.openai.URL(), f.anthropic.URL(), f.gemini.URL(), f.vertex.URL(), key, extra)).URL
	return f
}

func (f *rateFakes) server(alias string) *aitest.Server {
	return map[string]*aitest.Server{"openai": f.openai, "anthropic": f.anthropic, "gemini": f.gemini, "vertex": f.vertex}[alias]
}

// openAIRateHeaders are the headers OpenAI sends with a 429.
var openAIRateHeaders = http.Header{
	"X-Ratelimit-Limit-Requests":     {"500"},
	"X-Ratelimit-Remaining-Requests": {"0"},
	"X-Ratelimit-Reset-Requests":     {"7s"},
}

func TestAProvider429IsAnsweredAtOnceWithItsRetryAfter(t *testing.T) {
	t.Parallel()
	f := newRateFakes(t, "")
	for _, alias := range []string{"openai", "anthropic", "gemini", "vertex"} {
		for _, api := range []string{"chat", "messages"} {
			for _, stream := range []bool{false, true} {
				name := fmt.Sprintf("%s through %s, stream %v", alias, api, stream)
				t.Run(name, func(t *testing.T) {
					srv := f.server(alias)
					before := len(providerCalls(srv, 0))
					srv.Push(aitest.Reply{Status: 429, RetryAfter: 7 * time.Second, Header: openAIRateHeaders})
					status, h, body := gwtest.AIPost(t, f.gateway+"/v1/"+pathOf(api), "app-key", generation(api, alias, stream))
					if got, want := status, http.StatusTooManyRequests; got != want {
						t.Fatalf("status %d, want %d: %s", got, want, body)
					}
					if got, want := h.Get("Retry-After"), "7"; got != want {
						t.Errorf("Retry-After %q, want %q", got, want)
					}
					if got, want := h.Get("X-Ratelimit-Remaining-Requests"), "0"; got != want {
						t.Errorf("x-ratelimit-remaining-requests %q, want the provider's %q", got, want)
					}
					if got, want := len(providerCalls(srv, 0))-before, 1; got != want {
						t.Errorf("the provider got %d calls, want %d: a wait of 7 s is longer than max_retry_wait", got, want)
					}
					if got := srv.Pending(); got != 0 {
						t.Errorf("%d scripted replies left", got)
					}
				})
			}
		}
	}
}

func pathOf(api string) string {
	if api == "chat" {
		return "chat/completions"
	}
	return "messages"
}

// generation is a request body of the api ("chat" or "messages").
func generation(api, alias string, stream bool) string {
	if api == "chat" {
		return fmt.Sprintf(`{"model":%q,"stream":%v,"messages":[{"role":"user","content":"hi"}]}`, alias, stream)
	}
	return fmt.Sprintf(`{"model":%q,"max_tokens":64,"stream":%v,"messages":[{"role":"user","content":"hi"}]}`, alias, stream)
}

func TestARetryAfterWithinMaxRetryWaitIsWaitedFor(t *testing.T) {
	t.Parallel()
	f := newRateFakes(t, "3s")
	for _, alias := range []string{"openai", "anthropic", "vertex"} {
		t.Run(alias, func(t *testing.T) {
			t.Parallel()
			srv := f.server(alias)
			srv.Push(aitest.Reply{Status: 429, RetryAfter: time.Second}, aitest.Text("after the wait", 3, 3))
			status, _, body := gwtest.AIPost(t, f.gateway+"/v1/chat/completions", "app-key", generation("chat", alias, false))
			if got, want := status, http.StatusOK; got != want {
				t.Fatalf("status %d, want %d: %s", got, want, body)
			}
			if !strings.Contains(body, `"content":"after the wait"`) {
				t.Errorf("body %s", body)
			}
			if got, want := len(providerCalls(srv, 0)), 2; got != want {
				t.Errorf("the provider got %d calls, want %d", got, want)
			}
		})
	}
}

func TestAGatewayFailsOverOnAProvider429(t *testing.T) {
	t.Parallel()
	f := newRateFakes(t, "")
	for _, api := range []string{"chat", "messages"} {
		for _, stream := range []bool{false, true} {
			f.openai.Push(aitest.Reply{Status: 429, RetryAfter: 7 * time.Second, Header: openAIRateHeaders})
			f.anthropic.Push(aitest.Text("served by the next candidate", 3, 4))
			status, _, body := gwtest.AIPost(t, f.gateway+"/v1/"+pathOf(api), "app-key", generation(api, "spread", stream))
			if got, want := status, http.StatusOK; got != want {
				t.Fatalf("%s, stream %v: status %d, want %d: %s", api, stream, got, want, body)
			}
			if !stream && !strings.Contains(body, "served by the next candidate") {
				t.Errorf("%s, stream %v: body %s is not the next candidate's", api, stream, body)
			}
		}
	}
	if got, want := len(f.openai.Requests()), 4; got != want {
		t.Errorf("the rate-limited candidate got %d calls, want %d", got, want)
	}
	if got, want := len(f.anthropic.Requests()), 4; got != want {
		t.Errorf("the next candidate got %d calls, want %d", got, want)
	}
}

// Regression test for issue 18: after five 429s in a row the model's
// circuit breaker answered 503 overloaded instead of the provider's 429,
// and a provider 500 later turned into 503 overloaded too.
func TestFive429sNoLongerOpenTheBreaker(t *testing.T) {
	t.Parallel()
	f := newRateFakes(t, "")
	for i := range 8 {
		f.openai.Push(aitest.Reply{Status: 429, RetryAfter: 7 * time.Second})
		status, _, body := gwtest.AIPost(t, f.gateway+"/v1/chat/completions", "app-key", generation("chat", "openai", false))
		if got, want := status, http.StatusTooManyRequests; got != want {
			t.Fatalf("call %d: status %d, want %d: %s", i, got, want, body)
		}
	}
	if got, want := len(f.openai.Requests()), 8; got != want {
		t.Errorf("the provider got %d calls, want %d", got, want)
	}
	f.openai.Push(aitest.Reply{Status: 500}, aitest.Reply{Status: 500}, aitest.Reply{Status: 500})
	status, _, body := gwtest.AIPost(t, f.gateway+"/v1/chat/completions", "app-key", generation("chat", "openai", false))
	if got, want := status, http.StatusBadGateway; got != want {
		t.Errorf("a provider 500: status %d, want %d: %s", got, want, body)
	}
	if !strings.Contains(body, `"code":"upstream_error"`) {
		t.Errorf("a provider 500: body %s is not an upstream error", body)
	}
	f.anthropic.Push(aitest.Reply{Status: 500}, aitest.Reply{Status: 500}, aitest.Reply{Status: 500})
	status, _, body = gwtest.AIPost(t, f.gateway+"/v1/messages", "app-key", generation("messages", "anthropic", false))
	if got, want := status, http.StatusBadGateway; got != want {
		t.Errorf("a provider 500 on the Messages API: status %d, want %d: %s", got, want, body)
	}
	if !strings.Contains(body, `"type":"api_error"`) {
		t.Errorf("a provider 500 on the Messages API: body %s is not an api_error", body)
	}
}

func TestAnOpenBreakerIsAnUpstreamErrorNotAnOverload(t *testing.T) {
	t.Parallel()
	f := newRateFakes(t, "")
	for range 5 {
		f.anthropic.Push(aitest.Reply{Status: 501}) // not retried, counted
	}
	for range 5 {
		gwtest.AIPost(t, f.gateway+"/v1/messages", "app-key", generation("messages", "anthropic", false))
	}
	status, h, body := gwtest.AIPost(t, f.gateway+"/v1/messages", "app-key", generation("messages", "anthropic", false))
	if got, want := status, http.StatusServiceUnavailable; got != want {
		t.Fatalf("status %d, want %d: %s", got, want, body)
	}
	if strings.Contains(body, "overloaded") {
		t.Errorf("body %s says overloaded; the provider did not", body)
	}
	if h.Get("Retry-After") == "" {
		t.Error("no Retry-After for the cooling-off time")
	}
	if got, want := len(f.anthropic.Requests()), 5; got != want {
		t.Errorf("the provider got %d calls, want %d", got, want)
	}
}

func TestANegativeMaxRetryWaitIsABuildError(t *testing.T) {
	t.Parallel()
	c, err := config.Parse("ai.yaml", []byte("ai:\n  providers: [{name: o, type: openai, api_key: k, max_retry_wait: -1s}]\n"),
		func(string) (string, bool) { return "", false })
	if err == nil {
		_, err = c.Build()
	}
	wantErrContaining(t, err, "ai.providers[0].max_retry_wait")
}

func TestTheBuilderTakesMaxRetryWait(t *testing.T) {
	t.Parallel()
	fake := aitest.NewServer(aitest.OpenAI)
	t.Cleanup(fake.Close)
	provider := func(name string, wait time.Duration) config.AIProvider {
		return config.AIProvider{
			Name:         name,
			Type:         "openai",
			BaseURL:      fake.URL(),
			APIKey:       "sk-test",
			MaxRetryWait: wait,
		}
	}
	_, srv := gwtest.NewGateway(t, config.WithAI(config.AI{
		Providers: []config.AIProvider{provider("patient", 3*time.Second), provider("default", 0)},
		Models: []config.AIModel{
			{Alias: "patient", Candidates: []config.AICandidate{{Provider: "patient", Model: "gpt-4o"}}},
			{Alias: "default", Candidates: []config.AICandidate{{Provider: "default", Model: "gpt-4o"}}},
		},
	}))
	tests := []struct {
		alias  string
		status int
		calls  int
	}{
		{"patient", http.StatusOK, 2},              // a wait of 2 s is within 3 s: retried
		{"default", http.StatusTooManyRequests, 1}, // and longer than the default 1 s: answered
	}
	for _, tt := range tests {
		before := len(fake.Requests())
		fake.Push(aitest.Reply{Status: 429, RetryAfter: 2 * time.Second}, aitest.Text("waited", 1, 1))
		status, _, body := gwtest.AIPost(t, srv.URL+"/v1/chat/completions", "", generation("chat", tt.alias, false))
		if got, want := status, tt.status; got != want {
			t.Errorf("%s: status %d, want %d: %s", tt.alias, got, want, body)
		}
		if got, want := len(fake.Requests())-before, tt.calls; got != want {
			t.Errorf("%s: the provider got %d calls, want %d", tt.alias, got, want)
		}
	}
}
