package ai_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/portico-dev/portico/aiclient"
	"github.com/portico-dev/portico/aiclient/aicache"
	"github.com/portico-dev/portico/aiclient/aitest"
	"github.com/portico-dev/portico/aiclient/openai"
	"github.com/portico-dev/portico/gateway/ai"
	"github.com/portico-dev/portico/middleware"
)

// cached serves the alias "m" through a response cache over a fake
// OpenAI provider, priced so that every call costs something.
func cached(t *testing.T, opts ...ai.Option) (*aitest.Server, string, *recorder) {
	t.Helper()
	fake := aitest.NewServer(aitest.OpenAI)
	t.Cleanup(fake.Close)
	c, err := aicache.New(openai.New(openai.WithBaseURL(fake.URL()), openai.WithAPIKey("sk"), openai.WithPolicies()))
	if err != nil {
		t.Fatal(err)
	}
	client := aiclient.New(aiclient.WithRoute("m", aiclient.Candidate{Provider: c, Model: "up"}),
		aiclient.WithPrices(aiclient.Prices{"up": {Input: 1, Output: 2}}))
	rec := &recorder{}
	auth := ai.NewKeys(map[string]middleware.Consumer{
		demoKey:          {ID: "alice", Tenant: "acme"},
		"test-key-carol": {ID: "carol", Tenant: "globex"},
	})
	srv := serve(t, client, append([]ai.Option{ai.WithAuthenticator(auth), ai.WithSink(rec)}, opts...)...)
	return fake, srv.URL, rec
}

// send posts body to path with the key and extra headers.
func send(t *testing.T, url, key, body string, header ...string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return resp.StatusCode, resp.Header, b.String()
}

const cachedChat = `{"model":"m","messages":[{"role":"user","content":"What is 2+2?"}]}`

func TestARepeatedCallIsAnsweredFromTheCacheAtNoCost(t *testing.T) {
	t.Parallel()
	fake, url, rec := cached(t)
	fake.Push(aitest.Text("Four.", 10, 2))
	_, h1, b1 := send(t, url+"/v1/chat/completions", demoKey, cachedChat)
	status, h2, b2 := send(t, url+"/v1/chat/completions", demoKey,
		`{"messages":[{"content":"What is 2+2?","role":"user"}],"model":"m","user":"someone"}`)
	if got, want := status, 200; got != want {
		t.Fatalf("status %d, want %d: %s", got, want, b2)
	}
	if got, want := h1.Get(ai.CacheHeader), ""; got != want {
		t.Errorf("first call's %s = %q, want %q", ai.CacheHeader, got, want)
	}
	if got, want := h2.Get(ai.CacheHeader), "hit"; got != want {
		t.Errorf("second call's %s = %q, want %q", ai.CacheHeader, got, want)
	}
	for i, b := range []string{b1, b2} {
		if !strings.Contains(b, "Four.") {
			t.Errorf("answer %d = %s, want Four.", i+1, b)
		}
	}
	if got, want := len(fake.Requests()), 1; got != want {
		t.Errorf("provider requests = %d, want %d", got, want)
	}
	rs := rec.all()
	if got, want := len(rs), 2; got != want {
		t.Fatalf("records = %d, want %d", got, want)
	}
	if got, want := rs[1].Cache, "hit"; got != want {
		t.Errorf("record cache = %q, want %q", got, want)
	}
	if got, want := rs[1].Cost, 0.0; got != want {
		t.Errorf("hit cost = %v, want %v", got, want)
	}
	if rs[0].Cost == 0 {
		t.Error("the first call cost nothing")
	}
}

func TestAStreamHitReplaysInEachAPIsWireFormat(t *testing.T) {
	t.Parallel()
	fake, url, _ := cached(t)
	fake.Push(aitest.Text("Four.", 10, 2))
	send(t, url+"/v1/chat/completions", demoKey, cachedChat)
	_, h, body := send(t, url+"/v1/chat/completions", demoKey,
		`{"model":"m","stream":true,"messages":[{"role":"user","content":"What is 2+2?"}]}`)
	if got, want := h.Get(ai.CacheHeader), "hit"; got != want {
		t.Errorf("OpenAI stream %s = %q, want %q", ai.CacheHeader, got, want)
	}
	if got, want := h.Get("Content-Type"), "text/event-stream"; got != want {
		t.Errorf("OpenAI stream content type = %q, want %q", got, want)
	}
	for _, want := range []string{`"content":"Four."`, "data: [DONE]"} {
		if !strings.Contains(body, want) {
			t.Errorf("OpenAI replay %s lacks %s", body, want)
		}
	}
	// max_tokens is part of the request: the first Anthropic call is
	// another request, answered by the provider; the second is replayed.
	fake.Push(aitest.Text("Four.", 10, 2))
	send(t, url+"/v1/messages", demoKey, `{"model":"m","max_tokens":1024,"messages":[{"role":"user","content":"What is 2+2?"}]}`)
	_, h, body = send(t, url+"/v1/messages", demoKey,
		`{"model":"m","max_tokens":1024,"stream":true,"messages":[{"role":"user","content":"What is 2+2?"}]}`)
	if got, want := h.Get(ai.CacheHeader), "hit"; got != want {
		t.Errorf("Anthropic stream %s = %q, want %q: %s", ai.CacheHeader, got, want, body)
	}
	for _, want := range []string{"event: message_start", `"text":"Four."`} {
		if !strings.Contains(body, want) {
			t.Errorf("Anthropic replay %s lacks %s", body, want)
		}
	}
}

func TestTenantsDoNotShareTheCache(t *testing.T) {
	t.Parallel()
	fake, url, _ := cached(t)
	fake.Push(aitest.Text("Four.", 10, 2), aitest.Text("4", 10, 1))
	send(t, url+"/v1/chat/completions", demoKey, cachedChat)
	_, h, body := send(t, url+"/v1/chat/completions", "test-key-carol", cachedChat)
	if got, want := h.Get(ai.CacheHeader), ""; got != want {
		t.Errorf("another tenant's %s = %q, want %q", ai.CacheHeader, got, want)
	}
	if !strings.Contains(body, `"4"`) {
		t.Errorf("another tenant got %s", body)
	}
}

func TestNoCacheAndTheOptOutSkipTheCache(t *testing.T) {
	t.Parallel()
	for _, header := range [][]string{{"Cache-Control", "no-cache"}, {ai.CacheHeader, "off"}} {
		fake, url, _ := cached(t)
		fake.Push(aitest.Text("Four.", 10, 2), aitest.Text("4", 10, 1))
		send(t, url+"/v1/chat/completions", demoKey, cachedChat)
		_, h, body := send(t, url+"/v1/chat/completions", demoKey, cachedChat, header...)
		if got, want := h.Get(ai.CacheHeader), ""; got != want {
			t.Errorf("%s: %s = %q, want %q", header[0], ai.CacheHeader, got, want)
		}
		if got, want := len(fake.Requests()), 2; got != want {
			t.Errorf("%s: provider requests = %d, want %d (%s)", header[0], got, want, body)
		}
	}
}

func TestCacheHitsCostNothingInBudgets(t *testing.T) {
	t.Parallel()
	fake := aitest.NewServer(aitest.OpenAI)
	t.Cleanup(fake.Close)
	c, err := aicache.New(openai.New(openai.WithBaseURL(fake.URL()), openai.WithAPIKey("sk"), openai.WithPolicies()))
	if err != nil {
		t.Fatal(err)
	}
	client := aiclient.New(aiclient.WithRoute("m", aiclient.Candidate{Provider: c, Model: "up"}),
		aiclient.WithPrices(aiclient.Prices{"up": {Input: 1000, Output: 1000}})) // $0.001 a token
	srv := serve(t, client, ai.WithAuthenticator(keys()), ai.WithBudget(ai.Budget{USD: 0.1, Period: ai.Daily}))
	// Each answer costs $0.012: twenty of them would be $0.24, more than
	// the $0.10 budget; answered from the cache, they cost nothing.
	fake.Push(aitest.Text("Four.", 10, 2))
	body := `{"model":"m","max_tokens":20,"messages":[{"role":"user","content":"What is 2+2?"}]}`
	for i := range 20 {
		status, _, b := call(t, "POST", srv.URL+"/v1/chat/completions", demoKey, body)
		if status != 200 {
			t.Fatalf("call %d: status %d: %s", i, status, b)
		}
	}
	fake.Push(aitest.Text("Six.", 10, 2))
	status, _, b := call(t, "POST", srv.URL+"/v1/chat/completions", demoKey,
		`{"model":"m","max_tokens":20,"messages":[{"role":"user","content":"What is 3+3?"}]}`)
	if got, want := status, 200; got != want {
		t.Errorf("a new question after twenty hits: status %d, want %d: %s", got, want, b)
	}
	if got, want := len(fake.Requests()), 2; got != want {
		t.Errorf("provider requests = %d, want %d", got, want)
	}
}
