package aicache_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portico-dev/portico/aiclient"
	"github.com/portico-dev/portico/aiclient/aicache"
	"github.com/portico-dev/portico/aiclient/aitest"
)

// The committed set: near-duplicates of a stored question point the same
// way (cosine ≥ 0.95); different questions do not (cosine ≤ 0.6).
var semanticSet = aitest.Vectors{
	"What is the capital of France?":      {1, 0, 0, 0},
	"what's the capital of france":        {0.99, 0.1, 0, 0},   // cos 0.995
	"Tell me the capital city of France.": {0.96, 0.2, 0.1, 0}, // cos 0.973
	"What is the capital of Germany?":     {0.6, 0.8, 0, 0},    // cos 0.6
	"How do I bake bread?":                {0, 0, 1, 0},        // cos 0
	"What is the population of France?":   {0.5, 0, 0, 0.866},  // cos 0.5
}

func TestSemanticMatchesOnACommittedSet(t *testing.T) {
	t.Parallel()
	p := &counter{}
	c := newCache(t, p, aicache.WithSemantic(semanticSet, "embed", 0.95))
	chat(t, c, t.Context(), req("What is the capital of France?"))
	for _, tc := range []struct {
		question string
		hit      bool
	}{
		{"what's the capital of france", true},
		{"Tell me the capital city of France.", true},
		{"What is the capital of Germany?", false},
		{"How do I bake bread?", false},
		{"What is the population of France?", false},
	} {
		// Each question in its own scope copy, so a miss stored for one
		// never answers the next: the scope is the stored question's.
		call := &aicache.Call{Scope: "acme"}
		_, err := c.Chat(aicache.WithCall(t.Context(), call), req(tc.question))
		if err != nil {
			t.Fatal(err)
		}
		if got, want := call.Hit, tc.hit; got != want {
			t.Errorf("%q: hit = %v, want %v", tc.question, got, want)
		}
		if got, want := call.Semantic, tc.hit; got != want {
			t.Errorf("%q: semantic = %v, want %v", tc.question, got, want)
		}
	}
}

func TestSemanticMatchesNeedTheSameSettingsAndScope(t *testing.T) {
	t.Parallel()
	c := newCache(t, &counter{}, aicache.WithSemantic(semanticSet, "embed", 0.95))
	chat(t, c, t.Context(), req("What is the capital of France?"))
	other := req("what's the capital of france")
	other.Temperature = aiclient.Float(1)
	if _, call := chat(t, c, t.Context(), other); call.Hit {
		t.Error("a near-duplicate with another temperature hit")
	}
	if _, call := chat(t, c, context.WithValue(t.Context(), scopeKey{}, "globex"), req("Tell me the capital city of France.")); call.Hit {
		t.Error("a near-duplicate in another scope hit")
	}
}

func TestASemanticMatchExpiresWithItsTTL(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_000, 0)
	clock := func() time.Time { return now }
	c := newCache(t, &counter{}, aicache.WithSemantic(semanticSet, "embed", 0.95), aicache.WithTTL(time.Minute), aicache.WithClock(clock))
	chat(t, c, t.Context(), req("What is the capital of France?"))
	now = now.Add(59 * time.Second)
	if _, call := chat(t, c, t.Context(), req("what's the capital of france")); !call.Semantic {
		t.Error("a near-duplicate within the TTL missed")
	}
	now = now.Add(time.Second)
	if _, call := chat(t, c, t.Context(), req("Tell me the capital city of France.")); call.Hit {
		t.Error("a near-duplicate after the TTL hit")
	}
}

func TestAMemoryIndexKeepsTheNewestEntriesOfAPartition(t *testing.T) {
	t.Parallel()
	idx := aicache.NewMemoryIndex(2)
	now := time.Unix(1_000, 0)
	for i, key := range []string{"a", "b", "c"} {
		if err := idx.Add(t.Context(), "p", key, []float32{float32(i)}, now, time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	if err := idx.Add(t.Context(), "q", "other", []float32{1}, now, time.Minute); err != nil {
		t.Fatal(err)
	}
	var keys []string
	if err := idx.Scan(t.Context(), "p", now, func(k string, _ []float32) { keys = append(keys, k) }); err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(keys, ","), "c,b"; got != want {
		t.Errorf("scanned %s, want %s", got, want)
	}
	keys = nil
	if err := idx.Scan(t.Context(), "p", now.Add(time.Minute), func(k string, _ []float32) { keys = append(keys, k) }); err != nil {
		t.Fatal(err)
	}
	if got, want := len(keys), 0; got != want {
		t.Errorf("scanned %d expired entries, want %d", got, want)
	}
}

// embedCounter counts the embeddings it computes.
type embedCounter struct {
	aitest.Vectors
	n atomic.Int64
}

func (e *embedCounter) Embed(ctx context.Context, r *aiclient.EmbedRequest) (*aiclient.EmbedResponse, error) {
	e.n.Add(1)
	return e.Vectors.Embed(ctx, r)
}

func TestAMissEmbedsTheRequestOnce(t *testing.T) {
	t.Parallel()
	e := &embedCounter{Vectors: semanticSet}
	c := newCache(t, &counter{}, aicache.WithSemantic(e, "embed", 0.95))
	chat(t, c, t.Context(), req("What is the capital of France?"))
	if got, want := e.n.Load(), int64(1); got != want {
		t.Errorf("embeddings = %d, want %d", got, want)
	}
}

func TestAFailedEmbeddingIsNotTriedAgainToStoreTheAnswer(t *testing.T) {
	t.Parallel()
	e := &embedCounter{Vectors: aitest.Vectors{}}
	c := newCache(t, &counter{}, aicache.WithSemantic(e, "embed", 0.95))
	chat(t, c, t.Context(), req("no vector for this"))
	if got, want := e.n.Load(), int64(1); got != want {
		t.Errorf("embeddings = %d, want %d", got, want)
	}
	if _, call := chat(t, c, t.Context(), req("no vector for this")); !call.Hit {
		t.Error("the answer was not stored for exact matches")
	}
}
