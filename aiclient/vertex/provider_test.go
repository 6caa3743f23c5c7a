package vertex_test

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
	"golang.org/x/oauth2"

	"github.com/portico-dev/portico/aiclient"
	"github.com/portico-dev/portico/aiclient/aitest"
	"github.com/portico-dev/portico/aiclient/internal/testkit"
	"github.com/portico-dev/portico/aiclient/vertex"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func hi(model string) *aiclient.Request {
	return &aiclient.Request{Model: model, Messages: []aiclient.Message{aiclient.UserText("hi")}}
}

// connectTo returns a Provider for srv with a token it issued.
func connectTo(t testing.TB, srv *aitest.Server, opts ...vertex.Option) *vertex.Provider {
	t.Helper()
	opts = append([]vertex.Option{vertex.WithBaseURL(srv.URL()), vertex.WithProject("acme-prod"), vertex.WithLocation("europe-west4"),
		vertex.WithTokenSource(oauth2.StaticTokenSource(&oauth2.Token{AccessToken: srv.Token()})), vertex.WithPolicies()}, opts...)
	p, err := vertex.New(context.Background(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// connect is the adapter the fixture harnesses replay through.
func connect(baseURL string) aiclient.Provider {
	p, err := vertex.New(context.Background(), vertex.WithBaseURL(baseURL), vertex.WithProject("p"),
		vertex.WithTokenSource(oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "ya29.fixture"})), vertex.WithPolicies())
	if err != nil {
		panic(err)
	}
	return p
}

func TestDecodeResponseFixtures(t *testing.T) {
	t.Parallel()
	testkit.ResponseFixtures(t, connect, "gemini-2.5-flash", []testkit.Fixture{
		{Name: "a thought, signed text and thinking tokens", File: "response_text.json", Want: "response_text.want.json"},
	})
}

func TestDecodeStreamFixturesInHostileChunkings(t *testing.T) {
	t.Parallel()
	testkit.StreamFixtures(t, connect, "text/event-stream", "gemini-2.5-flash", []testkit.Fixture{
		{Name: "text, then a function call with the usage", File: "stream_tools.sse", Want: "stream_tools.want.json"},
	})
}

func TestStreamedAndWholeCallsGiveIdenticalResponses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		reply aitest.Reply
	}{
		{"a plain text answer with a signature", aitest.Reply{Text: "Grüß Gott — 你好!", Signature: "c2lnbmF0dXJl", Usage: aiclient.Usage{InputTokens: 6, OutputTokens: 9}}},
		{"thoughts, text, two function calls and cached and thinking tokens", aitest.Reply{
			Reasoning: "Pondering… carefully.",
			Signature: "sig-fc",
			Text:      "Let me look that up.",
			ToolCalls: []aitest.ToolCall{{Name: "get_weather", Arguments: `{"city":"Kraków"}`}, {Name: "get_time", Arguments: `{"tz":"Europe/Warsaw"}`}},
			Usage: aiclient.Usage{
				InputTokens:     3000,
				CacheReadTokens: 2048,
				OutputTokens:    500,
				ReasoningTokens: 350,
			},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := aitest.NewServer(aitest.Vertex, aitest.WithSplitter(aitest.SplitRunes), aitest.WithCRLF())
			defer srv.Close()
			reply := tt.reply
			reply.ID = "resp-fixed"
			srv.Push(reply, reply)
			testkit.SameWholeAndStreamed(t, connectTo(t, srv), hi("gemini-2.5-flash"), tt.reply.Usage)
			reqs := srv.Requests()
			if got, want := reqs[0].Path, "/v1/projects/acme-prod/locations/europe-west4/publishers/google/models/gemini-2.5-flash:generateContent"; got != want {
				t.Errorf("path %q, want %q", got, want)
			}
			if got, want := reqs[1].Path, "/v1/projects/acme-prod/locations/europe-west4/publishers/google/models/gemini-2.5-flash:streamGenerateContent"; got != want {
				t.Errorf("path %q, want %q", got, want)
			}
			if got, want := reqs[1].Query, "alt=sse"; got != want {
				t.Errorf("query %q, want %q", got, want)
			}
		})
	}
}

func TestAServiceAccountKeyGetsTokensFromItsTokenURIOnce(t *testing.T) {
	t.Parallel()
	srv := aitest.NewServer(aitest.Vertex)
	defer srv.Close()
	srv.Push(aitest.Text("one", 1, 1), aitest.Text("two", 1, 1))
	file := filepath.Join(t.TempDir(), "sa.json")
	if err := os.WriteFile(file, srv.ServiceAccount(), 0o600); err != nil {
		t.Fatal(err)
	}
	p, err := vertex.New(context.Background(), vertex.WithCredentialsFile(file), vertex.WithBaseURL(srv.URL()), vertex.WithPolicies())
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"one", "two"} {
		resp, err := p.Chat(testkit.Deadline(t), hi("gemini-2.5-pro"))
		if err != nil {
			t.Fatal(err)
		}
		if got := resp.Message.Text(); got != want {
			t.Errorf("text %q, want %q", got, want)
		}
	}
	reqs := srv.Requests()
	if got, want := len(reqs), 3; got != want {
		t.Fatalf("%d requests, want %d (one token, two calls)", got, want)
	}
	if got, want := reqs[0].Path, "/token"; got != want {
		t.Errorf("first request to %q, want the token endpoint %q", got, want)
	}
	if got, want := reqs[1].Path, "/v1/projects/aitest-project/locations/us-central1/publishers/google/models/gemini-2.5-pro:generateContent"; got != want {
		t.Errorf("path %q, want the key's project and the default location: %q", got, want)
	}
	if got := reqs[2].Header.Get("Authorization"); !strings.HasPrefix(got, "Bearer ya29.aitest-") {
		t.Errorf("authorization %q", got)
	}
}

// TestApplicationDefaultCredentialsComeFromTheEnvironment sets
// GOOGLE_APPLICATION_CREDENTIALS, so it does not run in parallel.
func TestApplicationDefaultCredentialsComeFromTheEnvironment(t *testing.T) {
	srv := aitest.NewServer(aitest.Vertex)
	defer srv.Close()
	srv.Push(aitest.Text("adc", 1, 1))
	file := filepath.Join(t.TempDir(), "adc.json")
	if err := os.WriteFile(file, srv.ServiceAccount(), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", file)
	p, err := vertex.New(context.Background(), vertex.WithProject("other-project"), vertex.WithBaseURL(srv.URL()), vertex.WithPolicies())
	if err != nil {
		t.Fatal(err)
	}
	resp, err := p.Chat(testkit.Deadline(t), hi("gemini-2.5-flash"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := resp.Message.Text(), "adc"; got != want {
		t.Errorf("text %q, want %q", got, want)
	}
	if got, want := srv.Requests()[1].Path, "/v1/projects/other-project/locations/us-central1/publishers/google/models/gemini-2.5-flash:generateContent"; got != want {
		t.Errorf("path %q, want WithProject's project: %q", got, want)
	}
}

func TestCredentialFailuresAreAuthenticationErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		tokens oauth2.TokenSource
		status int
		code   string
	}{
		{
			name:   "a token source that fails sends nothing",
			tokens: failing{},
			status: 0,
			code:   "credentials",
		},
		{
			name:   "a token Vertex AI did not issue is refused with 401",
			tokens: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "ya29.forged"}),
			status: http.StatusUnauthorized,
			code:   "UNAUTHENTICATED",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := aitest.NewServer(aitest.Vertex)
			defer srv.Close()
			_, err := connectTo(t, srv, vertex.WithTokenSource(tt.tokens)).Chat(testkit.Deadline(t), hi("gemini-2.5-flash"))
			var e *aiclient.Error
			if !errors.As(err, &e) {
				t.Fatalf("got %v", err)
			}
			if got, want := e.Kind, aiclient.KindAuthentication; got != want {
				t.Errorf("kind %q, want %q", got, want)
			}
			if got := e.Status; got != tt.status {
				t.Errorf("status %d, want %d", got, tt.status)
			}
			if got := e.Code; got != tt.code {
				t.Errorf("code %q, want %q", got, tt.code)
			}
			if got, want := e.Provider, "gcp.vertex_ai"; got != want {
				t.Errorf("provider %q, want %q", got, want)
			}
			if e.Retryable {
				t.Error("an authentication error is retryable")
			}
		})
	}
}

type failing struct{}

func (failing) Token() (*oauth2.Token, error) {
	return nil, errors.New("oauth2: cannot fetch token: invalid_grant")
}

func TestErrorsAndRetryInfoAreRead(t *testing.T) {
	t.Parallel()
	srv := aitest.NewServer(aitest.Vertex)
	defer srv.Close()
	srv.Push(aitest.Reply{Status: 429, RetryAfter: 20 * time.Second, ErrorMessage: "Resource exhausted. Please try again later."})
	_, err := connectTo(t, srv).Chat(testkit.Deadline(t), hi("gemini-2.5-flash"))
	var e *aiclient.Error
	if !errors.As(err, &e) {
		t.Fatalf("got %v", err)
	}
	if got, want := e.Kind, aiclient.KindRateLimited; got != want {
		t.Errorf("kind %q, want %q", got, want)
	}
	if got, want := e.RetryAfter, 20*time.Second; got != want {
		t.Errorf("retry after %v, want %v", got, want)
	}
	if got, want := e.Code, "RESOURCE_EXHAUSTED"; got != want {
		t.Errorf("code %q, want %q", got, want)
	}
}

func TestAStreamErrorAfterStatus200EndsTheStream(t *testing.T) {
	t.Parallel()
	srv := aitest.NewServer(aitest.Vertex)
	defer srv.Close()
	srv.Push(aitest.Reply{Text: "abcdefghi", Fault: aitest.ErrorEvent, FaultAfter: 2})
	s, err := connectTo(t, srv).Stream(testkit.Deadline(t), hi("gemini-2.5-flash"))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := aiclient.Collect(s)
	var e *aiclient.Error
	if !errors.As(err, &e) {
		t.Fatalf("got %v", err)
	}
	if got, want := e.Status, http.StatusOK; got != want {
		t.Errorf("status %d, want %d", got, want)
	}
	if got, want := e.Kind, aiclient.KindServer; got != want {
		t.Errorf("kind %q, want %q", got, want)
	}
	if got, want := resp.Message.Text(), "abcdef"; got != want {
		t.Errorf("partial text %q, want %q", got, want)
	}
}

func TestEmbeddingsAreBatchedAsTheModelTakesThem(t *testing.T) {
	t.Parallel()
	tests := []struct {
		model string
		calls int
	}{
		{"text-embedding-005", 1},
		{"gemini-embedding-001", 3},
	}
	for _, tt := range tests {
		t.Run(tt.model+" takes "+map[int]string{1: "them at once", 3: "one at a time"}[tt.calls], func(t *testing.T) {
			t.Parallel()
			srv := aitest.NewServer(aitest.Vertex)
			defer srv.Close()
			for range tt.calls {
				srv.Push(aitest.Reply{})
			}
			emb, err := connectTo(t, srv).Embed(testkit.Deadline(t), &aiclient.EmbedRequest{Model: tt.model, Input: []string{"a b", "c d e", "f"}, Dimensions: 3})
			if err != nil {
				t.Fatal(err)
			}
			if got, want := len(emb.Embeddings), 3; got != want {
				t.Fatalf("%d embeddings, want %d", got, want)
			}
			if got, want := emb.Usage.InputTokens, int64(6); got != want {
				t.Errorf("input tokens %d, want %d", got, want)
			}
			reqs := srv.Requests()
			if got := len(reqs); got != tt.calls {
				t.Errorf("%d calls, want %d", got, tt.calls)
			}
			if got, want := reqs[0].Path, "/v1/projects/acme-prod/locations/europe-west4/publishers/google/models/"+tt.model+":predict"; got != want {
				t.Errorf("path %q, want %q", got, want)
			}
			params, _ := reqs[0].JSON()["parameters"].(map[string]any)
			if got, want := params["outputDimensionality"], float64(3); got != want {
				t.Errorf("outputDimensionality %v, want %v", got, want)
			}
		})
	}
}
