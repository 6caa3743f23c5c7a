package openai

import (
	"context"
	"net/http"
	"slices"

	"github.com/portico-dev/portico/aiclient"
	"github.com/portico-dev/portico/aiclient/internal/wire"
)

type embedRequest struct {
	Model          string   `json:"model"`
	Input          []string `json:"input"`
	Dimensions     int      `json:"dimensions,omitempty"`
	EncodingFormat string   `json:"encoding_format"`
	User           string   `json:"user,omitempty"`
}

type embedResponse struct {
	Model string `json:"model"`
	Data  []struct {
		Index     int       `json:"index"`
		Embedding []float32 `json:"embedding"`
	} `json:"data"`
	Usage *usage `json:"usage"`
}

// Embed calls the Embeddings API, asking for float vectors.
func (p *Provider) Embed(ctx context.Context, req *aiclient.EmbedRequest) (*aiclient.EmbedResponse, error) {
	if err := req.Native.Refuse(p.cfg.Provider, req.Model, aiclient.WireOpenAI); err != nil {
		return nil, err
	}
	body, err := wire.Body(embedRequest{Model: req.Model, Input: req.Input, Dimensions: req.Dimensions, EncodingFormat: "float", User: req.User},
		req.Native.For(aiclient.WireOpenAI), req.Extra)
	if err != nil {
		return nil, err
	}
	res, err := p.post(ctx, req.Model, "/embeddings", body, false)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	var w embedResponse
	if err := wire.Decode(p.cfg.Provider, req.Model, res, &w); err != nil {
		return nil, err
	}
	slices.SortStableFunc(w.Data, func(a, b struct {
		Index     int       `json:"index"`
		Embedding []float32 `json:"embedding"`
	}) int {
		return a.Index - b.Index
	})
	out := &aiclient.EmbedResponse{Model: w.Model}
	for _, d := range w.Data {
		out.Embeddings = append(out.Embeddings, d.Embedding)
	}
	if w.Usage != nil {
		out.Usage = w.Usage.neutral()
	}
	return out, nil
}

// Models lists the models the API serves.
func (p *Provider) Models(ctx context.Context) ([]aiclient.Model, error) {
	res, err := p.cfg.Do(ctx, http.MethodGet, p.url("", "/models"), nil, p.header(), "", decodeError)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	var w struct {
		Data []struct {
			ID      string `json:"id"`
			Created int64  `json:"created"`
			OwnedBy string `json:"owned_by"`
		} `json:"data"`
	}
	if err := wire.Decode(p.cfg.Provider, "", res, &w); err != nil {
		return nil, err
	}
	out := make([]aiclient.Model, 0, len(w.Data))
	for _, m := range w.Data {
		out = append(out, aiclient.Model{ID: m.ID, Provider: p.cfg.Provider, OwnedBy: m.OwnedBy, Created: unixTime(m.Created)})
	}
	return out, nil
}
