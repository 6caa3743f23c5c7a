package openai_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/portico-dev/portico/aiclient"
	"github.com/portico-dev/portico/aiclient/aitest"
	"github.com/portico-dev/portico/aiclient/internal/testkit"
	"github.com/portico-dev/portico/aiclient/openai"
)

func TestAFixedDeploymentTakesEveryModelWholeAndStreamed(t *testing.T) {
	t.Parallel()
	srv := aitest.NewServer(aitest.OpenAI)
	defer srv.Close()
	srv.Push(aitest.Text("whole", 1, 1), aitest.Text("streamed", 1, 1))
	p := openai.New(openai.WithBaseURL(strings.TrimSuffix(srv.URL(), "/v1")), openai.WithAzure("2025-01-01"),
		openai.WithDeployment("gpt-4o-prod"), openai.WithAPIKey("azure-key"), openai.WithPolicies())
	req := &aiclient.Request{Model: "gpt-4o", Messages: []aiclient.Message{aiclient.UserText("hi")}}
	if _, err := p.Chat(testkit.Deadline(t), req); err != nil {
		t.Fatal(err)
	}
	s, err := p.Stream(testkit.Deadline(t), req)
	if err != nil {
		t.Fatal(err)
	}
	for s.Next() {
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	for i, r := range srv.Requests() {
		if got, want := r.Path, "/openai/deployments/gpt-4o-prod/chat/completions"; got != want {
			t.Errorf("call %d: path %q, want %q", i, got, want)
		}
		if got, want := r.Query, "api-version=2025-01-01"; got != want {
			t.Errorf("call %d: query %q, want %q", i, got, want)
		}
	}
}

func TestATokenIsAskedForEachCallAndSentAsBearer(t *testing.T) {
	t.Parallel()
	srv := aitest.NewServer(aitest.OpenAI)
	defer srv.Close()
	srv.Push(aitest.Text("one", 1, 1), aitest.Text("two", 1, 1))
	var calls atomic.Int32
	token := func(context.Context) (string, error) { return "entra-" + strconv.Itoa(int(calls.Add(1))), nil }
	p := openai.New(openai.WithBaseURL(strings.TrimSuffix(srv.URL(), "/v1")), openai.WithAzure("2024-10-21"), openai.WithToken(token), openai.WithPolicies())
	req := &aiclient.Request{Model: "gpt-4o", Messages: []aiclient.Message{aiclient.UserText("hi")}}
	for range 2 {
		if _, err := p.Chat(testkit.Deadline(t), req); err != nil {
			t.Fatal(err)
		}
	}
	for i, want := range []string{"Bearer entra-1", "Bearer entra-2"} {
		h := srv.Requests()[i].Header
		if got := h.Get("Authorization"); got != want {
			t.Errorf("call %d: authorization %q, want %q", i, got, want)
		}
		if got := h.Get("api-key"); got != "" {
			t.Errorf("call %d: api-key %q sent beside the token", i, got)
		}
	}
}

func TestATokenThatCannotBeHadIsAnAuthenticationErrorAndNoCall(t *testing.T) {
	t.Parallel()
	srv := aitest.NewServer(aitest.OpenAI)
	defer srv.Close()
	failing := func(context.Context) (string, error) {
		return "", errors.New("AADSTS700016: application not found in the directory")
	}
	p := openai.New(openai.WithBaseURL(strings.TrimSuffix(srv.URL(), "/v1")), openai.WithAzure("2024-10-21"), openai.WithToken(failing))
	_, err := p.Chat(testkit.Deadline(t), &aiclient.Request{Model: "gpt-4o", Messages: []aiclient.Message{aiclient.UserText("hi")}})
	e, ok := errors.AsType[*aiclient.Error](err)
	if !ok {
		t.Fatalf("error %v is not an *aiclient.Error", err)
	}
	if got, want := e.Kind, aiclient.KindAuthentication; got != want {
		t.Errorf("kind %q, want %q", got, want)
	}
	if !strings.Contains(e.Message, "AADSTS700016") {
		t.Errorf("message %q does not say why", e.Message)
	}
	if got := len(srv.Requests()); got != 0 {
		t.Errorf("%d calls reached the provider without a token", got)
	}
	if got, want := e.Status, 0; got != want {
		t.Errorf("status %d, want %d (no HTTP exchange)", got, want)
	}
}
