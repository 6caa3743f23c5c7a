package ollama

import (
	"context"
	"net/http"
	"time"

	"github.com/portico-dev/portico/aiclient"
	"github.com/portico-dev/portico/aiclient/internal/wire"
)

// Embed calls /api/embed.
func (p *Provider) Embed(ctx context.Context, req *aiclient.EmbedRequest) (*aiclient.EmbedResponse, error) {
	if err := req.Native.Refuse(p.cfg.Provider, req.Model, ""); err != nil {
		return nil, err
	}
	body, err := wire.Body(struct {
		Model      string   `json:"model"`
		Input      []string `json:"input"`
		Dimensions int      `json:"dimensions,omitempty"`
	}{req.Model, req.Input, req.Dimensions}, req.Extra)
	if err != nil {
		return nil, err
	}
	res, err := p.do(ctx, http.MethodPost, "/api/embed", req.Model, body)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	var w struct {
		Model           string      `json:"model"`
		Embeddings      [][]float32 `json:"embeddings"`
		PromptEvalCount int64       `json:"prompt_eval_count"`
	}
	if err := wire.Decode("ollama", req.Model, res, &w); err != nil {
		return nil, err
	}
	return &aiclient.EmbedResponse{Model: w.Model, Embeddings: w.Embeddings, Usage: aiclient.Usage{InputTokens: w.PromptEvalCount}}, nil
}

// Models lists the local models (/api/tags).
func (p *Provider) Models(ctx context.Context) ([]aiclient.Model, error) {
	res, err := p.do(ctx, http.MethodGet, "/api/tags", "", nil)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	var w struct {
		Models []struct {
			Name       string    `json:"name"`
			ModifiedAt time.Time `json:"modified_at"`
		} `json:"models"`
	}
	if err := wire.Decode("ollama", "", res, &w); err != nil {
		return nil, err
	}
	out := make([]aiclient.Model, 0, len(w.Models))
	for _, m := range w.Models {
		out = append(out, aiclient.Model{ID: m.Name, Provider: "ollama", Created: m.ModifiedAt})
	}
	return out, nil
}
