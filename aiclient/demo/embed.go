package demo

import (
	"context"
	"encoding/hex"
	"hash/fnv"
	"math"

	"github.com/portico-dev/portico/aiclient"
)

// Embed returns one unit vector per input, derived from a hash of the
// input, so equal texts get equal vectors.
func (p *Provider) Embed(ctx context.Context, req *aiclient.EmbedRequest) (*aiclient.EmbedResponse, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if req == nil || len(req.Input) == 0 {
		return nil, aiclient.NewError(p.name, 400, "invalid_request", errNoInput.Error()).
			WithKind(aiclient.KindInvalidRequest)
	}
	dims := req.Dimensions
	if dims <= 0 {
		dims = DefaultDimensions
	}
	model := req.Model
	if model == "" {
		model = Model
	}
	resp := &aiclient.EmbedResponse{Model: model, Embeddings: make([][]float32, len(req.Input))}
	for i, in := range req.Input {
		resp.Embeddings[i] = vector(in, dims)
		resp.Usage.InputTokens += Tokens(in)
	}
	return resp, nil
}

// vector derives a unit vector of dims components from text with a
// 64-bit xorshift generator seeded by its FNV-1a hash.
func vector(text string, dims int) []float32 {
	h := fnv.New64a()
	h.Write([]byte(text))
	x := h.Sum64() | 1
	v := make([]float32, dims)
	var norm float64
	for i := range v {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		f := float64(int64(x>>11))/float64(1<<52) - 1
		v[i] = float32(f)
		norm += f * f
	}
	norm = math.Sqrt(norm)
	if norm == 0 {
		return v
	}
	for i := range v {
		v[i] = float32(float64(v[i]) / norm)
	}
	return v
}

// hashHex is a short hash of the request, for deterministic IDs.
func hashHex(req *aiclient.Request) string {
	h := fnv.New64a()
	for _, m := range req.Messages {
		h.Write([]byte(m.Role))
		for _, p := range m.Parts {
			h.Write([]byte(p.Text))
			h.Write([]byte{0})
		}
		h.Write([]byte(m.ToolCallID))
	}
	for _, t := range req.Tools {
		h.Write([]byte(t.Name))
		h.Write(t.Parameters)
	}
	var b [8]byte
	return hex.EncodeToString(h.Sum(b[:0]))
}
