package bedrock_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/credentials"
	"go.uber.org/goleak"

	"github.com/portico-dev/portico/aiclient"
	"github.com/portico-dev/portico/aiclient/aitest"
	"github.com/portico-dev/portico/aiclient/bedrock"
	"github.com/portico-dev/portico/aiclient/internal/testkit"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// static are the credentials the fake Bedrock accepts.
var static = credentials.NewStaticCredentialsProvider(aitest.AWSAccessKeyID, aitest.AWSSecretAccessKey, "")

func connectTo(t testing.TB, baseURL string, opts ...bedrock.Option) *bedrock.Provider {
	t.Helper()
	opts = append([]bedrock.Option{bedrock.WithBaseURL(baseURL), bedrock.WithRegion("eu-west-3"), bedrock.WithCredentials(static), bedrock.WithPolicies()}, opts...)
	p, err := bedrock.New(context.Background(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestStreamedAndWholeCallsGiveIdenticalResponses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		reply aitest.Reply
	}{
		{"a plain text answer", aitest.Reply{Text: "Grüß Gott — 你好!", Usage: aiclient.Usage{InputTokens: 6, OutputTokens: 9}}},
		{"reasoning with its signature, text, two tool calls and cached tokens", aitest.Reply{
			Reasoning: "Pondering… carefully.",
			Signature: "c2lnbmF0dXJl",
			Text:      "Let me look that up.",
			ToolCalls: []aitest.ToolCall{{Name: "get_weather", Arguments: `{"city":"Kraków"}`}, {Name: "get_time", Arguments: `{"tz":"Europe/Warsaw"}`}},
			Usage: aiclient.Usage{
				InputTokens:      3000,
				CacheReadTokens:  2048,
				CacheWriteTokens: 100,
				OutputTokens:     500,
			},
		}},
		{"a reply cut at max_tokens", aitest.Reply{Text: "truncated", FinishReason: "max_tokens", Usage: aiclient.Usage{InputTokens: 2, OutputTokens: 3}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := aitest.NewServer(aitest.Bedrock, aitest.WithSplitter(aitest.Bytewise))
			defer srv.Close()
			reply := tt.reply
			reply.ID = "7f2c1a5e-0000-4000-8000-000000000001"
			srv.Push(reply, reply)
			p := connectTo(t, srv.URL())
			req := &aiclient.Request{Model: "anthropic.claude-3-5-haiku-20241022-v1:0", Messages: []aiclient.Message{aiclient.UserText("hi")}}
			testkit.SameWholeAndStreamed(t, p, req, tt.reply.Usage)
			reqs := srv.Requests()
			if got, want := reqs[0].Path, "/model/anthropic.claude-3-5-haiku-20241022-v1:0/converse"; got != want {
				t.Errorf("path %q, want %q", got, want)
			}
			if got, want := reqs[1].Path, "/model/anthropic.claude-3-5-haiku-20241022-v1:0/converse-stream"; got != want {
				t.Errorf("path %q, want %q", got, want)
			}
			if got := reqs[0].Header.Get("Authorization"); !strings.Contains(got, "/eu-west-3/bedrock/aws4_request") {
				t.Errorf("authorization %q is not scoped to eu-west-3 and bedrock", got)
			}
		})
	}
}

func TestABadSignatureIsAnAuthenticationError(t *testing.T) {
	t.Parallel()
	srv := aitest.NewServer(aitest.Bedrock)
	defer srv.Close()
	wrong := credentials.NewStaticCredentialsProvider(aitest.AWSAccessKeyID, "not-the-secret", "")
	p := connectTo(t, srv.URL(), bedrock.WithCredentials(wrong))
	_, err := p.Chat(testkit.Deadline(t), &aiclient.Request{Model: "m", Messages: []aiclient.Message{aiclient.UserText("hi")}})
	var e *aiclient.Error
	if !errors.As(err, &e) {
		t.Fatalf("got %v", err)
	}
	if got, want := e.Kind, aiclient.KindAuthentication; got != want {
		t.Errorf("kind %q, want %q", got, want)
	}
	if got, want := e.Code, "InvalidSignatureException"; got != want {
		t.Errorf("code %q, want %q", got, want)
	}
	if got, want := e.Status, http.StatusForbidden; got != want {
		t.Errorf("status %d, want %d", got, want)
	}
}
