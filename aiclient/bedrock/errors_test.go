package bedrock_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/portico-dev/portico/aiclient"
	"github.com/portico-dev/portico/aiclient/aitest"
	"github.com/portico-dev/portico/aiclient/bedrock"
	"github.com/portico-dev/portico/aiclient/internal/testkit"
)

func hi(model string) *aiclient.Request {
	return &aiclient.Request{Model: model, Messages: []aiclient.Message{aiclient.UserText("hi")}}
}

func TestExceptionsMapToKinds(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		status  int
		code    string
		message string
		want    aiclient.Kind
		retry   bool
	}{
		{
			name:    "ThrottlingException is a rate limit",
			status:  429,
			code:    "ThrottlingException",
			message: "Too many requests, please wait before trying again.",
			want:    aiclient.KindRateLimited,
			retry:   true,
		},
		{
			name:    "ValidationException is an invalid request",
			status:  400,
			code:    "ValidationException",
			message: "The provided model identifier is invalid.",
			want:    aiclient.KindInvalidRequest,
			retry:   false,
		},
		{
			name:    "ValidationException about a long input is a context length error",
			status:  400,
			code:    "ValidationException",
			message: "Input is too long for requested model.",
			want:    aiclient.KindContextLength,
			retry:   false,
		},
		{
			name:    "ServiceQuotaExceededException is an exhausted quota",
			status:  400,
			code:    "ServiceQuotaExceededException",
			message: "Your request exceeds the service quota for your account.",
			want:    aiclient.KindQuotaExhausted,
			retry:   false,
		},
		{
			name:    "AccessDeniedException is a permission error",
			status:  403,
			code:    "AccessDeniedException",
			message: "You don't have access to the model with the specified model ID.",
			want:    aiclient.KindPermission,
			retry:   false,
		},
		{
			name:    "ResourceNotFoundException is not found",
			status:  404,
			code:    "ResourceNotFoundException",
			message: "Model not found.",
			want:    aiclient.KindNotFound,
			retry:   false,
		},
		{
			name:    "ModelTimeoutException is a timeout",
			status:  408,
			code:    "ModelTimeoutException",
			message: "Model has timed out in processing the request.",
			want:    aiclient.KindTimeout,
			retry:   true,
		},
		{
			name:    "ModelErrorException is a server error",
			status:  424,
			code:    "ModelErrorException",
			message: "The model returned an error.",
			want:    aiclient.KindServer,
			retry:   true,
		},
		{
			name:    "ModelNotReadyException is an overload",
			status:  429,
			code:    "ModelNotReadyException",
			message: "Model is not ready for inference.",
			want:    aiclient.KindOverloaded,
			retry:   true,
		},
		{
			name:    "InternalServerException is a server error, not an overload",
			status:  500,
			code:    "InternalServerException",
			message: "Internal server error.",
			want:    aiclient.KindServer,
			retry:   true,
		},
		{
			name:    "ServiceUnavailableException is an overload",
			status:  503,
			code:    "ServiceUnavailableException",
			message: "Service is temporarily unavailable.",
			want:    aiclient.KindOverloaded,
			retry:   true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := aitest.NewServer(aitest.Bedrock)
			defer srv.Close()
			srv.Push(aitest.Reply{Status: tt.status, ErrorCode: tt.code, ErrorMessage: tt.message})
			_, err := connectTo(t, srv.URL()).Chat(testkit.Deadline(t), hi("amazon.nova-lite-v1:0"))
			var e *aiclient.Error
			if !errors.As(err, &e) {
				t.Fatalf("got %v", err)
			}
			if got := e.Kind; got != tt.want {
				t.Errorf("kind %q, want %q", got, tt.want)
			}
			if got := e.Retryable; got != tt.retry {
				t.Errorf("retryable %v, want %v", got, tt.retry)
			}
			if got := e.Status; got != tt.status {
				t.Errorf("status %d, want %d", got, tt.status)
			}
			if got := e.Code; got != tt.code {
				t.Errorf("code %q, want %q", got, tt.code)
			}
			if got := e.Message; got != tt.message {
				t.Errorf("message %q, want %q", got, tt.message)
			}
			if got, want := e.Provider, "aws.bedrock"; got != want {
				t.Errorf("provider %q, want %q", got, want)
			}
		})
	}
}

func TestStreamFaultsAfterStatus200(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		fault aitest.Fault
		code  string
		kind  aiclient.Kind
	}{
		{
			name:  "an exception message ends the stream with its kind",
			fault: aitest.ErrorEvent,
			code:  "modelStreamErrorException",
			kind:  aiclient.KindServer,
		},
		{
			name:  "a cut connection is an interrupted stream",
			fault: aitest.Cut,
			code:  "stream_interrupted",
			kind:  aiclient.KindServer,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := aitest.NewServer(aitest.Bedrock)
			defer srv.Close()
			srv.Push(aitest.Reply{Text: "abcdefghi", Fault: tt.fault, FaultAfter: 3})
			s, err := connectTo(t, srv.URL()).Stream(testkit.Deadline(t), hi("amazon.nova-lite-v1:0"))
			if err != nil {
				t.Fatal(err)
			}
			resp, err := aiclient.Collect(s)
			var e *aiclient.Error
			if !errors.As(err, &e) {
				t.Fatalf("got %v", err)
			}
			if got := e.Code; got != tt.code {
				t.Errorf("code %q, want %q", got, tt.code)
			}
			if got := e.Kind; got != tt.kind {
				t.Errorf("kind %q, want %q", got, tt.kind)
			}
			if got, want := resp.Message.Text(), "abcdef"; got != want {
				t.Errorf("partial text %q, want %q", got, want)
			}
		})
	}
}

func TestAnAPIKeyIsSentAsABearerTokenUnsigned(t *testing.T) {
	t.Parallel()
	srv := aitest.NewServer(aitest.Bedrock)
	defer srv.Close()
	srv.Push(aitest.Text("ok", 1, 1))
	p, err := bedrock.New(context.Background(), bedrock.WithBaseURL(srv.URL()), bedrock.WithRegion("us-west-2"),
		bedrock.WithAPIKey(aitest.BedrockAPIKey), bedrock.WithPolicies())
	if err != nil {
		t.Fatal(err)
	}
	resp, err := p.Chat(testkit.Deadline(t), hi("m"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := resp.Message.Text(), "ok"; got != want {
		t.Errorf("text %q, want %q", got, want)
	}
	h := srv.Requests()[0].Header
	if got, want := h.Get("Authorization"), "Bearer "+aitest.BedrockAPIKey; got != want {
		t.Errorf("authorization %q, want %q", got, want)
	}
	if got := h.Get("X-Amz-Date"); got != "" {
		t.Errorf("an API key call was signed too (x-amz-date %q)", got)
	}
}

func TestCredentialsThatCannotBeHadAreAnAuthenticationError(t *testing.T) {
	t.Parallel()
	srv := aitest.NewServer(aitest.Bedrock)
	defer srv.Close()
	broken := aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
		return aws.Credentials{}, errors.New("no SSO session: run aws sso login")
	})
	_, err := connectTo(t, srv.URL(), bedrock.WithCredentials(broken)).Chat(testkit.Deadline(t), hi("m"))
	var e *aiclient.Error
	if !errors.As(err, &e) {
		t.Fatalf("got %v", err)
	}
	if got, want := e.Kind, aiclient.KindAuthentication; got != want {
		t.Errorf("kind %q, want %q", got, want)
	}
	if !strings.Contains(e.Message, "aws sso login") {
		t.Errorf("message %q does not say why", e.Message)
	}
	if got := len(srv.Requests()); got != 0 {
		t.Errorf("%d requests were sent without credentials", got)
	}
}

// TestTheDefaultChainReadsTheSharedFilesOfTheProfile uses the
// environment, so it does not run in parallel.
func TestTheDefaultChainReadsTheSharedFilesOfTheProfile(t *testing.T) {
	dir := t.TempDir()
	cfgFile, credFile := filepath.Join(dir, "config"), filepath.Join(dir, "credentials")
	if err := os.WriteFile(cfgFile, []byte("[profile team]\nregion = ap-southeast-2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(credFile, []byte("[team]\naws_access_key_id = "+aitest.AWSAccessKeyID+"\naws_secret_access_key = "+aitest.AWSSecretAccessKey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{"AWS_CONFIG_FILE": cfgFile, "AWS_SHARED_CREDENTIALS_FILE": credFile, "AWS_EC2_METADATA_DISABLED": "true",
		"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_SESSION_TOKEN": "", "AWS_REGION": "", "AWS_DEFAULT_REGION": "", "AWS_PROFILE": "",
		"AWS_BEARER_TOKEN_BEDROCK": "", "AWS_WEB_IDENTITY_TOKEN_FILE": "", "AWS_CONTAINER_CREDENTIALS_FULL_URI": "", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": ""} {
		t.Setenv(k, v)
	}
	srv := aitest.NewServer(aitest.Bedrock)
	defer srv.Close()
	srv.Push(aitest.Text("from the profile", 1, 1))
	p, err := bedrock.New(context.Background(), bedrock.WithProfile("team"), bedrock.WithBaseURL(srv.URL()), bedrock.WithPolicies())
	if err != nil {
		t.Fatal(err)
	}
	resp, err := p.Chat(testkit.Deadline(t), hi("m"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := resp.Message.Text(), "from the profile"; got != want {
		t.Errorf("text %q, want %q", got, want)
	}
	if got := srv.Requests()[0].Header.Get("Authorization"); !strings.Contains(got, "/ap-southeast-2/bedrock/") {
		t.Errorf("authorization %q is not scoped to the profile's region", got)
	}
	_, err = bedrock.New(context.Background(), bedrock.WithProfile("no-such-profile"))
	testkit.WantError(t, err, "no-such-profile")
	_, err = bedrock.New(context.Background()) // the default profile has no region
	testkit.WantError(t, err, "WithRegion")
}

func TestNewRefusesWhatCannotWork(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		opts []bedrock.Option
		want string
	}{
		{"a relative base URL", []bedrock.Option{bedrock.WithRegion("us-east-1"), bedrock.WithCredentials(static), bedrock.WithBaseURL("bedrock.local")}, "absolute URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := bedrock.New(context.Background(), tt.opts...)
			testkit.WantError(t, err, tt.want)
		})
	}
}

func TestRequestsConverseCannotCarryAreRefusedNamingTheSetting(t *testing.T) {
	t.Parallel()
	call := aiclient.Message{Role: aiclient.RoleAssistant, ToolCalls: []aiclient.ToolCall{{ID: "t1", Name: "f", Arguments: []byte(`{}`)}}}
	tools := []aiclient.Tool{{Name: "f"}}
	tests := []struct {
		name string
		req  aiclient.Request
		want string
	}{
		{"tool choice none with tool calls in the conversation", aiclient.Request{Tools: tools, ToolChoice: &aiclient.ToolChoice{Mode: aiclient.ChoiceNone},
			Messages: []aiclient.Message{aiclient.UserText("x"), call, aiclient.ToolResult("t1", "done")}}, `tool_choice "none"`},
		{"tool calls without tools", aiclient.Request{Messages: []aiclient.Message{aiclient.UserText("x"), call, aiclient.ToolResult("t1", "done")}}, "tools defined"},
		{"an image by https URL", aiclient.Request{Messages: []aiclient.Message{aiclient.User(aiclient.ImageURL("https://example.com/a.png"))}}, "s3://"},
		{"an audio part", aiclient.Request{Messages: []aiclient.Message{aiclient.User(aiclient.Part{Type: aiclient.PartAudio, Data: []byte{1}, MIMEType: "audio/wav"})}}, `"audio"`},
		{"an image type Converse does not read", aiclient.Request{Messages: []aiclient.Message{aiclient.User(aiclient.Image([]byte{1}, "image/tiff"))}}, "image/tiff"},
	}
	p := connectTo(t, "http://127.0.0.1:1")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.req.Model = "m"
			_, err := p.EncodeRequest(&tt.req)
			var e *aiclient.Error
			if !errors.As(err, &e) {
				t.Fatalf("got %v", err)
			}
			if got, want := e.Kind, aiclient.KindInvalidRequest; got != want {
				t.Errorf("kind %q, want %q", got, want)
			}
			if !strings.Contains(e.Message, tt.want) {
				t.Errorf("message %q does not name %s", e.Message, tt.want)
			}
		})
	}
}

func TestToolChoiceNoneWithoutToolHistoryLeavesTheToolsOut(t *testing.T) {
	t.Parallel()
	body, err := connectTo(t, "http://127.0.0.1:1").EncodeRequest(&aiclient.Request{
		Model:      "m",
		Messages:   []aiclient.Message{aiclient.UserText("x")},
		Tools:      []aiclient.Tool{{Name: "f"}},
		ToolChoice: &aiclient.ToolChoice{Mode: aiclient.ChoiceNone},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(body), `{"messages":[{"role":"user","content":[{"text":"x"}]}]}`; got != want {
		t.Errorf("body %s, want %s", got, want)
	}
}

func TestDocumentsCacheAndFailedToolsAreEncoded(t *testing.T) {
	t.Parallel()
	req := &aiclient.Request{
		Model:      "m",
		Tools:      []aiclient.Tool{{Name: "f", Cache: true}},
		ToolChoice: &aiclient.ToolChoice{Mode: aiclient.ChoiceTool, Name: "f"},
		Messages: []aiclient.Message{
			{Role: aiclient.RoleSystem, Parts: []aiclient.Part{{Type: aiclient.PartText, Text: "sys", Cache: true}}},
			aiclient.User(aiclient.Part{
				Type:     aiclient.PartFile,
				Data:     []byte("%PDF"),
				MIMEType: "application/pdf",
				Name:     "Q3 report.v2.pdf",
			}),
			{Role: aiclient.RoleAssistant, ToolCalls: []aiclient.ToolCall{{ID: "t1", Name: "f", Arguments: []byte(`{"a":1}`)}}},
			{
				Role:       aiclient.RoleTool,
				ToolCallID: "t1",
				IsError:    true,
				Parts:      []aiclient.Part{aiclient.Text("boom")},
			},
		},
	}
	body, err := connectTo(t, "http://127.0.0.1:1").EncodeRequest(req)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"messages":[{"role":"user","content":[{"document":{"format":"pdf","name":"Q3 report-v2","source":{"bytes":"JVBERg=="}}}]},` +
		`{"role":"assistant","content":[{"toolUse":{"toolUseId":"t1","name":"f","input":{"a":1}}}]},` +
		`{"role":"user","content":[{"toolResult":{"toolUseId":"t1","content":[{"text":"boom"}],"status":"error"}}]}],` +
		`"system":[{"text":"sys"},{"cachePoint":{"type":"default"}}],` +
		`"toolConfig":{"tools":[{"toolSpec":{"name":"f","inputSchema":{"json":{"type":"object","properties":{}}}}},{"cachePoint":{"type":"default"}}],"toolChoice":{"tool":{"name":"f"}}}}`
	if got := string(body); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func TestAModelARNIsOneEscapedPathSegment(t *testing.T) {
	t.Parallel()
	srv := aitest.NewServer(aitest.Bedrock)
	defer srv.Close()
	srv.Push(aitest.Text("ok", 1, 1))
	arn := "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-3-7-sonnet-20250219-v1:0"
	if _, err := connectTo(t, srv.URL()).Chat(testkit.Deadline(t), hi(arn)); err != nil {
		t.Fatal(err)
	}
	if got, want := srv.Requests()[0].Path, "/model/"+arn+"/converse"; got != want {
		t.Errorf("path %q, want %q", got, want)
	}
}
