package ollama_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/portico-dev/portico/aiclient"
	"github.com/portico-dev/portico/aiclient/internal/testkit"
	"github.com/portico-dev/portico/aiclient/ollama"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func deadline(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
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
	if err == nil || err.Error() != "aiclient/ollama: messages[1]: images need Data: Ollama does not fetch URLs" {
		t.Fatalf("got %v", err)
	}
}

func TestDecodeResponseFixtures(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, fixture, want string }{
		{"a text answer", "response_text.json", "response_text.want.json"},
		{"a tool call without an ID", "response_tools.json", "response_tools.want.json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := testkit.Serve(t, "application/json", testkit.Read(t, tt.fixture), testkit.Chunking{})
			p := ollama.New(ollama.WithBaseURL(srv.URL), ollama.WithPolicies())
			resp, err := p.Chat(deadline(t), &aiclient.Request{Model: "llama3.2", Messages: []aiclient.Message{aiclient.UserText("hi")}})
			if err != nil {
				t.Fatal(err)
			}
			testkit.Golden(t, tt.want, testkit.JSON(t, resp))
		})
	}
}

func TestDecodeStreamFixturesInHostileChunkings(t *testing.T) {
	t.Parallel()
	for _, c := range testkit.Chunkings {
		t.Run("a thinking and text stream delivered "+c.Name, func(t *testing.T) {
			t.Parallel()
			srv := testkit.Serve(t, "application/x-ndjson", testkit.Read(t, "stream_text.ndjson"), c)
			p := ollama.New(ollama.WithBaseURL(srv.URL), ollama.WithPolicies())
			s, err := p.Stream(deadline(t), &aiclient.Request{Model: "qwen3", Messages: []aiclient.Message{aiclient.UserText("hi")}})
			if err != nil {
				t.Fatal(err)
			}
			resp, err := aiclient.Collect(s)
			if err != nil {
				t.Fatal(err)
			}
			if *testkit.Update && c.Split != nil {
				return
			}
			testkit.Golden(t, "stream_text.want.json", testkit.JSON(t, resp))
		})
	}
}

func TestStreamErrorLineIsSurfaced(t *testing.T) {
	t.Parallel()
	for _, c := range testkit.Chunkings {
		t.Run("delivered "+c.Name, func(t *testing.T) {
			t.Parallel()
			srv := testkit.Serve(t, "application/x-ndjson", testkit.Read(t, "stream_error.ndjson"), c)
			p := ollama.New(ollama.WithBaseURL(srv.URL), ollama.WithPolicies())
			s, err := p.Stream(deadline(t), &aiclient.Request{Model: "llama3.2"})
			if err != nil {
				t.Fatal(err)
			}
			resp, err := aiclient.Collect(s)
			var e *aiclient.Error
			if !errors.As(err, &e) || e.Status != http.StatusOK || e.Kind != aiclient.KindServer {
				t.Fatalf("got %v (%+v)", err, e)
			}
			if resp.Message.Text() != "Partial" {
				t.Fatalf("partial text %q", resp.Message.Text())
			}
		})
	}
}
