package aicache

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"math"
	"strings"
	"time"

	"github.com/portico-dev/portico/aiclient"
)

// WithSemantic also answers a request from the stored answer of a
// similar one: same settings and tools, and a conversation whose
// embedding (by model, through embedder) has a cosine similarity of at
// least threshold with the stored one's. The embeddings are kept in the
// [Index] of [WithIndex]. By default, only exact matches are answered.
func WithSemantic(embedder aiclient.Embedder, model string, threshold float64) Option {
	return optionFunc(func(c *Cache) {
		if c.semantic == nil {
			c.semantic = &semantic{}
		}
		c.semantic.embedder, c.semantic.model, c.semantic.threshold = embedder, model, threshold
	})
}

// WithIndex sets where the embeddings of [WithSemantic] are kept: an
// [Index] shared by replicas (the redisstore package's AIIndex) lets one
// replica's answers match another's similar requests. By default, a
// [MemoryIndex] of 256 entries per scope and settings.
func WithIndex(idx Index) Option {
	return optionFunc(func(c *Cache) {
		if c.semantic == nil {
			c.semantic = &semantic{}
		}
		c.semantic.index = idx
	})
}

type semantic struct {
	embedder  aiclient.Embedder
	model     string
	threshold float64
	index     Index
	now       func() time.Time
}

// probe is what a lookup learned for the store that may follow: the
// request's partition and embedding.
type probe struct {
	partition string
	vec       []float32
	failed    bool // the embedding failed: the store does not try again
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
	if s.index == nil {
		s.index = NewMemoryIndex(0)
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

// partition names the index partition of req in scope: a hash of the
// scope and of what besides the conversation must match.
func partition(scope string, req *aiclient.Request) string {
	b, err := normalize(req, true)
	if err != nil {
		return ""
	}
	h := sha256.New()
	h.Write([]byte(scope))
	h.Write([]byte{0})
	h.Write(b)
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// embed returns req's embedding scaled to unit length, so that the
// cosine similarity of two is their dot product; nil if it failed or is
// zero.
func (s *semantic) embed(ctx context.Context, req *aiclient.Request) []float32 {
	resp, err := s.embedder.Embed(ctx, &aiclient.EmbedRequest{Model: s.model, Input: []string{text(req)}})
	if err != nil || len(resp.Embeddings) != 1 {
		return nil
	}
	return unit(resp.Embeddings[0])
}

// unit returns a copy of v scaled to unit length, or nil for a zero or
// empty vector.
func unit(v []float32) []float32 {
	var n float64
	for _, f := range v {
		n += float64(f) * float64(f)
	}
	if n == 0 {
		return nil
	}
	n = math.Sqrt(n)
	out := make([]float32, len(v))
	for i, f := range v {
		out[i] = float32(float64(f) / n)
	}
	return out
}

// find returns the key of the most similar stored request above the
// threshold, or "", with what a store of req's answer needs.
func (s *semantic) find(ctx context.Context, scope string, req *aiclient.Request) (string, probe) {
	p := probe{partition: partition(scope, req)}
	if p.partition == "" {
		return "", p
	}
	if p.vec = s.embed(ctx, req); p.vec == nil {
		p.failed = true
		return "", p
	}
	best, bestKey := s.threshold, ""
	err := s.index.Scan(ctx, p.partition, s.now(), func(key string, vec []float32) {
		if sim := dot(p.vec, vec); sim >= best {
			best, bestKey = sim, key
		}
	})
	if err != nil {
		return "", p
	}
	return bestKey, p
}

// add indexes key under p, embedding req if the lookup did not.
func (s *semantic) add(ctx context.Context, p probe, req *aiclient.Request, key string, ttl time.Duration) {
	if p.partition == "" || p.failed {
		return
	}
	if p.vec == nil {
		if p.vec = s.embed(ctx, req); p.vec == nil {
			return
		}
	}
	_ = s.index.Add(ctx, p.partition, key, p.vec, s.now(), ttl)
}

// dot returns the dot product of a and b, their cosine similarity as
// both have unit length, or 0 for vectors of different lengths. Four
// sums run side by side, in float32: the products of unit vectors are
// small, and the error stays far below any useful threshold's precision.
func dot(a, b []float32) float64 {
	if len(a) != len(b) {
		return 0
	}
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(a); i += 4 {
		s0 += a[i] * b[i]
		s1 += a[i+1] * b[i+1]
		s2 += a[i+2] * b[i+2]
		s3 += a[i+3] * b[i+3]
	}
	for ; i < len(a); i++ {
		s0 += a[i] * b[i]
	}
	return float64(s0+s1) + float64(s2+s3)
}
