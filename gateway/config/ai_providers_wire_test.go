package config_test

import (
	"bytes"
	"cmp"
	"encoding/json"
	"github.com/portico-dev/portico/gateway/internal/gwtest"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/portico-dev/portico/aiclient"
	"github.com/portico-dev/portico/aiclient/aitest"
)

// answer is what a client reads from an AI endpoint, whole or streamed.
type answer struct {
	text, tool, args, stop string
	input, output          int64
}

// openAIMessage is a choice's message, or a chunk's delta.
type openAIMessage struct {
	Content   string `json:"content"`
	ToolCalls []struct {
		Function struct{ Name, Arguments string } `json:"function"`
	} `json:"tool_calls"`
}

// openAIChoice is one choice of a chat completion or of a chunk.
type openAIChoice struct {
	Message      openAIMessage `json:"message"`
	Delta        openAIMessage `json:"delta"`
	FinishReason *string       `json:"finish_reason"`
}

type openAIAnswer struct {
	Choices []openAIChoice `json:"choices"`
	Usage   *struct {
		Prompt     int64 `json:"prompt_tokens"`
		Completion int64 `json:"completion_tokens"`
	} `json:"usage"`
}

// addOpenAI folds a completion, or a chunk, into a.
func (a *answer) addOpenAI(o openAIAnswer) {
	for _, c := range o.Choices {
		for _, m := range []openAIMessage{c.Message, c.Delta} {
			a.text += m.Content
			for _, tc := range m.ToolCalls {
				a.tool += tc.Function.Name
				a.args += tc.Function.Arguments
			}
		}
		if c.FinishReason != nil {
			a.stop = *c.FinishReason
		}
	}
	if o.Usage != nil {
		a.input, a.output = o.Usage.Prompt, o.Usage.Completion
	}
}

// anthropicEvent is an Anthropic message, or one event of its stream.
type anthropicEvent struct {
	Type    string `json:"type"`
	Message *anthropicEvent
	Content []struct {
		Type, Text, Name string
		Input            json.RawMessage `json:"input"`
	} `json:"content"`
	ContentBlock struct{ Type, Name string } `json:"content_block"`
	Delta        struct {
		Type        string `json:"type"`
		Text        string `json:"text"`
		PartialJSON string `json:"partial_json"`
		StopReason  string `json:"stop_reason"`
	} `json:"delta"`
	StopReason string `json:"stop_reason"`
	Usage      struct {
		Input  int64 `json:"input_tokens"`
		Output int64 `json:"output_tokens"`
	} `json:"usage"`
}

// addAnthropic folds a message, or an event of its stream, into a. Input
// tokens are taken from the last event that reports them: message_start
// holds the gateway's estimate when the provider counts them only at the
// end, and message_delta the provider's count.
func (a *answer) addAnthropic(e anthropicEvent) {
	if e.Message != nil {
		a.addAnthropic(*e.Message)
	}
	for _, c := range e.Content {
		a.text += c.Text
		if c.Type == "tool_use" {
			a.tool, a.args = c.Name, string(c.Input)
		}
	}
	a.tool += e.ContentBlock.Name
	a.text += e.Delta.Text
	a.args += e.Delta.PartialJSON
	a.stop = cmp.Or(e.Delta.StopReason, e.StopReason, a.stop)
	a.input = cmp.Or(e.Usage.Input, a.input)
	a.output = max(a.output, e.Usage.Output)
}

// readAnswer decodes body, as endpoint answered it.
func readAnswer(t *testing.T, endpoint, body string, stream bool) answer {
	t.Helper()
	var a answer
	docs := []string{body}
	if stream {
		docs = nil
		for _, line := range strings.Split(body, "\n") {
			if d, ok := strings.CutPrefix(line, "data: "); ok && d != "[DONE]" {
				docs = append(docs, d)
			}
		}
	}
	for _, d := range docs {
		var err error
		if endpoint == "/v1/chat/completions" {
			var o openAIAnswer
			err = json.Unmarshal([]byte(d), &o)
			a.addOpenAI(o)
		} else {
			var e anthropicEvent
			err = json.Unmarshal([]byte(d), &e)
			a.addAnthropic(e)
		}
		if err != nil {
			t.Fatalf("%s is not JSON: %v", d, err)
		}
	}
	var args bytes.Buffer
	if a.args != "" && json.Compact(&args, []byte(a.args)) == nil {
		a.args = args.String()
	}
	return a
}

// askWithTool is a request for alias on endpoint offering one tool.
func askWithTool(endpoint, alias string, stream bool) string {
	s := strconv.FormatBool(stream)
	if endpoint == "/v1/chat/completions" {
		return `{"model":"` + alias + `","stream":` + s + `,"stream_options":` + map[bool]string{true: `{"include_usage":true}`, false: "null"}[stream] +
			`,"messages":[{"role":"user","content":"Weather in Paris?"}],"tools":[{"type":"function","function":{"name":"get_weather",` +
			`"parameters":{"type":"object","properties":{"city":{"type":"string"}}}}}]}`
	}
	return `{"model":"` + alias + `","stream":` + s + `,"max_tokens":100,"messages":[{"role":"user","content":"Weather in Paris?"}],` +
		`"tools":[{"name":"get_weather","input_schema":{"type":"object","properties":{"city":{"type":"string"}}}}]}`
}

// offeredTool is the name of the first tool a provider request offered,
// read in the provider's wire format.
func offeredTool(r aitest.Recorded) string {
	j := r.JSON()
	first := func(v any, key string) map[string]any {
		l, _ := v.(map[string]any)[key].([]any)
		if len(l) == 0 {
			return map[string]any{}
		}
		m, _ := l[0].(map[string]any)
		return m
	}
	switch {
	case j["toolConfig"] != nil: // Bedrock
		spec, _ := first(j["toolConfig"], "tools")["toolSpec"].(map[string]any)
		name, _ := spec["name"].(string)
		return name
	case j["tools"] != nil && strings.Contains(r.Path, "/publishers/google/"): // Vertex AI
		name, _ := first(first(j, "tools"), "functionDeclarations")["name"].(string)
		return name
	}
	fn, _ := first(j, "tools")["function"].(map[string]any) // Azure OpenAI
	name, _ := fn["name"].(string)
	return name
}

func TestCloudProvidersAnswerBothEndpointsWithToolsAndUsage(t *testing.T) {
	t.Parallel()
	f := newCloudFakes(t)
	const bedrockModel = "/model/anthropic.claude-3-5-haiku-20241022-v1:0"
	const vertexModel = "/v1/projects/aitest-project/locations/europe-west4/publishers/google/models/gemini-2.5-flash"
	aliases := []struct {
		alias                 string
		srv                   *aitest.Server
		wholePath, streamPath string
	}{
		{
			alias:      "azure-key",
			srv:        f.azure,
			wholePath:  "/openai/deployments/gpt-4o-prod/chat/completions",
			streamPath: "/openai/deployments/gpt-4o-prod/chat/completions",
		},
		{
			alias:      "azure-entra",
			srv:        f.azure,
			wholePath:  "/openai/deployments/gpt-4o-mini/chat/completions",
			streamPath: "/openai/deployments/gpt-4o-mini/chat/completions",
		},
		{
			alias:      "claude",
			srv:        f.bedrock,
			wholePath:  bedrockModel + "/converse",
			streamPath: bedrockModel + "/converse-stream",
		},
		{
			alias:      "gemini",
			srv:        f.vertex,
			wholePath:  vertexModel + ":generateContent",
			streamPath: vertexModel + ":streamGenerateContent",
		},
	}
	// One at a time: the two Azure aliases share a fake.
	for _, al := range aliases {
		for _, endpoint := range []string{"/v1/chat/completions", "/v1/messages"} {
			stop := map[string]string{"/v1/chat/completions": "tool_calls", "/v1/messages": "tool_use"}[endpoint]
			for _, stream := range []bool{false, true} {
				name := "the " + al.alias + " alias on " + endpoint + map[bool]string{false: " whole", true: " streamed"}[stream]
				t.Run(name, func(t *testing.T) {
					before := len(al.srv.Requests())
					al.srv.Push(aitest.Reply{Text: "Let me look.", ToolCalls: []aitest.ToolCall{{Name: "get_weather", Arguments: `{"city":"Paris"}`}},
						Usage: aiclient.Usage{InputTokens: 21, OutputTokens: 9}})
					status, _, body := gwtest.AIPost(t, f.gateway+endpoint, "app-key", askWithTool(endpoint, al.alias, stream))
					if status != http.StatusOK {
						t.Fatalf("status %d: %s", status, body)
					}
					got := readAnswer(t, endpoint, body, stream)
					if want := (answer{
						text:   "Let me look.",
						tool:   "get_weather",
						args:   `{"city":"Paris"}`,
						stop:   stop,
						input:  21,
						output: 9,
					}); got != want {
						t.Errorf("answer %+v, want %+v", got, want)
					}
					calls := providerCalls(al.srv, before)
					if got, want := len(calls), 1; got != want {
						t.Fatalf("%d provider calls, want %d", got, want)
					}
					if got, want := calls[0].Path, map[bool]string{false: al.wholePath, true: al.streamPath}[stream]; got != want {
						t.Errorf("path %q, want %q", got, want)
					}
					if got, want := offeredTool(calls[0]), "get_weather"; got != want {
						t.Errorf("the provider was offered tool %q, want %q", got, want)
					}
				})
			}
		}
	}
}

func TestCloudProviderErrorsReachClientsInTheirEnvelopes(t *testing.T) {
	t.Parallel()
	f := newCloudFakes(t)
	tests := []struct {
		name, alias string
		srv         *aitest.Server
		reply       aitest.Reply
		status      int
		openAICode  string // the OpenAI envelope's code
		claudeType  string // the Anthropic envelope's error type
	}{
		{
			name:       "a Bedrock ValidationException is the caller's bad request",
			alias:      "claude",
			srv:        f.bedrock,
			reply:      aitest.Reply{Status: 400, ErrorCode: "ValidationException", ErrorMessage: "temperature: must be at most 1"},
			status:     400,
			openAICode: "invalid_request",
			claudeType: "invalid_request_error",
		},
		{
			name:       "a Bedrock ResourceNotFoundException is an unknown model",
			alias:      "claude",
			srv:        f.bedrock,
			reply:      aitest.Reply{Status: 404, ErrorCode: "ResourceNotFoundException", ErrorMessage: "Model not found."},
			status:     404,
			openAICode: "model_not_found",
			claudeType: "not_found_error",
		},
		{
			name:       "a Bedrock AccessDeniedException is the gateway's failure, not the caller's",
			alias:      "claude",
			srv:        f.bedrock,
			reply:      aitest.Reply{Status: 403, ErrorCode: "AccessDeniedException", ErrorMessage: "You don't have access to the model."},
			status:     502,
			openAICode: "upstream_error",
			claudeType: "api_error",
		},
		{
			name:       "a Vertex AI INVALID_ARGUMENT is the caller's bad request",
			alias:      "gemini",
			srv:        f.vertex,
			reply:      aitest.Reply{Status: 400, ErrorMessage: "Request contains an invalid argument."},
			status:     400,
			openAICode: "invalid_request",
			claudeType: "invalid_request_error",
		},
		{
			name:       "a Vertex AI PERMISSION_DENIED is the gateway's failure",
			alias:      "gemini",
			srv:        f.vertex,
			reply:      aitest.Reply{Status: 403, ErrorMessage: "Permission 'aiplatform.endpoints.predict' denied."},
			status:     502,
			openAICode: "upstream_error",
			claudeType: "api_error",
		},
		{
			name:       "an Azure OpenAI content filter is refused as such",
			alias:      "azure-key",
			srv:        f.azure,
			reply:      aitest.Reply{Status: 400, ErrorCode: "content_filter", ErrorMessage: "The response was filtered due to the prompt triggering Azure OpenAI's content management policy."},
			status:     400,
			openAICode: "content_filter",
			claudeType: "invalid_request_error",
		},
		{
			name:       "an Azure OpenAI key refused is the gateway's failure",
			alias:      "azure-key",
			srv:        f.azure,
			reply:      aitest.Reply{Status: 401, ErrorMessage: "Access denied due to invalid subscription key."},
			status:     502,
			openAICode: "upstream_error",
			claudeType: "api_error",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.srv.Push(tt.reply, tt.reply)
			status, _, body := gwtest.AIPost(t, f.gateway+"/v1/chat/completions", "app-key", `{"model":"`+tt.alias+`","messages":[{"role":"user","content":"hi"}]}`)
			if got, want := status, tt.status; got != want {
				t.Errorf("chat completions: status %d, want %d: %s", got, want, body)
			}
			if want := `"code":"` + tt.openAICode + `"`; !strings.Contains(body, want) {
				t.Errorf("chat completions: body %s lacks %s", body, want)
			}
			status, _, body = gwtest.AIPost(t, f.gateway+"/v1/messages", "app-key", `{"model":"`+tt.alias+`","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}`)
			if got, want := status, tt.status; got != want {
				t.Errorf("messages: status %d, want %d: %s", got, want, body)
			}
			if want := `"type":"` + tt.claudeType + `"`; !strings.Contains(body, want) {
				t.Errorf("messages: body %s lacks %s", body, want)
			}
			if got, want := tt.srv.Pending(), 0; got != want {
				t.Errorf("%d replies left: the error was not answered once per call", got)
			}
		})
	}
}

func TestABedrockStreamExceptionEndsTheClientsStreamWithAnError(t *testing.T) {
	t.Parallel()
	f := newCloudFakes(t)
	for _, endpoint := range []string{"/v1/chat/completions", "/v1/messages"} {
		t.Run("on "+endpoint, func(t *testing.T) {
			f.bedrock.Push(aitest.Reply{
				Text:         "Once upon a time, far away",
				Fault:        aitest.ErrorEvent,
				FaultAfter:   3,
				ErrorMessage: "The model stream failed.",
			})
			status, _, body := gwtest.AIPost(t, f.gateway+endpoint, "app-key", `{"model":"claude","stream":true,"max_tokens":10,"messages":[{"role":"user","content":"hi"}]}`)
			if got, want := status, http.StatusOK; got != want {
				t.Fatalf("status %d, want %d: %s", got, want, body)
			}
			if !strings.Contains(body, `"error"`) {
				t.Errorf("the stream %s carries no error", body)
			}
			if strings.Contains(body, "far away") {
				t.Errorf("the stream %s carries text sent after the exception", body)
			}
		})
	}
}
