package main

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/portico-dev/portico/aiclient/aitest"
)

// chat asks model through the proxy with key and returns the status and body.
func chat(t *testing.T, proxy, key, model string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, proxy+"/v1/chat/completions",
		strings.NewReader(`{"model":"`+model+`","messages":[{"role":"user","content":"Hello!"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestTheProxyListensOnLoopbackUnlessAddrSaysOtherwise(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"by default, loopback only", nil, "127.0.0.1:8080"},
		{"-addr opens it to the network", []string{"-addr", ":8080"}, ":8080"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f, err := parseFlags(tt.args, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			if f.addr != tt.want {
				t.Errorf("addr %q, want %q", f.addr, tt.want)
			}
		})
	}
}

// Regression: once OPENAI_API_KEY was set, the published demo key reached
// the real, paid models.
func TestThePublicDemoKeyReachesOnlyTheDemoModel(t *testing.T) {
	t.Parallel()
	openai := aitest.NewServer(aitest.OpenAI)
	defer openai.Close()
	openai.Push(aitest.Reply{Text: "from the real provider"})
	proxy, _, _ := start(t, map[string]string{"OPENAI_API_KEY": "sk-test", "OPENAI_BASE_URL": openai.URL(), "PORTICO_API_KEY": "operator-secret"},
		"-addr", "127.0.0.1:0", "-admin-addr", "127.0.0.1:0", "-log-level", "error")

	status, body := chat(t, proxy, "portico-demo-key", "gpt-4o-mini")
	if got, want := status, http.StatusNotFound; got != want {
		t.Errorf("the demo key asking for gpt-4o-mini: status %d, want %d (%s)", got, want, body)
	}
	if !strings.Contains(body, `"code":"model_not_found"`) {
		t.Errorf("the demo key asking for gpt-4o-mini: %s, want model_not_found", body)
	}
	if n := len(openai.Requests()); n != 0 {
		t.Errorf("the real provider got %d requests from the demo key, want 0", n)
	}
	if status, body := chat(t, proxy, "portico-demo-key", "demo"); status != http.StatusOK {
		t.Errorf("the demo key asking for demo: %d %s, want 200", status, body)
	}
	status, body = chat(t, proxy, "operator-secret", "gpt-4o-mini")
	if got, want := status, http.StatusOK; got != want {
		t.Errorf("the operator key asking for gpt-4o-mini: status %d, want %d (%s)", got, want, body)
	}
	if !strings.Contains(body, "from the real provider") {
		t.Errorf("the operator key asking for gpt-4o-mini: %s, want the provider's answer", body)
	}
	if n := len(openai.Requests()); n != 1 {
		t.Errorf("the real provider got %d requests, want 1 (the operator's)", n)
	}

	req, _ := http.NewRequest(http.MethodGet, proxy+"/v1/models", nil)
	req.Header.Set("Authorization", "Bearer portico-demo-key")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var list struct{ Data []struct{ ID string } }
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
		t.Fatal(err)
	}
	if got, want := len(list.Data), 1; got != want {
		t.Fatalf("/v1/models for the demo key lists %d models, want %d: %+v", got, want, list.Data)
	}
	if got, want := list.Data[0].ID, "demo"; got != want {
		t.Errorf("/v1/models for the demo key lists %q, want %q", got, want)
	}
}

func TestWithoutPorticoAPIKeyAnOperatorKeyIsGeneratedAndPrinted(t *testing.T) {
	t.Parallel()
	proxy, _, logs := start(t, nil, "-addr", "127.0.0.1:0", "-admin-addr", "127.0.0.1:0", "-log-format", "json")
	var key string
	for line := range strings.Lines(logs.String()) {
		var rec struct {
			Msg    string `json:"msg"`
			APIKey string `json:"api_key"`
		}
		if json.Unmarshal([]byte(line), &rec) == nil && strings.HasPrefix(rec.Msg, "operator key") {
			key = rec.APIKey
		}
	}
	if !strings.HasPrefix(key, "portico-op-") {
		t.Fatalf("operator key %q, want one starting portico-op- in the logs:\n%s", key, logs)
	}
	if got, least := len(key), len("portico-op-")+20; got < least {
		t.Fatalf("operator key %q is %d bytes, want a random one of at least %d", key, got, least)
	}
	if status, body := chat(t, proxy, key, "demo"); status != http.StatusOK {
		t.Errorf("the printed operator key: %d %s, want 200", status, body)
	}
	if strings.Contains(logs.String(), "beyond loopback") {
		t.Errorf("a loopback demo warned about the network:\n%s", logs)
	}
}

func TestTheDemoWarnsWhenItListensBeyondLoopback(t *testing.T) {
	t.Parallel()
	_, _, logs := start(t, nil, "-addr", ":0", "-admin-addr", "127.0.0.1:0")
	if !strings.Contains(logs.String(), `level=WARN msg="the demo configuration listens beyond loopback`) {
		t.Errorf("no warning about the public key on the network:\n%s", logs)
	}
}

// TestTheDemoTranslatesJSONToItsGRPCService makes the README's JSON calls
// to the demo's Shelf gRPC service.
func TestTheDemoTranslatesJSONToItsGRPCService(t *testing.T) {
	t.Parallel()
	proxy, _, _ := start(t, map[string]string{}, "-addr", "127.0.0.1:0", "-admin-addr", "127.0.0.1:0", "-log-level", "error")
	for _, c := range []struct{ method, path, body, want string }{
		{
			method: http.MethodGet,
			path:   "/shelf/v1/shelves/s1/books/b1",
			body:   "",
			want:   `"name":"shelves/s1/books/b1"`,
		},
		{
			method: http.MethodPost,
			path:   "/shelf/portico.grpctest.v1.Shelf/Echo",
			body:   `{"message":"hi"}`,
			want:   `"message":"hi"`,
		},
	} {
		req, err := http.NewRequest(c.method, proxy+c.path, strings.NewReader(c.body))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if got, want := resp.StatusCode, http.StatusOK; got != want {
			t.Errorf("%s %s: status %d, want %d: %s", c.method, c.path, got, want, body)
		}
		if !strings.Contains(string(body), c.want) {
			t.Errorf("%s %s: %s, want it to hold %s", c.method, c.path, body, c.want)
		}
	}
}
