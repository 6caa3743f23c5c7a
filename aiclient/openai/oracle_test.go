package openai_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/portico-dev/portico/aiclient"
	"github.com/portico-dev/portico/aiclient/aitest"
	"github.com/portico-dev/portico/aiclient/internal/testkit"
	"github.com/portico-dev/portico/aiclient/openai"
)

// The OpenAI OpenAPI description lives outside the repository, next to
// it in CI; these tests skip when it is absent (a fresh clone).
const oraclePath = "../../../shared/oracles/openai-openapi.yaml"

var oracle = sync.OnceValues(func() (*openapi3.T, error) {
	loader := openapi3.NewLoader()
	return loader.LoadFromFile(oraclePath)
})

func schema(t *testing.T, name string) *openapi3.Schema {
	t.Helper()
	if _, err := os.Stat(oraclePath); err != nil {
		t.Skipf("OpenAI's OpenAPI description is not at %s; skipping the schema checks", oraclePath)
	}
	doc, err := oracle()
	if err != nil {
		t.Fatalf("loading %s: %v", oraclePath, err)
	}
	ref := doc.Components.Schemas[name]
	if ref == nil {
		t.Fatalf("no schema %s", name)
	}
	if ref.Value == nil {
		t.Fatalf("schema %s has no value", name)
	}
	return ref.Value
}

// conform checks a JSON document against a schema, with OpenAPI 3.0
// semantics (the description marks nullable fields the 3.0 way).
func conform(t *testing.T, name string, doc []byte) {
	t.Helper()
	var v any
	if err := json.Unmarshal(doc, &v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if err := schema(t, name).VisitJSON(v); err != nil {
		t.Errorf("%s does not conform:\n%s\n%v", name, doc, err)
	}
}

func sseData(body []byte) [][]byte {
	var out [][]byte
	for _, line := range bytes.Split(body, []byte("\n")) {
		if d, ok := bytes.CutPrefix(bytes.TrimSpace(line), []byte("data:")); ok {
			if d = bytes.TrimSpace(d); !bytes.Equal(d, []byte("[DONE]")) {
				out = append(out, d)
			}
		}
	}
	return out
}

func TestFixturesConformToOpenAIsDescription(t *testing.T) {
	t.Parallel()
	conform(t, "CreateChatCompletionResponse", testkit.Read(t, "response_text.json"))
	conform(t, "CreateChatCompletionResponse", testkit.Read(t, "response_tools.json"))
	for _, f := range []string{"stream_text.sse", "stream_tools.sse"} {
		for _, chunk := range sseData(testkit.Read(t, f)) {
			if bytes.Contains(chunk, []byte(`"prompt_filter_results"`)) {
				continue // Azure's extension chunk, outside OpenAI's description
			}
			conform(t, "CreateChatCompletionStreamResponse", chunk)
		}
	}
	conform(t, "ErrorResponse", sseData(testkit.Read(t, "stream_error.sse"))[1])
}

func TestTheSampleRequestConformsToOpenAIsDescription(t *testing.T) {
	t.Parallel()
	for _, stream := range []bool{false, true} {
		body, err := openai.New().EncodeRequest(testkit.SampleRequest(), stream)
		if err != nil {
			t.Fatal(err)
		}
		conform(t, "CreateChatCompletionRequest", body)
	}
}

// TestTheFakeServerSpeaksOpenAIsDescription keeps aitest honest: what it
// sends must be what OpenAI documents.
func TestTheFakeServerSpeaksOpenAIsDescription(t *testing.T) {
	t.Parallel()
	schema(t, "CreateChatCompletionResponse") // skip early when absent
	srv := aitest.NewServer(aitest.OpenAI)
	defer srv.Close()
	reply := aitest.Reply{Text: "Hi there", ToolCalls: []aitest.ToolCall{{Name: "f", Arguments: `{"a":1}`}},
		Usage: aiclient.Usage{
			InputTokens:     10,
			CacheReadTokens: 2,
			OutputTokens:    5,
			ReasoningTokens: 1,
		}}
	srv.Push(reply, reply, aitest.Reply{Embeddings: [][]float32{{1, 2}}}, aitest.Status(429, 0))
	post := func(path, body string) []byte {
		res, err := http.Post(srv.URL()+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return b
	}
	conform(t, "CreateChatCompletionResponse", post("/chat/completions", `{"model":"m"}`))
	for _, chunk := range sseData(post("/chat/completions", `{"model":"m","stream":true,"stream_options":{"include_usage":true}}`)) {
		conform(t, "CreateChatCompletionStreamResponse", chunk)
	}
	conform(t, "CreateEmbeddingResponse", post("/embeddings", `{"model":"e","input":["x"]}`))
	conform(t, "ErrorResponse", post("/chat/completions", `{"model":"m"}`))
	res, err := http.Get(srv.URL() + "/models")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	conform(t, "ListModelsResponse", b)
}
