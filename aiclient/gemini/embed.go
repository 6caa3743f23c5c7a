package gemini

import (
	"context"
	"net/http"
	"strings"

	"github.com/portico-dev/portico/aiclient"
	"github.com/portico-dev/portico/aiclient/internal/wire"
)

type embedRequest struct {
	Model                string  `json:"model"`
	Content              content `json:"content"`
	OutputDimensionality int     `json:"outputDimensionality,omitempty"`
}

// Embed calls batchEmbedContents, one request per input. Gemini reports
// no token usage for embeddings.
func (p *Provider) Embed(ctx context.Context, req *aiclient.EmbedRequest) (*aiclient.EmbedResponse, error) {
	if err := req.Native.Refuse(p.cfg.Provider, req.Model, ""); err != nil {
		return nil, err
	}
	var w struct {
		Requests []embedRequest `json:"requests"`
	}
	for _, in := range req.Input {
		w.Requests = append(w.Requests, embedRequest{Model: modelPath(req.Model), Content: content{Parts: []part{{Text: in}}}, OutputDimensionality: req.Dimensions})
	}
	body, err := wire.Body(w, req.Extra)
	if err != nil {
		return nil, err
	}
	res, err := p.post(ctx, req.Model, p.url(req.Model, "batchEmbedContents"), body)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	var out struct {
		Embeddings []struct {
			Values []float32 `json:"values"`
		} `json:"embeddings"`
	}
	if err := wire.Decode(p.cfg.Provider, req.Model, res, &out); err != nil {
		return nil, err
	}
	resp := &aiclient.EmbedResponse{Model: req.Model}
	for _, e := range out.Embeddings {
		resp.Embeddings = append(resp.Embeddings, e.Values)
	}
	return resp, nil
}

// Models lists the models the API serves (the first page, up to 1000).
func (p *Provider) Models(ctx context.Context) ([]aiclient.Model, error) {
	res, err := p.cfg.Do(ctx, http.MethodGet, p.cfg.BaseURL+"/"+p.cfg.version+"/models?pageSize=1000", nil, p.header(), "", decodeError)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	var w struct {
		Models []struct {
			Name string `json:"name"`
		} `json:"models"`
	}
	if err := wire.Decode(p.cfg.Provider, "", res, &w); err != nil {
		return nil, err
	}
	out := make([]aiclient.Model, 0, len(w.Models))
	for _, m := range w.Models {
		out = append(out, aiclient.Model{ID: strings.TrimPrefix(m.Name, "models/"), Provider: p.cfg.Provider, OwnedBy: "google"})
	}
	return out, nil
}
