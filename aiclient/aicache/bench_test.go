package aicache_test

import (
	"testing"

	"github.com/portico-dev/portico/aiclient"
	"github.com/portico-dev/portico/aiclient/aicache"
	"github.com/portico-dev/portico/aiclient/aitest"
)

// BenchmarkHit measures the latency of an exact hit from the memory
// store: the request's key, the lookup and the decoding of the answer.
func BenchmarkHit(b *testing.B) {
	c, r := warm(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Chat(b.Context(), r); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkStreamHit measures a stream hit replayed to its end.
func BenchmarkStreamHit(b *testing.B) {
	c, r := warm(b)
	b.ReportAllocs()
	for b.Loop() {
		s, err := c.Stream(b.Context(), r)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := aiclient.Collect(s); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSemanticHit measures a semantic hit (an exact miss, an
// embedding, an index search), with an embedder that answers at once.
func BenchmarkSemanticHit(b *testing.B) {
	vecs := aitest.Vectors{"What is the capital of France?": {1, 0, 0, 0}, "what's the capital of france": {0.99, 0.1, 0, 0}}
	c, err := aicache.New(&counter{}, aicache.WithSemantic(vecs, "embed", 0.95))
	if err != nil {
		b.Fatal(err)
	}
	if _, err := c.Chat(b.Context(), req("What is the capital of France?")); err != nil {
		b.Fatal(err)
	}
	r := req("what's the capital of france")
	b.ReportAllocs()
	for b.Loop() {
		call := &aicache.Call{}
		if _, err := c.Chat(aicache.WithCall(b.Context(), call), r); err != nil {
			b.Fatal(err)
		}
		if !call.Semantic {
			b.Fatal("not a semantic hit")
		}
	}
}

// warm returns a cache holding the answer to the request it returns.
func warm(b *testing.B) (*aicache.Cache, *aiclient.Request) {
	b.Helper()
	c, err := aicache.New(&counter{})
	if err != nil {
		b.Fatal(err)
	}
	r := req("Summarise the quarterly report in three bullet points, please.")
	if _, err := c.Chat(b.Context(), r); err != nil {
		b.Fatal(err)
	}
	return c, r
}
