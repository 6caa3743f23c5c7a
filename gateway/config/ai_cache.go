package config

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/portico-dev/portico/aiclient"
	"github.com/portico-dev/portico/aiclient/aicache"
	"github.com/portico-dev/portico/middleware/redisstore"
)

// AICache caches an alias' answers (see the aiclient/aicache package),
// per tenant. In memory, the entries are kept across reloads while the
// cache's settings are unchanged; in Redis, replicas share them.
type AICache struct {
	// TTL is how long an answer is kept. If zero, 5 minutes.
	TTL time.Duration `yaml:"ttl"`
	// MaxEntries bounds the entries kept in memory. If zero, 10 000.
	MaxEntries int `yaml:"max_entries"`
	// Store is where answers and embeddings are kept: memory (the
	// default), or redis, the store section's Redis (builder users set
	// [AI.Redis]), which gateway replicas share.
	Store string `yaml:"store"`
	// Semantic also answers a request with the answer to a similar one;
	// see [AISemantic].
	Semantic *AISemantic `yaml:"semantic"`
}

// AISemantic is the semantic matching of an [AICache]: a request whose
// embedding is at least Threshold similar (cosine) to a stored one's, of
// the same tenant and with the same settings and tools, gets its answer.
type AISemantic struct {
	// Embedding is the alias of ai.models that computes the embeddings.
	// Required. Its calls are not counted in the AI limits and budgets.
	Embedding string `yaml:"embedding"`
	// Threshold is the least cosine similarity of a match, in (0, 1],
	// such as 0.92. Required.
	Threshold float64 `yaml:"threshold"`
	// MaxEntries bounds the embeddings kept, and compared by a lookup,
	// per tenant and settings (see redisstore.AIIndex). If zero, 256.
	MaxEntries int `yaml:"max_entries"`
}

// cacheEnv is what the caches of a build share: the state, the Redis
// store, the aliases and the client that computes embeddings, which is
// made after the caches.
type cacheEnv struct {
	keep    func(string, func() any) any
	redis   *redisstore.Store
	aliases map[string]bool
	embed   lateEmbedder
}

// cacheEnv returns the environment of a's caches, borrowing from the
// state through keep.
func (a *AI) cacheEnv(keep func(string, func() any) any) *cacheEnv {
	env := &cacheEnv{keep: keep, redis: a.Redis, aliases: map[string]bool{}}
	for _, m := range a.Models {
		env.aliases[m.Alias] = true
	}
	return env
}

// bind makes c the client that computes the caches' embeddings, and
// returns it.
func (env *cacheEnv) bind(c *aiclient.Client) *aiclient.Client {
	env.embed.c = c
	return c
}

// lateEmbedder computes embeddings with a client made after it.
type lateEmbedder struct{ c *aiclient.Client }

func (e *lateEmbedder) Embed(ctx context.Context, req *aiclient.EmbedRequest) (*aiclient.EmbedResponse, error) {
	if e.c == nil {
		return nil, errors.New("portico/config: the AI client is not built yet")
	}
	return e.c.Embed(ctx, req)
}

// wrap returns p behind the cache c describes, for alias.
func (c *AICache) wrap(at, alias string, p aiclient.Provider, env *cacheEnv) (aiclient.Provider, error) {
	if c.TTL < 0 {
		return nil, fieldErr(at+".ttl", "must not be negative, got %v", c.TTL)
	}
	opts := []aicache.Option{aicache.WithTTL(cmp.Or(c.TTL, 5*time.Minute))}
	redis := false
	switch c.Store {
	case "", "memory":
	case "redis":
		if env.redis == nil {
			return nil, fieldErr(at+".store", "redis needs the store.redis section (the Redis the gateway's stores use)")
		}
		redis = true
		opts = append(opts, aicache.WithStore(env.redis.AICache()))
	default:
		return nil, fieldErr(at+".store", "%q is not a store; use memory or redis", c.Store)
	}
	if !redis {
		store := env.keep(fmt.Sprintf("ai_cache:%s:%d", alias, c.MaxEntries), func() any { return aicache.NewMemory(c.MaxEntries, nil) })
		opts = append(opts, aicache.WithStore(store.(*aicache.Memory)))
	}
	if s := c.Semantic; s != nil {
		sopts, err := s.options(at+".semantic", alias, redis, env)
		if err != nil {
			return nil, err
		}
		opts = append(opts, sopts...)
	}
	cache, err := aicache.New(p, opts...)
	if err != nil {
		return nil, fieldErr(at, "%s", trimPkg(err))
	}
	return cache, nil
}

// options returns the cache options of semantic matching.
func (s *AISemantic) options(at, alias string, redis bool, env *cacheEnv) ([]aicache.Option, error) {
	switch {
	case s.Embedding == "":
		return nil, fieldErr(at+".embedding", "is required: the alias of ai.models that computes embeddings")
	case !env.aliases[s.Embedding]:
		return nil, fieldErr(at+".embedding", "%q is not an alias of ai.models", s.Embedding)
	case s.Threshold <= 0 || s.Threshold > 1:
		return nil, fieldErr(at+".threshold", "must be in (0, 1], like 0.92, got %v", s.Threshold)
	case s.MaxEntries < 0:
		return nil, fieldErr(at+".max_entries", "must not be negative, got %d", s.MaxEntries)
	}
	var idx aicache.Index
	if redis {
		idx = env.redis.AIIndex(s.MaxEntries)
	} else {
		idx = env.keep(fmt.Sprintf("ai_index:%s:%d", alias, s.MaxEntries), func() any { return aicache.NewMemoryIndex(s.MaxEntries) }).(*aicache.MemoryIndex)
	}
	return []aicache.Option{aicache.WithSemantic(&env.embed, s.Embedding, s.Threshold), aicache.WithIndex(idx)}, nil
}
