package ai_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/portico-dev/portico/aiclient"
	"github.com/portico-dev/portico/aiclient/aitest"
	"github.com/portico-dev/portico/aiclient/guard"
	"github.com/portico-dev/portico/aiclient/openai"
)

// outputGuarded serves the alias "m" through output rules (a block of
// secrets, a mask of e-mail addresses) over a fake provider of format,
// whose answers go out one byte per write.
func outputGuarded(t *testing.T, format aitest.Format) (*aitest.Server, string) {
	t.Helper()
	fake := aitest.NewServer(format, aitest.WithSplitter(aitest.Bytewise))
	t.Cleanup(fake.Close)
	var p aiclient.Provider
	if format == aitest.Anthropic {
		p = anthropicProvider(fake.URL())
	} else {
		p = openai.New(openai.WithBaseURL(fake.URL()), openai.WithAPIKey("sk"), openai.WithPolicies())
	}
	g, err := guard.New(p, []guard.Rule{
		{
			Name:     "no-keys-out",
			Action:   guard.Block,
			Detector: guard.Secrets(),
			Output:   true,
		},
		{
			Name:     "mails-out",
			Action:   guard.Mask,
			Detector: guard.Email(),
			Output:   true,
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := serve(t, aiclient.New(aiclient.WithRoute("m", aiclient.Candidate{Provider: g, Model: "up"})))
	return fake, srv.URL
}

// streamedText returns the text deltas of an SSE body of either API.
func streamedText(body []byte) string {
	var text strings.Builder
	for _, d := range sseData(body) {
		var ev struct {
			Choices []struct {
				Delta struct {
					Content string `json:"content"`
				} `json:"delta"`
			} `json:"choices"`
			Delta struct {
				Text string `json:"text"`
			} `json:"delta"`
		}
		if json.Unmarshal([]byte(d), &ev) != nil {
			continue
		}
		if len(ev.Choices) > 0 {
			text.WriteString(ev.Choices[0].Delta.Content)
		}
		text.WriteString(ev.Delta.Text)
	}
	return text.String()
}

var outputAPIs = []struct {
	name   string
	format aitest.Format
	path   string
	body   string
	errEv  string
}{
	{
		name:   "OpenAI",
		format: aitest.OpenAI,
		path:   "/v1/chat/completions",
		body:   `{"model":"m","stream":true,"messages":[{"role":"user","content":"hi"}]}`,
		errEv:  `data: {"error":{`,
	},
	{
		name:   "Anthropic",
		format: aitest.Anthropic,
		path:   "/v1/messages",
		body:   `{"model":"m","max_tokens":100,"stream":true,"messages":[{"role":"user","content":"hi"}]}`,
		errEv:  "event: error\n",
	},
}

func TestAnOutputBlockEndsTheStreamBeforeAnyOfTheSecretWithEveryChunking(t *testing.T) {
	t.Parallel()
	const text = "Your key is AKIAIOSFODNN7EXAMPLE, keep it safe."
	for _, api := range outputAPIs {
		fake, url := outputGuarded(t, api.format)
		for size := 1; size <= len(text); size++ {
			fake.Push(aitest.Reply{Text: text, ChunkSize: size})
			status, _, body := call(t, "POST", url+api.path, demoKey, api.body)
			if strings.Contains(string(body), "AKIA") {
				t.Errorf("%s, chunks of %d: part of the key reached the client: %s", api.name, size, body)
			}
			if got := streamedText(body); !strings.HasPrefix("Your key is ", got) {
				t.Errorf("%s, chunks of %d: streamed %q, want a part of the text before the key", api.name, size, got)
			}
			// A block before anything was passed on is an error response;
			// after, an error event ends the stream.
			if status == 200 && !strings.Contains(string(body), api.errEv) {
				t.Errorf("%s, chunks of %d: no error event: %s", api.name, size, body)
			}
			if status != 200 {
				if got, want := status, 400; got != want {
					t.Errorf("%s, chunks of %d: status %d, want %d", api.name, size, got, want)
				}
			}
			if !strings.Contains(string(body), "no-keys-out") {
				t.Errorf("%s, chunks of %d: the error does not name the rule: %s", api.name, size, body)
			}
		}
	}
}

func TestAnOutputMaskReplacesTheValueInTheStreamWithEveryChunking(t *testing.T) {
	t.Parallel()
	const text = "Mail jane@example.com today."
	for _, api := range outputAPIs {
		fake, url := outputGuarded(t, api.format)
		for size := 1; size <= len(text); size++ {
			fake.Push(aitest.Reply{Text: text, ChunkSize: size})
			status, _, body := call(t, "POST", url+api.path, demoKey, api.body)
			if got, want := status, 200; got != want {
				t.Fatalf("%s, chunks of %d: status %d, want %d: %s", api.name, size, got, want, body)
			}
			if got, want := streamedText(body), "Mail <EMAIL_1> today."; got != want {
				t.Errorf("%s, chunks of %d: streamed %q, want %q", api.name, size, got, want)
			}
			if strings.Contains(string(body), "jane") {
				t.Errorf("%s, chunks of %d: part of the address reached the client: %s", api.name, size, body)
			}
		}
	}
}
