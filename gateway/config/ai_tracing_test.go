package config_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

const aiTracingYAML = `
middleware: [request_id, telemetry]
consumers:
  - id: demo
    tenant: trial
    api_keys:
      - {id: demo-1, secret: "portico-demo-key"}
ai:
  providers:
    - {name: down, type: openai, base_url: %q, api_key: sk-test}
    - {name: demo, type: demo}
  models:
    - alias: chat
      candidates: [{provider: down, model: gpt-4o-mini, priority: 1}, {provider: demo, priority: 2}]
`

func TestEachAIProviderAttemptIsASpanUnderTheRequestSpan(t *testing.T) {
	t.Parallel()
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, `{"error":{"message":"overloaded","type":"server_error"}}`)
	}))
	t.Cleanup(down.Close)
	srv, rec := tracedGateway(t, fmt.Appendf(nil, aiTracingYAML, down.URL))

	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/v1/chat/completions",
		strings.NewReader(`{"model":"chat","messages":[{"role":"user","content":"hi"}]}`))
	req.Header.Set("Authorization", "Bearer portico-demo-key")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if got, want := resp.StatusCode, http.StatusOK; got != want {
		t.Fatalf("status = %d, want %d: %s", got, want, body)
	}

	spans, _, under := requestSpans(t, rec)
	attempts := map[string][]sdktrace.ReadOnlySpan{}
	for _, s := range spans {
		if name := attrOf(s, "gen_ai.provider.name"); name != "" {
			attempts[name] = append(attempts[name], s)
		}
	}
	if got, want := len(attempts), 2; got != want {
		t.Fatalf("AI attempts by provider = %d providers (%v), want %d", got, attempts, want)
	}
	var failed, ok int
	for provider, ss := range attempts {
		for _, s := range ss {
			if !under(s) {
				t.Errorf("the %s attempt %q is not under the request's span", provider, s.Name())
			}
			if got, want := s.SpanKind(), trace.SpanKindClient; got != want {
				t.Errorf("the %s attempt: kind = %v, want %v", provider, got, want)
			}
			if got, want := attrOf(s, "gen_ai.operation.name"), "chat"; got != want {
				t.Errorf("the %s attempt: gen_ai.operation.name = %q, want %q", provider, got, want)
			}
			if !strings.HasPrefix(s.Name(), "chat ") {
				t.Errorf("the %s attempt is named %q, want \"chat <model>\"", provider, s.Name())
			}
			if s.Status().Code == codes.Error {
				failed++
			} else {
				ok++
			}
		}
	}
	if failed == 0 {
		t.Error("no attempt span has an error status, though the first provider answered 503")
	}
	if got, want := ok, 1; got != want {
		t.Errorf("successful attempt spans = %d, want %d", got, want)
	}
}
