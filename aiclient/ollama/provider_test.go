package ollama_test

import (
	"errors"
	"reflect"
	"testing"

	"github.com/portico-dev/portico/aiclient"
	"github.com/portico-dev/portico/aiclient/aitest"
	"github.com/portico-dev/portico/aiclient/internal/testkit"
	"github.com/portico-dev/portico/aiclient/ollama"
)

func TestStreamedAndWholeCallsGiveIdenticalResponses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		reply aitest.Reply
	}{
		{"a plain text answer", aitest.Text("Hallo Welt — 世界 🌍", 7, 9)},
		{"thinking, text and two tool calls", aitest.Reply{
			Reasoning: "Hmm… let me see.",
			Text:      "Calling.",
			ToolCalls: []aitest.ToolCall{{Name: "get_weather", Arguments: `{"city":"Malmö"}`}, {Name: "get_time"}},
			Usage:     aiclient.Usage{InputTokens: 90, OutputTokens: 30},
		}},
		{"a reply cut by the length limit", aitest.Reply{Text: "trunc", FinishReason: "length", Usage: aiclient.Usage{InputTokens: 1, OutputTokens: 2}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := aitest.NewServer(aitest.Ollama, aitest.WithSplitter(aitest.Bytewise))
			defer srv.Close()
			srv.Push(tt.reply, tt.reply)
			p := ollama.New(ollama.WithBaseURL(srv.URL()), ollama.WithPolicies())
			req := &aiclient.Request{Model: "llama3.2", Messages: []aiclient.Message{aiclient.UserText("hi")}}
			testkit.SameWholeAndStreamed(t, p, req, tt.reply.Usage)
			if got, want := srv.Requests()[0].JSON()["stream"], any(false); got != want {
				t.Errorf("chat stream flag = %v, want %v", got, want)
			}
			if got, want := srv.Requests()[1].JSON()["stream"], any(true); got != want {
				t.Errorf("stream stream flag = %v, want %v", got, want)
			}
		})
	}
}

func TestAStreamCutBeforeDoneIsAnError(t *testing.T) {
	t.Parallel()
	srv := aitest.NewServer(aitest.Ollama)
	defer srv.Close()
	srv.Push(aitest.Reply{Text: "this stream will be cut", Fault: aitest.Cut, FaultAfter: 2})
	p := ollama.New(ollama.WithBaseURL(srv.URL()), ollama.WithPolicies())
	s, err := p.Stream(testkit.Deadline(t), &aiclient.Request{Model: "llama3.2"})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := aiclient.Collect(s)
	var e *aiclient.Error
	if got, want := resp.Message.Text(), "this s"; got != want {
		t.Errorf("text = %q, want %q", got, want)
	}
	if !errors.As(err, &e) {
		t.Fatalf("got %v, want an *aiclient.Error", err)
	}
	if got, want := e.Code, "stream_interrupted"; got != want {
		t.Errorf("Code = %q, want %q", got, want)
	}
}

func TestMissingModelIsNotFound(t *testing.T) {
	t.Parallel()
	srv := aitest.NewServer(aitest.Ollama)
	defer srv.Close()
	srv.Push(aitest.Reply{Status: 404, ErrorMessage: `model "nope" not found, try pulling it first`})
	_, err := ollama.New(ollama.WithBaseURL(srv.URL()), ollama.WithPolicies()).Chat(testkit.Deadline(t), &aiclient.Request{Model: "nope"})
	var e *aiclient.Error
	if !errors.As(err, &e) {
		t.Fatalf("got %v, want an *aiclient.Error", err)
	}
	if got, want := e.Kind, aiclient.KindNotFound; got != want {
		t.Errorf("Kind = %s, want %s", got, want)
	}
	if got, want := e.Message, `model "nope" not found, try pulling it first`; got != want {
		t.Errorf("Message = %q, want %q", got, want)
	}
}

func TestEmbeddingsAndModels(t *testing.T) {
	t.Parallel()
	srv := aitest.NewServer(aitest.Ollama, aitest.WithModels("llama3.2:latest", "nomic-embed-text:latest"))
	defer srv.Close()
	srv.Push(aitest.Reply{Embeddings: [][]float32{{0.25, 0.75}}, Usage: aiclient.Usage{InputTokens: 3}})
	p := ollama.New(ollama.WithBaseURL(srv.URL()), ollama.WithPolicies())
	emb, err := p.Embed(testkit.Deadline(t), &aiclient.EmbedRequest{Model: "nomic-embed-text", Input: []string{"hello"}})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := emb.Embeddings, [][]float32{{0.25, 0.75}}; !reflect.DeepEqual(got, want) {
		t.Errorf("embeddings = %v, want %v", got, want)
	}
	if got, want := emb.Usage.InputTokens, int64(3); got != want {
		t.Errorf("input tokens = %d, want %d", got, want)
	}
	if got, want := emb.Model, "nomic-embed-text"; got != want {
		t.Errorf("model = %q, want %q", got, want)
	}
	models, err := p.Models(testkit.Deadline(t))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(models), 2; got != want {
		t.Fatalf("%d models, want %d: %+v", got, want, models)
	}
	if got, want := models[1].ID, "nomic-embed-text:latest"; got != want {
		t.Errorf("models[1].ID = %q, want %q", got, want)
	}
	if models[0].Created.IsZero() {
		t.Error("models[0].Created is zero")
	}
}
