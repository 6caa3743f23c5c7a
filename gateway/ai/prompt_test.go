package ai_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/portico-dev/portico/aiclient"
	"github.com/portico-dev/portico/gateway/ai"
	"github.com/portico-dev/portico/openapi"
)

var sentiment = ai.Prompt{
	Name:        "sentiment",
	Description: "Classifies the sentiment of a text.",
	Model:       "demo",
	Messages: []ai.Template{
		{Role: aiclient.RoleSystem, Text: "Classify the sentiment of the user's text."},
		{Role: aiclient.RoleUser, Text: "{{.text}}"},
	},
	Input: json.RawMessage(`{"type":"object","required":["text"],"properties":{"text":{"type":"string","minLength":1}},"additionalProperties":false}`),
	Output: json.RawMessage(`{"type":"object","required":["label","score"],"additionalProperties":false,"properties":{
		"label":{"type":"string","enum":["positive","negative","neutral"]},
		"score":{"type":"number","minimum":0}}}`),
}

var summary = ai.Prompt{
	Name:     "summary",
	Path:     "/prompts/summarise",
	Model:    "demo",
	Messages: []ai.Template{{Role: aiclient.RoleUser, Text: "Summarise for {{.audience}}: {{.text}}"}},
}

func TestPromptValidatesInputAndOutput(t *testing.T) {
	t.Parallel()
	srv := serve(t, demoClient(), ai.WithPrompt(sentiment), ai.WithPrompt(summary))
	tests := []struct {
		name, path, body string
		status           int
		check            func(t *testing.T, v map[string]any)
	}{
		{
			name:   "valid input gets structured output matching the schema",
			path:   "/prompts/sentiment",
			body:   `{"text":"I love it"}`,
			status: 200,
			check: func(t *testing.T, v map[string]any) {
				r := v["result"].(map[string]any)
				if got, want := r["label"], any("positive"); got != want {
					t.Errorf("label = %v, want %v", got, want)
				}
				if got := r["score"].(float64); got < 0 {
					t.Errorf("score = %v, want >= 0", got)
				}
			},
		},
		{
			name:   "a missing required member is a 400 problem",
			path:   "/prompts/sentiment",
			body:   `{}`,
			status: 400,
			check: func(t *testing.T, v map[string]any) {
				errs := v["errors"].([]any)
				if got, want := v["status"].(float64), 400.0; got != want {
					t.Errorf("problem status = %v, want %v", got, want)
				}
				if len(errs) == 0 {
					t.Errorf("problem without errors: %v", v)
				}
			},
		},
		{
			name:   "a wrongly typed member is a 400 problem pointing at it",
			path:   "/prompts/sentiment",
			body:   `{"text":42}`,
			status: 400,
			check: func(t *testing.T, v map[string]any) {
				e := v["errors"].([]any)[0].(map[string]any)
				if e["pointer"] != "/text" {
					t.Errorf("violation = %v", e)
				}
			},
		},
		{
			name:   "an unexpected member is a 400 problem",
			path:   "/prompts/sentiment",
			body:   `{"text":"x","extra":1}`,
			status: 400,
			check:  nil,
		},
		{
			name:   "a text prompt answers the text",
			path:   "/prompts/summarise",
			body:   `{"audience":"kids","text":"long story"}`,
			status: 200,
			check: func(t *testing.T, v map[string]any) {
				if v["result"] != "You said: Summarise for kids: long story" {
					t.Errorf("result = %v", v["result"])
				}
			},
		},
		{
			name:   "a variable missing from the input is a 400 problem",
			path:   "/prompts/summarise",
			body:   `{"text":"long story"}`,
			status: 400,
			check:  nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			status, hdr, body := call(t, "POST", srv.URL+tt.path, "", tt.body)
			if status != tt.status {
				t.Fatalf("status %d, want %d: %s", status, tt.status, body)
			}
			if status != 200 && hdr.Get("Content-Type") != "application/problem+json" {
				t.Errorf("content type %q", hdr.Get("Content-Type"))
			}
			if tt.check != nil {
				tt.check(t, decode(t, body))
			}
		})
	}
}

func TestPromptStreamsTextAsEvents(t *testing.T) {
	t.Parallel()
	srv := serve(t, demoClient(), ai.WithPrompt(summary))
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/prompts/summarise", strings.NewReader(`{"audience":"all","text":"a b c"}`))
	req.Header.Set("Accept", "text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var text strings.Builder
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	data := sseData(b)
	for _, d := range data[:len(data)-1] {
		var ev struct{ Text string }
		if err := json.Unmarshal([]byte(d), &ev); err != nil {
			t.Fatal(err)
		}
		text.WriteString(ev.Text)
	}
	if got, want := text.String(), "You said: Summarise for all: a b c"; got != want {
		t.Errorf("streamed text %q, want %q", got, want)
	}
	if !strings.Contains(string(b), "event: done") {
		t.Errorf("stream %s lacks event: done", b)
	}
}

func TestPromptAppearsInTheOpenAPIDocument(t *testing.T) {
	t.Parallel()
	h, err := ai.New(demoClient(), ai.WithPrompt(sentiment), ai.WithPrompt(summary))
	if err != nil {
		t.Fatal(err)
	}
	spec, err := openapi.Parse(h.OpenAPI())
	if err != nil {
		t.Fatalf("the generated document does not load: %v", err)
	}
	found := map[string]string{}
	for _, op := range spec.Operations() {
		found[op.ID] = op.Method + " " + op.Path
	}
	want := map[string]string{"sentiment": "POST /prompts/sentiment", "summary": "POST /prompts/summarise"}
	for id, want := range want {
		if got := found[id]; got != want {
			t.Errorf("operation %s = %q, want %q", id, got, want)
		}
	}
	// The generated document validates requests as the handler does.
	srv := httptest.NewServer(openapi.NewValidator(spec).Middleware(h))
	defer srv.Close()
	if status, _, body := call(t, "POST", srv.URL+"/prompts/sentiment", "", `{"text":5}`); status != 400 {
		t.Errorf("status %d: %s", status, body)
	}
}

func TestInvalidPromptsNameTheField(t *testing.T) {
	t.Parallel()
	bad := sentiment
	bad.Input = json.RawMessage(`{"type":"nonsense"}`)
	noModel := summary
	noModel.Model = ""
	badTmpl := summary
	badTmpl.Messages = []ai.Template{{Role: aiclient.RoleUser, Text: "{{.text"}}
	tests := []struct {
		name string
		p    ai.Prompt
		want string
	}{
		{"an invalid input schema", bad, "prompts[0].input"},
		{"no model", noModel, "prompts[0].model"},
		{"a broken template", badTmpl, "prompts[0].messages[0].text"},
		{"a bad name", ai.Prompt{Name: "1x"}, "prompts[0].name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := ai.New(demoClient(), ai.WithPrompt(tt.p))
			if err == nil {
				t.Fatalf("error = nil, want one naming %s", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v, want one naming %s", err, tt.want)
			}
		})
	}
}
