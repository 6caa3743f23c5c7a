package config_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/portico-dev/portico/aiclient"
	"github.com/portico-dev/portico/aiclient/aitest"
	"github.com/portico-dev/portico/gateway"
	"github.com/portico-dev/portico/gateway/internal/gwtest"
	"github.com/portico-dev/portico/internal/redistest"
)

// embeddings serves OpenAI's embeddings API with the vectors the test
// controls.
func embeddings(t *testing.T, vectors aitest.Vectors) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			Model string   `json:"model"`
			Input []string `json:"input"`
		}
		if r.URL.Path != "/embeddings" {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		resp, err := vectors.Embed(r.Context(), &aiclient.EmbedRequest{Model: in.Model, Input: in.Input})
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		var data []map[string]any
		for i, vec := range resp.Embeddings {
			data = append(data, map[string]any{"object": "embedding", "index": i, "embedding": vec})
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"object": "list", "model": in.Model, "data": data,
			"usage": map[string]int{"prompt_tokens": 1, "total_tokens": 1}})
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

var capitals = aitest.Vectors{
	"What is the capital of France?":  {1, 0, 0, 0},
	"what's the capital of france":    {0.99, 0.1, 0, 0}, // cos 0.995
	"What is the capital of Germany?": {0.6, 0.8, 0, 0},  // cos 0.6
}

// cacheConfig serves alias m from chatURL with the cache section cache,
// and alias embed from embedURL; store is the store section.
func cacheConfig(chatURL, embedURL, store, cache string) string {
	return fmt.Sprintf(`
%s
consumers:
  - {id: app, tenant: acme, api_keys: [{id: app-1, secret: app-key}]}
  - {id: other, tenant: globex, api_keys: [{id: other-1, secret: other-key}]}
ai:
  providers:
    - {name: fake, type: openai, base_url: "%s", api_key: sk}
    - {name: vectors, type: openai, base_url: "%s", api_key: sk}
  models:
    - alias: m
      candidates: [{provider: fake, model: up}]
      cache: %s
    - alias: embed
      candidates: [{provider: vectors, model: e}]
`, store, chatURL, embedURL, cache)
}

// serveConfig builds yaml with st and serves it until the test ends.
func serveConfig(t *testing.T, yaml string, st *gateway.State) string {
	t.Helper()
	g, err := buildGuarded(t, yaml, st)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(g)
	t.Cleanup(func() { srv.Close(); _ = g.Close() })
	return srv.URL
}

func question(q string) string {
	return `{"model":"m","messages":[{"role":"user","content":"` + q + `"}]}`
}

// cached asks q and returns X-Portico-Cache.
func cached(t *testing.T, url, key, q string) string {
	t.Helper()
	status, h, body := gwtest.AIPost(t, url+"/v1/chat/completions", key, question(q))
	if got, want := status, 200; got != want {
		t.Fatalf("%q: status %d, want %d: %s", q, got, want, body)
	}
	return h.Get("X-Portico-Cache")
}

func TestARedisBackedAICacheIsSharedByTwoGatewaysFromTheConfigFile(t *testing.T) {
	t.Parallel()
	rs := redistest.Start(t)
	fake := aitest.NewServer(aitest.OpenAI)
	t.Cleanup(fake.Close)
	fake.Push(aitest.Text("Paris.", 5, 2), aitest.Text("Paris, again.", 5, 2), aitest.Text("Berlin.", 5, 2))
	yaml := cacheConfig(fake.URL(), embeddings(t, capitals), "store: {redis: {address: \""+rs.Addr()+"\", timeout: 5s}}",
		"{ttl: 1m, store: redis, semantic: {embedding: embed, threshold: 0.92}}")
	one, two := serveConfig(t, yaml, gateway.NewState()), serveConfig(t, yaml, gateway.NewState())

	if got, want := cached(t, one, "app-key", "What is the capital of France?"), ""; got != want {
		t.Errorf("the first call: X-Portico-Cache = %q, want %q", got, want)
	}
	if got, want := cached(t, two, "app-key", "What is the capital of France?"), "hit"; got != want {
		t.Errorf("the same call on the other gateway: X-Portico-Cache = %q, want %q", got, want)
	}
	if got, want := cached(t, two, "app-key", "what's the capital of france"), "semantic"; got != want {
		t.Errorf("a near-duplicate on the other gateway: X-Portico-Cache = %q, want %q", got, want)
	}
	if got, want := cached(t, two, "other-key", "what's the capital of france"), ""; got != want {
		t.Errorf("another tenant's near-duplicate: X-Portico-Cache = %q, want %q", got, want)
	}
	if got, want := cached(t, one, "app-key", "What is the capital of Germany?"), ""; got != want {
		t.Errorf("a different question: X-Portico-Cache = %q, want %q", got, want)
	}
	if got, want := len(fake.Requests()), 3; got != want {
		t.Errorf("provider requests = %d, want %d", got, want)
	}
}

func TestASemanticHitFromTheConfigFileOutlivesAReload(t *testing.T) {
	t.Parallel()
	fake := aitest.NewServer(aitest.OpenAI)
	t.Cleanup(fake.Close)
	fake.Push(aitest.Text("Paris.", 5, 2))
	yaml := cacheConfig(fake.URL(), embeddings(t, capitals), "", "{ttl: 1m, semantic: {embedding: embed, threshold: 0.92}}")
	st := gateway.NewState()
	before := serveConfig(t, yaml, st)
	if got, want := cached(t, before, "app-key", "What is the capital of France?"), ""; got != want {
		t.Errorf("the first call: X-Portico-Cache = %q, want %q", got, want)
	}
	if got, want := cached(t, before, "app-key", "what's the capital of france"), "semantic"; got != want {
		t.Errorf("a near-duplicate: X-Portico-Cache = %q, want %q", got, want)
	}
	// A reload changing another setting, with the same cache settings,
	// borrows the entries and the index of embeddings.
	after := serveConfig(t, yaml+"  log_content: true\n", st)
	if got, want := cached(t, after, "app-key", "what's the capital of france"), "semantic"; got != want {
		t.Errorf("a near-duplicate after the reload: X-Portico-Cache = %q, want %q", got, want)
	}
	if got, want := len(fake.Requests()), 1; got != want {
		t.Errorf("provider requests = %d, want %d", got, want)
	}
}

func TestInvalidAICacheSettingsNameTheField(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ store, cache, want string }{
		{"", "{store: disk}", "ai.models[0].cache.store"},
		{"", "{store: redis}", "ai.models[0].cache.store"},
		{"", "{semantic: {threshold: 0.9}}", "ai.models[0].cache.semantic.embedding"},
		{"", "{semantic: {embedding: nowhere, threshold: 0.9}}", "ai.models[0].cache.semantic.embedding"},
		{"", "{semantic: {embedding: embed, threshold: 1.5}}", "ai.models[0].cache.semantic.threshold"},
		{"", "{semantic: {embedding: embed}}", "ai.models[0].cache.semantic.threshold"},
		{"", "{semantic: {embedding: embed, threshold: 0.9, max_entries: -1}}", "ai.models[0].cache.semantic.max_entries"},
		{"", "{ttl: -1s}", "ai.models[0].cache.ttl"},
	} {
		_, err := buildGuarded(t, cacheConfig("http://127.0.0.1:1", "http://127.0.0.1:1", tc.store, tc.cache), gateway.NewState())
		if err == nil {
			t.Errorf("%s: err = nil, want one naming %s", tc.cache, tc.want)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want one naming %s", tc.cache, err, tc.want)
		}
	}
}
