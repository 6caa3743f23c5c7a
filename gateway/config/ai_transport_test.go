package config_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portico-dev/portico/aiclient"
	"github.com/portico-dev/portico/aiclient/aitest"
	"github.com/portico-dev/portico/gateway"
	"github.com/portico-dev/portico/gateway/config"
	"github.com/portico-dev/portico/gateway/internal/gwtest"
)

// aiReuseConfig serves one OpenAI-compatible provider; %[1]s is its
// base URL, %[2]s its extra settings.
const aiReuseConfig = `
consumers:
  - {id: app, api_keys: [{id: app-1, secret: "app-key"}]}
ai:
  providers:
    - {name: upstream-llm, type: openai, base_url: "%[1]s", api_key: provider-key%[2]s}
  models:
    - {alias: fast, candidates: [{provider: upstream-llm, model: aitest-1}]}
`

// Connection reuse figures: calls in flight at once, rounds of them, and
// the most connections they may open (one per call in flight, and a few
// dialed while a finished call's connection is on its way back to the
// transport's pool).
const (
	aiConcurrency = 32
	aiRounds      = 4
	aiReuseLimit  = aiConcurrency + aiConcurrency/4
)

// chatRounds posts rounds of n chat completions at once to the gateway
// at base, alternating whole and streamed ones, and fails unless each
// answers 200 with the whole answer.
func chatRounds(t *testing.T, base string, n, rounds int) {
	t.Helper()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: n}, Timeout: time.Minute}
	defer client.CloseIdleConnections()
	for r := range rounds {
		stream := r%2 == 1
		body := fmt.Sprintf(`{"model":"fast","stream":%t,"messages":[{"role":"user","content":"hi"}]}`, stream)
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for range n {
			wg.Go(func() {
				req, _ := http.NewRequest(http.MethodPost, base+"/v1/chat/completions", strings.NewReader(body))
				req.Header.Set("Authorization", "Bearer app-key")
				res, err := client.Do(req)
				if err != nil {
					errs <- err
					return
				}
				defer res.Body.Close()
				b, err := io.ReadAll(res.Body)
				switch {
				case err != nil:
					errs <- err
				case res.StatusCode != http.StatusOK:
					errs <- fmt.Errorf("status %d: %s", res.StatusCode, b)
				case !strings.Contains(string(b), map[bool]string{false: "Hello there.", true: "data: [DONE]"}[stream]):
					errs <- fmt.Errorf("the answer is not whole: %s", b)
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatalf("round %d (stream %t): %v", r, stream, err)
		}
	}
}

func TestAIProviderConnectionsAreReusedAcrossCallsAndReloads(t *testing.T) {
	t.Parallel()
	llm := aitest.NewServer(aitest.OpenAI)
	defer llm.Close()
	for range 2 * aiConcurrency * aiRounds {
		llm.Push(aitest.Text("Hello there.", 5, 3))
	}
	path := filepath.Join(t.TempDir(), "gw.yaml")
	if err := os.WriteFile(path, fmt.Appendf(nil, aiReuseConfig, llm.URL(), ""), 0o600); err != nil {
		t.Fatal(err)
	}
	rl, err := config.NewReloader(config.ReloadConfig{
		Load: func(st *gateway.State) (*gateway.Gateway, error) {
			return config.LoadGateway(path, gateway.WithState(st), gateway.WithLogger(slog.New(slog.DiscardHandler)))
		},
		Logger: slog.New(slog.DiscardHandler),
		Drain:  time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(rl)
	defer func() { srv.Close(); _ = rl.Close() }()

	chatRounds(t, srv.URL, aiConcurrency, aiRounds)
	if got, limit := llm.Connections(), aiReuseLimit; got > limit {
		t.Errorf("%d calls, %d at once, opened %d connections to the provider, want at most %d", aiConcurrency*aiRounds, aiConcurrency, got, limit)
	}
	// The same provider settings after a reload: the new gateway calls
	// over the same warm connections.
	before := llm.Connections()
	if err := rl.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	chatRounds(t, srv.URL, aiConcurrency, aiRounds)
	if got, limit := llm.Connections()-before, aiConcurrency/4; got > limit {
		t.Errorf("after a reload, %d calls opened %d new connections to the provider, want at most %d", aiConcurrency*aiRounds, got, limit)
	}
}

func TestAIProviderTransportSettingsReachTheTransport(t *testing.T) {
	t.Parallel()
	// Two idle connections kept: calls beyond them dial, so the setting
	// is the one the provider's transport uses.
	llm := aitest.NewServer(aitest.OpenAI)
	defer llm.Close()
	for range aiConcurrency * aiRounds {
		llm.Push(aitest.Text("Hello there.", 5, 3))
	}
	srv := gwtest.AIGateway(t, fmt.Sprintf(aiReuseConfig, llm.URL(), ", max_idle_conns_per_host: 2, idle_conn_timeout: 1m, dial_timeout: 3s, tls_handshake_timeout: 3s"))
	chatRounds(t, srv.URL, aiConcurrency, aiRounds)
	if got, floor := llm.Connections(), 2*aiConcurrency; got < floor {
		t.Errorf("%d calls at 2 idle connections opened %d connections, want at least %d", aiConcurrency*aiRounds, got, floor)
	}
}

func TestAIProviderTransportSettingsAreCheckedAtBuild(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ setting, want string }{
		{"max_idle_conns_per_host: -1", "ai.providers[0].max_idle_conns_per_host: must not be negative"},
		{"idle_conn_timeout: -1s", "ai.providers[0].idle_conn_timeout: must not be negative"},
		{"dial_timeout: -1s", "ai.providers[0].dial_timeout: must not be negative"},
		{"tls_handshake_timeout: -1s", "ai.providers[0].tls_handshake_timeout: must not be negative"},
	} {
		t.Run(tc.setting, func(t *testing.T) {
			t.Parallel()
			c, err := config.Parse("ai.yaml", fmt.Appendf(nil, aiReuseConfig, "http://127.0.0.1:1/v1", ", "+tc.setting), nil)
			if err != nil {
				t.Fatal(err)
			}
			g, err := c.Build()
			if err == nil {
				_ = g.Close()
				t.Fatal("Build succeeded, want an error")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Build error %q, want it to contain %q", err, tc.want)
			}
		})
	}
	t.Run("the builder", func(t *testing.T) {
		t.Parallel()
		g, err := gateway.New(config.WithAI(config.AI{
			Providers: []config.AIProvider{{
				Name:            "llm",
				Type:            "openai",
				APIKey:          "k",
				TransportConfig: aiclient.TransportConfig{MaxIdleConnsPerHost: -4},
			}},
			Models: []config.AIModel{{Alias: "fast", Candidates: []config.AICandidate{{Provider: "llm"}}}},
		}))
		if err == nil {
			_ = g.Close()
			t.Fatal("New succeeded, want an error")
		}
		if want := "ai.providers[0].max_idle_conns_per_host"; !strings.Contains(err.Error(), want) {
			t.Errorf("New error %q, want it to name %q", err, want)
		}
	})
}
