package gemini_test

import (
	"io"
	"testing"

	"github.com/portico-dev/portico/aiclient"
	"github.com/portico-dev/portico/aiclient/gemini"
	"github.com/portico-dev/portico/aiclient/internal/testkit"
)

// FuzzDecodeStream checks that the stream decoder never panics, always
// gives an encodable response, and does not depend on chunking.
func FuzzDecodeStream(f *testing.F) {
	testkit.FuzzStream(f, func(body io.ReadCloser) *aiclient.Stream { return gemini.New().DecodeStream("m", body) },
		testkit.Read(f, "stream_text.sse"), testkit.Read(f, "stream_tools.sse"), testkit.Read(f, "stream_error.sse"))
}
