package aicache

import (
	"context"
	"crypto/sha256"
	"errors"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/portico-dev/portico/aiclient"
)

// WithSemantic also answers a request from the stored answer of a
// similar one: same settings and tools, and a conversation whose
// embedding (by model, through embedder) has a cosine similarity of at
// least threshold with the stored one's. The index of embeddings is kept
// in memory, at most 10 000 of them per cache. By default, only exact
// matches are answered.
func WithSemantic(embedder aiclient.Embedder, model string, threshold float64) Option {
	return optionFunc(func(c *Cache) {
		c.semantic = &semantic{embedder: embedder, model: model, threshold: threshold, max: 10_000}
	})
}

type semantic struct {
	embedder  aiclient.Embedder
	model     string
	threshold float64
	max       int
	now       func() time.Time

	mu      sync.Mutex
	entries []indexed
}

type indexed struct {
	scope, settings, key string
	vec                  []float32
	expires              time.Time
}

func (s *semantic) validate() error {
	if s.embedder == nil {
		return errors.New("an embedder is required")
	}
	if s.model == "" {
		return errors.New("an embedding model is required")
	}
	if s.threshold <= 0 || s.threshold > 1 {
		return errors.New("the threshold must be in (0, 1]")
	}
	return nil
}

// text is what is embedded of req: its messages, role by role.
func text(req *aiclient.Request) string {
	var b strings.Builder
	for _, m := range req.Messages {
		b.WriteString(string(m.Role))
		b.WriteString(": ")
		b.WriteString(m.Text())
		b.WriteByte('\n')
	}
	return b.String()
}

// settings is the hash of what besides the conversation must match.
func settings(req *aiclient.Request) string {
	b, err := normalize(req, true)
	if err != nil {
		return ""
	}
	sum := sha256.Sum256(b)
	return string(sum[:])
}

func (s *semantic) embed(ctx context.Context, req *aiclient.Request) []float32 {
	resp, err := s.embedder.Embed(ctx, &aiclient.EmbedRequest{Model: s.model, Input: []string{text(req)}})
	if err != nil || len(resp.Embeddings) != 1 {
		return nil
	}
	return resp.Embeddings[0]
}

// find returns the key of the most similar stored request above the
// threshold, or "".
func (s *semantic) find(ctx context.Context, scope string, req *aiclient.Request) string {
	vec := s.embed(ctx, req)
	if vec == nil {
		return ""
	}
	set := settings(req)
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	best, bestKey := s.threshold, ""
	for _, e := range s.entries {
		if e.scope != scope || e.settings != set || now.After(e.expires) {
			continue
		}
		if sim := cosine(vec, e.vec); sim >= best {
			best, bestKey = sim, e.key
		}
	}
	return bestKey
}

func (s *semantic) add(ctx context.Context, scope string, req *aiclient.Request, key string, ttl time.Duration) {
	vec := s.embed(ctx, req)
	if vec == nil {
		return
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	kept := s.entries[:0]
	for _, e := range s.entries {
		if now.Before(e.expires) && e.key != key {
			kept = append(kept, e)
		}
	}
	s.entries = append(kept, indexed{scope: scope, settings: settings(req), key: key, vec: vec, expires: now.Add(ttl)})
	if len(s.entries) > s.max {
		s.entries = s.entries[len(s.entries)-s.max:]
	}
}

// cosine returns the cosine similarity of a and b, or 0 for vectors of
// different lengths or zero length.
func cosine(a, b []float32) float64 {
	if len(a) != len(b) || len(a) == 0 {
		return 0
	}
	var dot, na, nb float64
	for i := range a {
		dot += float64(a[i]) * float64(b[i])
		na += float64(a[i]) * float64(a[i])
		nb += float64(b[i]) * float64(b[i])
	}
	if na == 0 || nb == 0 {
		return 0
	}
	return dot / (math.Sqrt(na) * math.Sqrt(nb))
}
