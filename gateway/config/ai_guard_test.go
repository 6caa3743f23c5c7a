package config_test

import (
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/portico-dev/portico/aiclient/aitest"
	"github.com/portico-dev/portico/gateway"
	"github.com/portico-dev/portico/gateway/config"
	"github.com/portico-dev/portico/gateway/internal/gwtest"
)

func guardConfig(url, extra string) string {
	return fmt.Sprintf(`
consumers:
  - id: app
    tenant: acme
    api_keys: [{id: app-1, secret: app-key}]
ai:
  providers:
    - {name: fake, type: openai, base_url: "%s", api_key: sk}
  models:
    - alias: m
      candidates: [{provider: fake, model: up}]
      guardrails:
        - {name: no-secrets, action: block, detect: secrets}
        - {name: pii, action: mask, detect: email}
        - {name: codenames, action: block, detect: words, words: [bluebird], tenants: [acme]}
%s      cache: {ttl: 1m}
`, url, extra)
}

func buildGuarded(t *testing.T, yaml string, st *gateway.State) (*gateway.Gateway, error) {
	t.Helper()
	c, err := config.Parse("gw.yaml", []byte(yaml), func(string) (string, bool) { return "", false })
	if err != nil {
		return nil, err
	}
	return c.Build(gateway.WithState(st))
}

func TestGuardrailsAndTheCacheFromTheConfigFileOutliveAReload(t *testing.T) {
	t.Parallel()
	fake := aitest.NewServer(aitest.OpenAI)
	t.Cleanup(fake.Close)
	st := gateway.NewState()
	g, err := buildGuarded(t, guardConfig(fake.URL(), ""), st)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(g)
	fake.Push(aitest.Text("Done, <EMAIL_1>.", 5, 2))
	ask := `{"model":"m","messages":[{"role":"user","content":"mail jane@example.com"}]}`
	status, _, body := gwtest.AIPost(t, srv.URL+"/v1/chat/completions", "app-key", ask)
	if got, want := status, 200; got != want {
		t.Fatalf("status %d, want %d: %s", got, want, body)
	}
	if !strings.Contains(body, "Done, jane@example.com.") {
		t.Errorf("answer %s, want the address restored", body)
	}
	if seen := string(fake.Requests()[0].Body); strings.Contains(seen, "jane@example.com") {
		t.Errorf("the provider saw the address: %s", seen)
	}
	status, _, body = gwtest.AIPost(t, srv.URL+"/v1/chat/completions", "app-key",
		`{"model":"m","messages":[{"role":"user","content":"project Bluebird"}]}`)
	if got, want := status, 400; got != want {
		t.Errorf("a codename: status %d, want %d: %s", got, want, body)
	}
	if !strings.Contains(body, "codenames") {
		t.Errorf("the block does not name the rule: %s", body)
	}
	// The reloaded gateway, built before the first one closes as a
	// reload does, answers from the cache the first one filled.
	g2, err := buildGuarded(t, guardConfig(fake.URL(), ""), st)
	if err != nil {
		t.Fatal(err)
	}
	srv.Close()
	_ = g.Close()
	t.Cleanup(func() { _ = g2.Close() })
	srv2 := httptest.NewServer(g2)
	t.Cleanup(srv2.Close)
	status, h, body := gwtest.AIPost(t, srv2.URL+"/v1/chat/completions", "app-key", ask)
	if got, want := status, 200; got != want {
		t.Fatalf("after the reload: status %d, want %d: %s", got, want, body)
	}
	if got, want := h.Get("X-Portico-Cache"), "hit"; got != want {
		t.Errorf("after the reload: X-Portico-Cache = %q, want %q", got, want)
	}
	if got, want := len(fake.Requests()), 1; got != want {
		t.Errorf("provider requests = %d, want %d", got, want)
	}
}

func TestInvalidGuardrailsNameTheField(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ extra, want string }{
		{"        - {name: x, action: block, detect: dna}\n", "ai.models[0].guardrails[3].detect"},
		{"        - {name: x, action: drop, detect: email}\n", "ai.models[0].guardrails[3].action"},
		{"        - {name: x, action: block, detect: regex, pattern: \"(\"}\n", "ai.models[0].guardrails[3].pattern"},
		{"        - {name: x, action: block}\n", "ai.models[0].guardrails[3]"},
		{"        - {action: block, detect: ip}\n", "ai.models[0].guardrails[3].name"},
	} {
		_, err := buildGuarded(t, guardConfig("http://127.0.0.1:1", tc.extra), gateway.NewState())
		if err == nil {
			t.Errorf("%s: err = nil, want one naming %s", strings.TrimSpace(tc.extra), tc.want)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want one naming %s", strings.TrimSpace(tc.extra), err, tc.want)
		}
	}
}
