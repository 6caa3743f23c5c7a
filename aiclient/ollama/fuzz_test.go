package ollama_test

import (
	"io"
	"testing"

	"github.com/portico-dev/portico/aiclient"
	"github.com/portico-dev/portico/aiclient/internal/testkit"
	"github.com/portico-dev/portico/aiclient/ollama"
)

// FuzzDecodeStream checks that the stream decoder never panics, always
// gives an encodable response, and does not depend on chunking.
func FuzzDecodeStream(f *testing.F) {
	testkit.FuzzStream(f, func(body io.ReadCloser) *aiclient.Stream { return ollama.New().DecodeStream("m", body) },
		testkit.Read(f, "stream_text.ndjson"), testkit.Read(f, "stream_error.ndjson"))
}
