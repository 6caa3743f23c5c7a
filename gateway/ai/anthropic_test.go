package ai_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/portico-dev/portico/gateway/ai"
)

func TestMessagesAcceptsBothKeyHeadersAndAnyVersion(t *testing.T) {
	t.Parallel()
	srv := serve(t, demoClient(), ai.WithAuthenticator(keys()))
	tests := []struct {
		name   string
		header func(*http.Request)
		status int
	}{
		{"x-api-key with a recent version", func(r *http.Request) {
			r.Header.Set("X-Api-Key", demoKey)
			r.Header.Set("Anthropic-Version", "2023-06-01")
		}, 200},
		{"bearer with a made-up version", func(r *http.Request) {
			r.Header.Set("Authorization", "Bearer "+demoKey)
			r.Header.Set("Anthropic-Version", "2099-01-01")
		}, 200},
		{"a wrong x-api-key is an authentication_error", func(r *http.Request) { r.Header.Set("X-Api-Key", "wrong") }, 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req, _ := http.NewRequest(http.MethodPost, srv.URL+"/v1/messages", strings.NewReader(
				`{"model":"demo","max_tokens":100,"system":"Be kind.","messages":[{"role":"user","content":[{"type":"text","text":"hi"}]}]}`))
			tt.header(req)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var v map[string]any
			if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %v", resp.StatusCode, tt.status, v)
			}
			if tt.status != 200 {
				if got, want := v["type"], any("error"); got != want {
					t.Errorf("type = %v, want %v", got, want)
				}
				if got, want := v["error"].(map[string]any)["type"], any("authentication_error"); got != want {
					t.Errorf("error type = %v, want %v", got, want)
				}
				return
			}
			content := v["content"].([]any)[0].(map[string]any)
			for key, want := range map[string]any{"type": "message", "stop_reason": "end_turn"} {
				if got := v[key]; got != want {
					t.Errorf("%s = %v, want %v", key, got, want)
				}
			}
			if got, want := content["text"], any("You said: hi"); got != want {
				t.Errorf("text = %v, want %v", got, want)
			}
		})
	}
}

func TestMessagesStreamsAnthropicEvents(t *testing.T) {
	t.Parallel()
	srv := serve(t, demoClient())
	status, _, body := call(t, "POST", srv.URL+"/v1/messages", "",
		`{"model":"demo","max_tokens":100,"stream":true,"tools":[{"name":"lookup","input_schema":{"type":"object","properties":{"q":{"type":"string"}},"required":["q"]}}],"messages":[{"role":"user","content":"find cats"}]}`)
	if status != 200 {
		t.Fatalf("status %d: %s", status, body)
	}
	var types []string
	var args strings.Builder
	for _, line := range strings.Split(string(body), "\n") {
		if ev, ok := strings.CutPrefix(line, "event: "); ok {
			types = append(types, ev)
		}
		if d, ok := strings.CutPrefix(line, "data: "); ok && strings.Contains(d, "input_json_delta") {
			var ev struct {
				Delta struct {
					PartialJSON string `json:"partial_json"`
				} `json:"delta"`
			}
			_ = json.Unmarshal([]byte(d), &ev)
			args.WriteString(ev.Delta.PartialJSON)
		}
	}
	got := strings.Join(types, ",")
	if want := "message_start,content_block_start,content_block_delta"; !strings.HasPrefix(got, want) {
		t.Errorf("events = %s, want them to start %s", got, want)
	}
	if want := "content_block_stop,message_delta,message_stop"; !strings.HasSuffix(got, want) {
		t.Errorf("events = %s, want them to end %s", got, want)
	}
	if got, want := args.String(), `{"q":"find cats"}`; got != want {
		t.Errorf("tool input = %s, want %s", got, want)
	}
	if !strings.Contains(string(body), `"stop_reason":"tool_use"`) {
		t.Errorf("stream %s lacks stop_reason tool_use", body)
	}
}

func TestMessagesRequireMaxTokens(t *testing.T) {
	t.Parallel()
	srv := serve(t, demoClient())
	status, _, body := call(t, "POST", srv.URL+"/v1/messages", "", `{"model":"demo","messages":[{"role":"user","content":"x"}]}`)
	v := decode(t, body)
	if got, want := status, 400; got != want {
		t.Errorf("status %d, want %d: %s", got, want, body)
	}
	if got, want := v["error"].(map[string]any)["type"], any("invalid_request_error"); got != want {
		t.Errorf("error type = %v, want %v", got, want)
	}
}
