package vertex

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/portico-dev/portico/aiclient"
	"github.com/portico-dev/portico/aiclient/gemini"
	"github.com/portico-dev/portico/aiclient/internal/wire"
)

type predictRequest struct {
	Instances  []instance  `json:"instances"`
	Parameters *parameters `json:"parameters,omitempty"`
}

type instance struct {
	Content string `json:"content"`
}

type parameters struct {
	OutputDimensionality int `json:"outputDimensionality,omitempty"`
}

type predictResponse struct {
	Predictions []struct {
		Embeddings struct {
			Values     []float32 `json:"values"`
			Statistics struct {
				TokenCount float64 `json:"token_count"`
			} `json:"statistics"`
		} `json:"embeddings"`
	} `json:"predictions"`
}

// batch is how many inputs one predict call carries: the text-embedding
// models take up to 250, the gemini-embedding models one.
func batch(model string) int {
	if strings.Contains(model, "gemini-embedding") {
		return 1
	}
	return 250
}

// Embed calls the embedding model's predict method, in as many calls as
// the model's batch size needs. Usage counts the input tokens Vertex AI
// reports per input.
func (p *Provider) Embed(ctx context.Context, req *aiclient.EmbedRequest) (*aiclient.EmbedResponse, error) {
	if err := req.Native.Refuse(name, req.Model, ""); err != nil {
		return nil, err
	}
	resp := &aiclient.EmbedResponse{Model: req.Model}
	n := batch(req.Model)
	for start := 0; start < len(req.Input); start += n {
		w := predictRequest{}
		for _, in := range req.Input[start:min(start+n, len(req.Input))] {
			w.Instances = append(w.Instances, instance{Content: in})
		}
		if req.Dimensions > 0 {
			w.Parameters = &parameters{OutputDimensionality: req.Dimensions}
		}
		body, err := wire.Body(w, req.Extra)
		if err != nil {
			return nil, err
		}
		out, err := p.predict(ctx, req.Model, body)
		if err != nil {
			return nil, err
		}
		for _, pr := range out.Predictions {
			resp.Embeddings = append(resp.Embeddings, pr.Embeddings.Values)
			resp.Usage.InputTokens += int64(pr.Embeddings.Statistics.TokenCount)
		}
	}
	return resp, nil
}

func decodeError(res *http.Response, body []byte) *aiclient.Error {
	return gemini.DecodeError(res.StatusCode, body)
}

// retryInfo reads the RetryInfo delay of an error body.
func retryInfo(body []byte) time.Duration {
	if e := gemini.DecodeError(http.StatusTooManyRequests, body); e != nil {
		return e.RetryAfter
	}
	return 0
}

// predict sends one predict call to model.
func (p *Provider) predict(ctx context.Context, model string, body []byte) (*predictResponse, error) {
	res, err := p.cfg.Do(ctx, http.MethodPost, p.url(model, "predict"), body, nil, model, decodeError)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	var out predictResponse
	if err := wire.Decode(name, model, res, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
