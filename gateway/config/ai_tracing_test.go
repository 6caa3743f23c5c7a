package config_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/portico-dev/portico/gateway"
	"github.com/portico-dev/portico/gateway/config"
	"github.com/portico-dev/portico/gateway/internal/gwtest"
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
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	c, err := config.Parse("ai.yaml", fmt.Appendf(nil, aiTracingYAML, down.URL), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	g, err := c.Build(gateway.WithLogger(gwtest.Quiet), gateway.WithTracerProvider(tp))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = g.Close() })
	srv := httptest.NewServer(g)
	t.Cleanup(srv.Close)

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

	var server sdktrace.ReadOnlySpan
	spans := rec.Ended()
	for _, s := range spans {
		if s.SpanKind() == trace.SpanKindServer {
			server = s
		}
	}
	if server == nil {
		t.Fatalf("no server span among %d spans", len(spans))
	}
	byID := map[trace.SpanID]sdktrace.ReadOnlySpan{}
	for _, s := range spans {
		byID[s.SpanContext().SpanID()] = s
	}
	under := func(s sdktrace.ReadOnlySpan) bool {
		for p := s.Parent(); p.IsValid(); {
			if p.SpanID() == server.SpanContext().SpanID() {
				return true
			}
			ps, ok := byID[p.SpanID()]
			if !ok {
				return false
			}
			p = ps.Parent()
		}
		return false
	}
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
