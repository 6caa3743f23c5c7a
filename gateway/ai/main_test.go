package ai_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"go.uber.org/goleak"

	"github.com/portico-dev/portico/aiclient"
	"github.com/portico-dev/portico/aiclient/anthropic"
	"github.com/portico-dev/portico/aiclient/demo"
	"github.com/portico-dev/portico/gateway/ai"
	"github.com/portico-dev/portico/middleware"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// demoKey is the key of the test consumer "alice".
const demoKey = "test-key-alice"

// demoPrices prices the demo model at $1 per million input tokens and $2
// per million output tokens.
var demoPrices = aiclient.Prices{"demo": {Input: 1, Output: 2}}

// demoClient routes the alias "demo" (and "other") to the demo provider.
func demoClient() *aiclient.Client {
	p := demo.New()
	return aiclient.New(
		aiclient.WithRoute("demo", aiclient.Candidate{Provider: p}),
		aiclient.WithRoute("other", aiclient.Candidate{Provider: p}),
		aiclient.WithPrices(demoPrices),
	)
}

// recorder is a Sink that keeps every record.
type recorder struct {
	mu sync.Mutex
	rs []ai.Record
}

func (r *recorder) Record(_ context.Context, rec *ai.Record) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rs = append(r.rs, *rec)
}

func (r *recorder) all() []ai.Record {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]ai.Record(nil), r.rs...)
}

// keys authenticates alice (tenant acme, every alias) and bob (tenant
// acme, only "other").
func keys() *ai.Keys {
	return ai.NewKeys(map[string]middleware.Consumer{
		demoKey:        {ID: "alice", Tenant: "acme"},
		"test-key-bob": {ID: "bob", Tenant: "acme", Metadata: map[string]string{ai.ModelsKey: "other"}},
	})
}

// serve starts the handler on a loopback server.
func serve(t testing.TB, client *aiclient.Client, opts ...ai.Option) *httptest.Server {
	t.Helper()
	h, err := ai.New(client, opts...)
	if err != nil {
		t.Fatalf("ai.New: %v", err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// call sends a request with the key and returns the status, headers and body.
func call(t testing.TB, method, url, key, body string) (int, http.Header, []byte) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, b
}

// decode unmarshals b into a generic value.
func decode(t testing.TB, b []byte) map[string]any {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("decoding %s: %v", b, err)
	}
	return v
}

// sseData returns the data of every event in an SSE body.
func sseData(body []byte) []string {
	var out []string
	for _, line := range bytes.Split(body, []byte("\n")) {
		if d, ok := bytes.CutPrefix(line, []byte("data: ")); ok {
			out = append(out, string(d))
		}
	}
	return out
}

// anthropicProvider is an Anthropic adapter for a fake, sending each
// request once.
func anthropicProvider(url string) aiclient.Provider {
	return anthropic.New(anthropic.WithBaseURL(url), anthropic.WithAPIKey("sk-ant"), anthropic.WithPolicies())
}
