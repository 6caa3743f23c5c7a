package ai

import (
	"context"
	"sync"

	"github.com/portico-dev/portico/aiclient"
)

// Track wraps a provider so that call records name the provider that
// served each call and count the fallbacks taken before it. Wrap each
// candidate's provider when building the aiclient.Client the [Handler]
// serves. The wrapper is an aiclient.Embedder or aiclient.ModelLister
// exactly when p is.
func Track(p aiclient.Provider) aiclient.Provider {
	t := &tracked{p: p}
	_, emb := p.(aiclient.Embedder)
	_, lst := p.(aiclient.ModelLister)
	switch {
	case emb && lst:
		return &trackedAll{t}
	case emb:
		return &trackedEmbedder{t}
	case lst:
		return &trackedLister{t}
	}
	return t
}

// attempts collects, per request, the providers tried.
type attempts struct {
	mu       sync.Mutex
	provider string
	failed   int
}

type attemptsKey struct{}

func attemptsFrom(ctx context.Context) *attempts {
	a, _ := ctx.Value(attemptsKey{}).(*attempts)
	return a
}

func (a *attempts) note(name string, err error) {
	if a == nil {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if err != nil {
		a.failed++
		return
	}
	a.provider = name
}

func (a *attempts) result() (string, int) {
	if a == nil {
		return "", 0
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.provider, a.failed
}

type tracked struct{ p aiclient.Provider }

func (t *tracked) Name() string { return t.p.Name() }

func (t *tracked) Chat(ctx context.Context, req *aiclient.Request) (*aiclient.Response, error) {
	resp, err := t.p.Chat(ctx, req)
	attemptsFrom(ctx).note(t.p.Name(), err)
	return resp, err
}

func (t *tracked) Stream(ctx context.Context, req *aiclient.Request) (*aiclient.Stream, error) {
	s, err := t.p.Stream(ctx, req)
	attemptsFrom(ctx).note(t.p.Name(), err)
	return s, err
}

func (t *tracked) embed(ctx context.Context, req *aiclient.EmbedRequest) (*aiclient.EmbedResponse, error) {
	resp, err := t.p.(aiclient.Embedder).Embed(ctx, req)
	attemptsFrom(ctx).note(t.p.Name(), err)
	return resp, err
}

func (t *tracked) models(ctx context.Context) ([]aiclient.Model, error) {
	return t.p.(aiclient.ModelLister).Models(ctx)
}

type trackedEmbedder struct{ *tracked }

func (t *trackedEmbedder) Embed(ctx context.Context, req *aiclient.EmbedRequest) (*aiclient.EmbedResponse, error) {
	return t.embed(ctx, req)
}

type trackedLister struct{ *tracked }

func (t *trackedLister) Models(ctx context.Context) ([]aiclient.Model, error) { return t.models(ctx) }

type trackedAll struct{ *tracked }

func (t *trackedAll) Embed(ctx context.Context, req *aiclient.EmbedRequest) (*aiclient.EmbedResponse, error) {
	return t.embed(ctx, req)
}

func (t *trackedAll) Models(ctx context.Context) ([]aiclient.Model, error) { return t.models(ctx) }
