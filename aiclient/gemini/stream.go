package gemini

import (
	"context"
	"errors"
	"io"

	"github.com/portico-dev/portico/aiclient"
	"github.com/portico-dev/portico/aiclient/internal/wire"
	"github.com/portico-dev/portico/internal/sse"
)

// Stream sends a streamGenerateContent request with alt=sse.
func (p *Provider) Stream(ctx context.Context, req *aiclient.Request) (*aiclient.Stream, error) {
	body, err := p.EncodeRequest(req)
	if err != nil {
		return nil, err
	}
	res, err := p.post(ctx, req.Model, p.url(req.Model, "streamGenerateContent")+"?alt=sse", body) //nolint:bodyclose // the returned stream closes the body
	if err != nil {
		return nil, err
	}
	return p.DecodeStream(req.Model, res.Body), nil
}

// DecodeStream turns a streamGenerateContent (alt=sse) event stream into
// a Stream, which closes body when closed. Each chunk is a whole
// GenerateContentResponse; function calls arrive whole and get IDs
// "call_<n>" when Gemini sends none; the usage is the last chunk's
// usageMetadata. A stream that ends before a finishReason is an error.
func (p *Provider) DecodeStream(model string, body io.ReadCloser) *aiclient.Stream {
	d := &decoder{p: p, model: model, sse: sse.NewDecoder(body)}
	return wire.NewStream(d.next, body, nil)
}

type decoder struct {
	p     *Provider
	model string
	sse   *sse.Decoder
	q     wire.Queue
	st    state
	done  bool
}

func (d *decoder) next() (aiclient.Event, error) {
	for {
		if ev, ok := d.q.Pop(); ok {
			return ev, nil
		}
		if d.done {
			return aiclient.Event{}, io.EOF
		}
		ev, err := d.sse.Next()
		if err != nil {
			if errors.Is(err, io.EOF) && d.st.finished {
				d.done = true
				d.st.end(&d.q)
				continue
			}
			return aiclient.Event{}, wire.StreamError(d.p.cfg.Provider, d.model, err)
		}
		if len(ev.Data) == 0 {
			continue
		}
		if err := d.st.chunk(d.p, d.model, ev.Data, &d.q, false); err != nil {
			return aiclient.Event{}, err
		}
	}
}
