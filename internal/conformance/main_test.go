package conformance_test

import (
	"net/http/httptest"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/portico-dev/portico/aiclient"
	"github.com/portico-dev/portico/aiclient/aitest"
	"github.com/portico-dev/portico/aiclient/anthropic"
	"github.com/portico-dev/portico/aiclient/gemini"
	"github.com/portico-dev/portico/aiclient/ollama"
	"github.com/portico-dev/portico/aiclient/openai"
	"github.com/portico-dev/portico/gateway/ai"
	"github.com/portico-dev/portico/middleware"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// gatewayKey is the virtual key the SDKs send.
const gatewayKey = "gw-test-key"

// backend is one provider format behind the gateway.
type backend struct {
	format aitest.Format
	embeds bool
}

var backends = []backend{
	{aitest.OpenAI, true},
	{aitest.Anthropic, false},
	{aitest.Gemini, true},
	{aitest.Ollama, true},
}

// provider returns the adapter of format, sending each request once so
// that scripted faults reach the gateway as they are.
func provider(format aitest.Format, url string) aiclient.Provider {
	switch format {
	case aitest.OpenAI:
		return openai.New(openai.WithBaseURL(url), openai.WithAPIKey("sk-provider"), openai.WithPolicies())
	case aitest.Anthropic:
		return anthropic.New(anthropic.WithBaseURL(url), anthropic.WithAPIKey("sk-ant-provider"), anthropic.WithPolicies())
	case aitest.Gemini:
		return gemini.New(gemini.WithBaseURL(url), gemini.WithAPIKey("gm-provider"), gemini.WithPolicies())
	default:
		return ollama.New(ollama.WithBaseURL(url), ollama.WithPolicies())
	}
}

// gateway starts a fake provider and a gateway serving it as alias "m".
func gateway(t *testing.T, format aitest.Format, opts ...ai.Option) (*aitest.Server, *httptest.Server) {
	t.Helper()
	fake := aitest.NewServer(format, aitest.WithModels("upstream-model"))
	t.Cleanup(fake.Close)
	client := aiclient.New(aiclient.WithRoute("m", aiclient.Candidate{Provider: provider(format, fake.URL()), Model: "upstream-model"}))
	opts = append([]ai.Option{
		ai.WithAuthenticator(ai.NewKeys(map[string]middleware.Consumer{gatewayKey: {ID: "sdk"}})),
		ai.WithModels("m"),
	}, opts...)
	h, err := ai.New(client, opts...)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return fake, srv
}

// waitTimeout bounds every SDK call.
const waitTimeout = 30 * time.Second
