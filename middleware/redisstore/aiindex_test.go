package redisstore_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/aiclient"
	"github.com/portico-dev/portico/aiclient/aicache"
	"github.com/portico-dev/portico/aiclient/aitest"
	"github.com/portico-dev/portico/internal/redistest"
	"github.com/portico-dev/portico/middleware/redisstore"
)

var _ aicache.Index = (*redisstore.AIIndex)(nil)

var capitals = aitest.Vectors{
	"What is the capital of France?":  {1, 0, 0, 0},
	"what's the capital of france":    {0.99, 0.1, 0, 0}, // cos 0.995
	"What is the capital of Germany?": {0.6, 0.8, 0, 0},  // cos 0.6
}

// semanticReplicas returns two caches sharing one Redis for answers and
// embeddings, reading the time from *now.
func semanticReplicas(t *testing.T, s *redisstore.Store, model aiclient.Provider, now *time.Time) [2]*aicache.Cache {
	t.Helper()
	var replicas [2]*aicache.Cache
	for i := range replicas {
		c, err := aicache.New(model, aicache.WithStore(s.AICache()), aicache.WithIndex(s.AIIndex(0)),
			aicache.WithSemantic(capitals, "embed", 0.95), aicache.WithTTL(time.Minute),
			aicache.WithClock(func() time.Time { return *now }))
		if err != nil {
			t.Fatal(err)
		}
		replicas[i] = c
	}
	return replicas
}

func ask(t *testing.T, c *aicache.Cache, tenant, question string) *aicache.Call {
	t.Helper()
	call := &aicache.Call{Scope: tenant}
	req := &aiclient.Request{Model: "m", Messages: []aiclient.Message{aiclient.UserText(question)}}
	if _, err := c.Chat(aicache.WithCall(t.Context(), call), req); err != nil {
		t.Fatal(err)
	}
	return call
}

func TestTwoReplicasShareSemanticHits(t *testing.T) {
	t.Parallel()
	s := redistest.Start(t)
	model := &countingModel{}
	now := time.Now()
	replicas := semanticReplicas(t, redisstore.New(client(t, s), steady), model, &now)
	ask(t, replicas[0], "acme", "What is the capital of France?")
	call := ask(t, replicas[1], "acme", "what's the capital of france")
	if got, want := call.Semantic, true; got != want {
		t.Errorf("the other replica's semantic hit = %v, want %v", got, want)
	}
	if got, want := model.calls.Load(), int64(1); got != want {
		t.Errorf("model calls = %d, want %d", got, want)
	}
	if call := ask(t, replicas[1], "acme", "What is the capital of Germany?"); call.Hit {
		t.Error("a different question hit")
	}
}

func TestTenantsNeverShareSemanticHits(t *testing.T) {
	t.Parallel()
	s := redistest.Start(t)
	model := &countingModel{}
	now := time.Now()
	replicas := semanticReplicas(t, redisstore.New(client(t, s), steady), model, &now)
	ask(t, replicas[0], "acme", "What is the capital of France?")
	if call := ask(t, replicas[1], "globex", "What is the capital of France?"); call.Hit {
		t.Error("another tenant's identical request hit")
	}
	if call := ask(t, replicas[1], "initech", "what's the capital of france"); call.Hit {
		t.Error("another tenant's near-duplicate hit")
	}
	if got, want := model.calls.Load(), int64(3); got != want {
		t.Errorf("model calls = %d, want %d", got, want)
	}
}

func TestSemanticEntriesInRedisExpireWithTheirTTL(t *testing.T) {
	t.Parallel()
	s := redistest.Start(t)
	rc := client(t, s)
	now := time.Now()
	replicas := semanticReplicas(t, redisstore.New(rc, steady), &countingModel{}, &now)
	ask(t, replicas[0], "acme", "What is the capital of France?")
	keys, err := rc.Keys(t.Context(), "*aiindex:*").Result()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(keys), 2; got != want {
		t.Fatalf("index keys = %v, want %d", keys, want)
	}
	for _, k := range keys {
		ttl, err := rc.PTTL(t.Context(), k).Result()
		if err != nil {
			t.Fatal(err)
		}
		inRange(t, k+" expires in", ttl, time.Millisecond, time.Minute+time.Second)
	}
	now = now.Add(59 * time.Second)
	if call := ask(t, replicas[1], "acme", "what's the capital of france"); !call.Semantic {
		t.Error("a near-duplicate within the TTL missed")
	}
	now = now.Add(2 * time.Second)
	if call := ask(t, replicas[1], "acme", "what's the capital of france"); call.Semantic {
		t.Error("a near-duplicate after the TTL was a semantic hit")
	}
}

func TestAnIndexPartitionKeepsItsBound(t *testing.T) {
	t.Parallel()
	s := redistest.Start(t)
	idx := redisstore.New(client(t, s), steady).AIIndex(2)
	now := time.Now()
	for i, key := range []string{"a", "b", "c"} {
		if err := idx.Add(t.Context(), "p", key, []float32{float32(i), 0.5}, now.Add(time.Duration(i)*time.Millisecond), time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	err := idx.Scan(t.Context(), "p", now, func(key string, vec []float32) {
		got = append(got, fmt.Sprint(key, vec))
	})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(got, " "), "c[2 0.5] b[1 0.5]"; got != want {
		t.Errorf("scanned %s, want %s", got, want)
	}
}
