package redisstore_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/portico-dev/portico/aiclient"
	"github.com/portico-dev/portico/aiclient/aicache"
	"github.com/portico-dev/portico/internal/cputime"
	"github.com/portico-dev/portico/internal/redistest"
	"github.com/portico-dev/portico/middleware/redisstore"
)

// unitVectors embeds the text "user: q<i>\n" as a fixed 1 536-dimension
// vector, all of them far apart except q0 and q0', which are near.
type unitVectors struct{}

func (unitVectors) Embed(_ context.Context, r *aiclient.EmbedRequest) (*aiclient.EmbedResponse, error) {
	out := &aiclient.EmbedResponse{Model: r.Model}
	for _, in := range r.Input {
		var i int
		var near string
		_, _ = fmt.Sscanf(in, "user: q%d%s", &i, &near)
		vec := make([]float32, 1536)
		vec[i%1536] = 1
		if near != "" {
			vec[(i+1)%1536] = 0.1
		}
		out.Embeddings = append(out.Embeddings, vec)
	}
	return out, nil
}

// BenchmarkSemanticHit measures a semantic hit (an exact miss in the
// store, an embedding that answers at once, a search of the index, the
// stored answer's read) with the answers and the index in memory or in a
// real local Redis, over a tenant's partition of 1 or 256 stored
// requests of 1 536-dimension embeddings.
func BenchmarkSemanticHit(b *testing.B) {
	s := redistest.Start(b)
	rs := redisstore.New(client(b, s), steady)
	for _, where := range []string{"memory", "redis"} {
		for _, n := range []int{1, 256} {
			b.Run(fmt.Sprintf("%s/%d", where, n), func(b *testing.B) {
				opts := []aicache.Option{aicache.WithSemantic(unitVectors{}, "embed", 0.95), aicache.WithTTL(time.Hour)}
				scope := fmt.Sprintf("bench-%s-%d", where, n)
				if where == "redis" {
					opts = append(opts, aicache.WithStore(rs.AICache()), aicache.WithIndex(rs.AIIndex(0)))
				}
				c, err := aicache.New(&countingModel{}, opts...)
				if err != nil {
					b.Fatal(err)
				}
				ctx := aicache.WithCall(b.Context(), &aicache.Call{Scope: scope})
				for i := range n {
					if _, err := c.Chat(ctx, benchReq(fmt.Sprintf("q%d", i))); err != nil {
						b.Fatal(err)
					}
				}
				r := benchReq("q0'")
				b.ReportAllocs()
				cpu := cputime.Process()
				for b.Loop() {
					call := &aicache.Call{Scope: scope}
					if _, err := c.Chat(aicache.WithCall(b.Context(), call), r); err != nil {
						b.Fatal(err)
					}
					if !call.Semantic {
						b.Fatal("not a semantic hit")
					}
				}
				// The process' CPU time (Redis' own is not in it).
				b.ReportMetric(float64((cputime.Process()-cpu).Nanoseconds())/float64(b.N), "cpu-ns/op")
			})
		}
	}
}

func benchReq(q string) *aiclient.Request {
	return &aiclient.Request{Model: "m", Messages: []aiclient.Message{aiclient.UserText(q)}}
}
