package testkit

import (
	"bytes"
	"encoding/json"
	"flag"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/portico-dev/portico/aiclient"
	"github.com/portico-dev/portico/aiclient/aitest"
)

// Update rewrites golden files instead of comparing: go test -update.
var Update = flag.Bool("update", false, "rewrite the golden files under testdata")

// SampleRequest uses every feature the golden request tests cover: a
// system prompt, an image by URL and inline, tools, a tool call and its
// result, a JSON Schema response format, and every sampling setting.
func SampleRequest() *aiclient.Request {
	return &aiclient.Request{
		Model: "test-model",
		Messages: []aiclient.Message{
			aiclient.System("You are a weather assistant. Answer in JSON."),
			aiclient.User(
				aiclient.Text("What is the weather where these photos were taken?"),
				aiclient.ImageURL("https://example.com/boston.jpg"),
				aiclient.Image([]byte("\x89PNG\r\n"), "image/png"),
			),
			{Role: aiclient.RoleAssistant, Parts: []aiclient.Part{aiclient.Text("Let me check.")}, ToolCalls: []aiclient.ToolCall{
				{ID: "call_1", Name: "get_weather", Arguments: json.RawMessage(`{"city":"Boston"}`)},
			}},
			aiclient.ToolResult("call_1", `{"temperature_c":21,"sky":"clear"}`),
			aiclient.UserText("And in Celsius, please."),
		},
		Tools: []aiclient.Tool{{
			Name:        "get_weather",
			Description: "Get the current weather in a city.",
			Parameters:  json.RawMessage(`{"type":"object","properties":{"city":{"type":"string"}},"required":["city"],"additionalProperties":false}`),
			Strict:      true,
		}},
		ToolChoice: &aiclient.ToolChoice{Mode: aiclient.ChoiceAuto},
		ResponseFormat: &aiclient.ResponseFormat{
			Type:   aiclient.FormatJSONSchema,
			Name:   "weather",
			Schema: json.RawMessage(`{"type":"object","properties":{"summary":{"type":"string"}},"required":["summary"],"additionalProperties":false}`),
			Strict: true,
		},
		Temperature:     aiclient.Float(0.2),
		TopP:            aiclient.Float(0.9),
		MaxOutputTokens: 512,
		Stop:            []string{"END"},
		Seed:            aiclient.Int(42),
		User:            "user-1234",
		Metadata:        map[string]string{"team": "weather"},
	}
}

// Golden compares got (JSON) with testdata/<name>, both indented, or
// rewrites the file with -update.
func Golden(t testing.TB, name string, got []byte) {
	t.Helper()
	var buf bytes.Buffer
	if err := json.Indent(&buf, got, "", "  "); err != nil {
		t.Fatalf("%s: output is not JSON: %v\n%s", name, err, got)
	}
	buf.WriteByte('\n')
	path := filepath.Join("testdata", name)
	if *Update {
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading golden file: %v (run go test -update to create it)", err)
	}
	var wantBuf bytes.Buffer
	if err := json.Indent(&wantBuf, bytes.TrimSpace(want), "", "  "); err != nil {
		t.Fatalf("%s is not JSON: %v", path, err)
	}
	wantBuf.WriteByte('\n')
	if buf.String() != wantBuf.String() {
		t.Fatalf("%s differs from the golden file:\n--- got\n%s\n--- want\n%s", name, buf.String(), wantBuf.String())
	}
}

// JSON marshals v, failing the test on error.
func JSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Read returns testdata/<name>.
func Read(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Chunking is one way of delivering a recorded body.
type Chunking struct {
	Name  string
	CRLF  bool // convert "\n" line ends to "\r\n" first
	Split aitest.Splitter
}

// Chunkings are the deliveries every stream fixture must survive.
var Chunkings = []Chunking{
	{Name: "in one write"},
	{Name: "one byte per write", Split: aitest.Bytewise},
	{Name: "with CRLF line ends split inside each CRLF", CRLF: true, Split: aitest.SplitCRLF},
	{Name: "with CRLF line ends one byte per write", CRLF: true, Split: aitest.Bytewise},
	{Name: "split inside every multi-byte rune", Split: aitest.SplitRunes},
}

// Serve replays body through a loopback server in chunking c and returns
// the server, whose URL answers any path.
func Serve(t testing.TB, contentType string, body []byte, c Chunking) *httptest.Server {
	t.Helper()
	if c.CRLF {
		body = []byte(strings.ReplaceAll(strings.ReplaceAll(string(body), "\r\n", "\n"), "\n", "\r\n"))
	}
	srv := httptest.NewServer(aitest.Replay(contentType, body, c.Split))
	t.Cleanup(srv.Close)
	return srv
}

// EventStream encodes an AWS event stream kept as text, one JSON
// [aitest.EventStreamMessage] per line (blank lines skipped), into its
// binary framing: the encoding [Encoded] takes for Bedrock's fixtures.
func EventStream(t testing.TB, text []byte) []byte {
	t.Helper()
	var msgs []aitest.EventStreamMessage
	for i, line := range bytes.Split(text, []byte("\n")) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var m aitest.EventStreamMessage
		if err := json.Unmarshal(line, &m); err != nil {
			t.Fatalf("line %d of an event-stream fixture: %v", i+1, err)
		}
		var buf bytes.Buffer
		if err := json.Compact(&buf, m.Payload); err != nil {
			t.Fatalf("line %d of an event-stream fixture: %v", i+1, err)
		}
		m.Payload = buf.Bytes()
		msgs = append(msgs, m)
	}
	return aitest.EncodeEventStream(msgs...)
}
