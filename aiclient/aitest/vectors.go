package aitest

import (
	"context"
	"fmt"
	"strings"

	"github.com/portico-dev/portico/aiclient"
)

// Vectors is an [aiclient.Embedder] whose vectors the test controls, for
// tests of semantic matching: an input's vector is the one stored under
// the input itself or, failing that, under its text without a leading
// "role: " and a trailing newline, so that "user: What is X?\n" (how the
// aicache package embeds a one-message conversation) finds "What is X?".
// An input with no vector is an error.
type Vectors map[string][]float32

// Embed returns the vectors of req's inputs.
func (v Vectors) Embed(_ context.Context, req *aiclient.EmbedRequest) (*aiclient.EmbedResponse, error) {
	out := &aiclient.EmbedResponse{Model: req.Model}
	for _, in := range req.Input {
		vec, ok := v[in]
		if !ok {
			_, text, _ := strings.Cut(in, ": ")
			vec, ok = v[strings.TrimSuffix(text, "\n")]
		}
		if !ok {
			return nil, fmt.Errorf("portico/aitest: no vector for %q", in)
		}
		out.Embeddings = append(out.Embeddings, vec)
	}
	return out, nil
}
