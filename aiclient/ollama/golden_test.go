package ollama_test

import (
	"errors"
	"net/http"
	"testing"

	"go.uber.org/goleak"

	"github.com/portico-dev/portico/aiclient"
	"github.com/portico-dev/portico/aiclient/internal/testkit"
	"github.com/portico-dev/portico/aiclient/ollama"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func connect(baseURL string) aiclient.Provider {
	return ollama.New(ollama.WithBaseURL(baseURL), ollama.WithPolicies())
}

func TestEncodeRequestMatchesGolden(t *testing.T) {
	t.Parallel()
	req := testkit.SampleRequest()
	parts := req.Messages[1].Parts
	req.Messages[1].Parts = []aiclient.Part{parts[0], parts[2]} // Ollama takes inline images only
	body, err := ollama.New().EncodeRequest(req, true)
	if err != nil {
		t.Fatal(err)
	}
	testkit.Golden(t, "request.golden.json", body)
}

func TestImageURLsAreRejectedWithTheFix(t *testing.T) {
	t.Parallel()
	_, err := ollama.New().EncodeRequest(testkit.SampleRequest(), false)
	if err == nil {
		t.Fatal("err = nil, want one about image URLs")
	}
	if got, want := err.Error(), "portico/ollama: messages[1]: images need Data: Ollama does not fetch URLs"; got != want {
		t.Fatalf("err = %q, want %q", got, want)
	}
}

func TestDecodeResponseFixtures(t *testing.T) {
	t.Parallel()
	testkit.ResponseFixtures(t, connect, "llama3.2", []testkit.Fixture{
		{Name: "a text answer", File: "response_text.json", Want: "response_text.want.json"},
		{Name: "a tool call without an ID", File: "response_tools.json", Want: "response_tools.want.json"},
	})
}

func TestDecodeStreamFixturesInHostileChunkings(t *testing.T) {
	t.Parallel()
	testkit.StreamFixtures(t, connect, "application/x-ndjson", "qwen3", []testkit.Fixture{
		{Name: "a thinking and text stream", File: "stream_text.ndjson", Want: "stream_text.want.json"},
	})
}

func TestStreamErrorLineIsSurfaced(t *testing.T) {
	t.Parallel()
	testkit.StreamError(t, connect, "application/x-ndjson", "stream_error.ndjson", "llama3.2", "Partial", func(t *testing.T, err error) {
		var e *aiclient.Error
		if !errors.As(err, &e) {
			t.Fatalf("got %v, want an *aiclient.Error", err)
		}
		if got, want := e.Status, http.StatusOK; got != want {
			t.Errorf("Status = %d, want %d", got, want)
		}
		if got, want := e.Kind, aiclient.KindServer; got != want {
			t.Errorf("Kind = %s, want %s", got, want)
		}
	})
}
