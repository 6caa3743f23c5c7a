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
			Reasoning: "Hmm… let me see.", Text: "Calling.",
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
			if srv.Requests()[0].JSON()["stream"] != false || srv.Requests()[1].JSON()["stream"] != true {
				t.Fatal("stream flags not sent explicitly")
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
	if !errors.As(err, &e) || e.Code != "stream_interrupted" || resp.Message.Text() != "this s" {
		t.Fatalf("got %v, text %q", err, resp.Message.Text())
	}
}

func TestMissingModelIsNotFound(t *testing.T) {
	t.Parallel()
	srv := aitest.NewServer(aitest.Ollama)
	defer srv.Close()
	srv.Push(aitest.Reply{Status: 404, ErrorMessage: `model "nope" not found, try pulling it first`})
	_, err := ollama.New(ollama.WithBaseURL(srv.URL()), ollama.WithPolicies()).Chat(testkit.Deadline(t), &aiclient.Request{Model: "nope"})
	var e *aiclient.Error
	if !errors.As(err, &e) || e.Kind != aiclient.KindNotFound || e.Message != `model "nope" not found, try pulling it first` {
		t.Fatalf("got %v", err)
	}
}

func TestEmbeddingsAndModels(t *testing.T) {
	t.Parallel()
	srv := aitest.NewServer(aitest.Ollama, aitest.WithModels("llama3.2:latest", "nomic-embed-text:latest"))
	defer srv.Close()
	srv.Push(aitest.Reply{Embeddings: [][]float32{{0.25, 0.75}}, Usage: aiclient.Usage{InputTokens: 3}})
	p := ollama.New(ollama.WithBaseURL(srv.URL()), ollama.WithPolicies())
	emb, err := p.Embed(testkit.Deadline(t), &aiclient.EmbedRequest{Model: "nomic-embed-text", Input: []string{"hello"}})
	if err != nil || !reflect.DeepEqual(emb.Embeddings, [][]float32{{0.25, 0.75}}) || emb.Usage.InputTokens != 3 || emb.Model != "nomic-embed-text" {
		t.Fatalf("%+v %v", emb, err)
	}
	models, err := p.Models(testkit.Deadline(t))
	if err != nil || len(models) != 2 || models[1].ID != "nomic-embed-text:latest" || models[0].Created.IsZero() {
		t.Fatalf("%+v %v", models, err)
	}
}
