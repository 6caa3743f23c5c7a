package bedrock_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"testing"

	"github.com/portico-dev/portico/aiclient"
	"github.com/portico-dev/portico/aiclient/bedrock"
	"github.com/portico-dev/portico/aiclient/internal/testkit"
)

const eventStream = "application/vnd.amazon.eventstream"

// connect is the adapter the fixture harnesses replay through, with no
// retries.
func connect(baseURL string) aiclient.Provider {
	p, err := bedrock.New(context.Background(), bedrock.WithBaseURL(baseURL), bedrock.WithRegion("us-east-1"),
		bedrock.WithCredentials(static), bedrock.WithPolicies())
	if err != nil {
		panic(err)
	}
	return p
}

func TestEncodeRequestMatchesGolden(t *testing.T) {
	t.Parallel()
	req := testkit.SampleRequest()
	// Converse takes images inline or from S3 only.
	req.Messages[1].Parts[1] = aiclient.Part{Type: aiclient.PartImage, URL: "s3://photos/boston.jpg"}
	body, err := connectTo(t, "http://127.0.0.1:1").EncodeRequest(req)
	if err != nil {
		t.Fatal(err)
	}
	testkit.Golden(t, "request.golden.json", body)
}

func TestDecodeResponseFixtures(t *testing.T) {
	t.Parallel()
	testkit.ResponseFixtures(t, connect, "anthropic.claude-sonnet-4-5-20250929-v1:0", []testkit.Fixture{
		{Name: "reasoning with a signature, redacted reasoning, text and cache reads", File: "response_text.json", Want: "response_text.want.json"},
		{Name: "text and two tool calls", File: "response_tools.json", Want: "response_tools.want.json"},
		{Name: "an answer a guardrail stopped", File: "response_guardrail.json", Want: "response_guardrail.want.json"},
	})
}

func TestDecodeStreamFixturesInHostileChunkings(t *testing.T) {
	t.Parallel()
	testkit.StreamFixtures(t, connect, eventStream, "anthropic.claude-sonnet-4-5-20250929-v1:0", []testkit.Fixture{
		{Name: "reasoning, redacted reasoning and text with usage from metadata", File: "stream_text.events", Want: "stream_text.want.json"},
		{Name: "tool input in fragments", File: "stream_tools.events", Want: "stream_tools.want.json"},
	}, testkit.Encoded(testkit.EventStream))
}

func TestStreamedFixturesDecodeAsTheirWholeResponses(t *testing.T) {
	t.Parallel()
	for _, pair := range [][2]string{{"stream_text.want.json", "response_text.want.json"}, {"stream_tools.want.json", "response_tools.want.json"}} {
		if got, want := string(testkit.Read(t, pair[0])), string(testkit.Read(t, pair[1])); got != want {
			t.Errorf("%s differs from %s:\n%s\n%s", pair[0], pair[1], got, want)
		}
	}
}

func TestStreamExceptionAfterStatus200IsSurfaced(t *testing.T) {
	t.Parallel()
	testkit.StreamError(t, connect, eventStream, "stream_error.events", "amazon.nova-pro-v1:0", "Partial", func(t *testing.T, err error) {
		var e *aiclient.Error
		if !errors.As(err, &e) {
			t.Fatalf("got %v", err)
		}
		if got, want := e.Kind, aiclient.KindRateLimited; got != want {
			t.Errorf("kind %q, want %q", got, want)
		}
		if got, want := e.Status, http.StatusOK; got != want {
			t.Errorf("status %d, want %d", got, want)
		}
		if got, want := e.Code, "throttlingException"; got != want {
			t.Errorf("code %q, want %q", got, want)
		}
		if !e.Retryable {
			t.Error("a throttled stream is not retryable")
		}
	}, testkit.Encoded(testkit.EventStream))
}

// FuzzDecodeStream checks that the event-stream decoder never panics,
// always gives an encodable response, and does not depend on chunking.
func FuzzDecodeStream(f *testing.F) {
	p := connectTo(f, "http://127.0.0.1:1")
	testkit.FuzzStream(f, func(body io.ReadCloser) *aiclient.Stream { return p.DecodeStream("m", body) },
		testkit.EventStream(f, testkit.Read(f, "stream_text.events")), testkit.EventStream(f, testkit.Read(f, "stream_tools.events")),
		testkit.EventStream(f, testkit.Read(f, "stream_error.events")))
}
