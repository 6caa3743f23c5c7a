package redisstore

import (
	"context"
	"time"
)

// AICache returns the store of the AI response cache (the aicache
// package's Store), shared by gateway replicas.
func (s *Store) AICache() *AICache { return &AICache{s: s} }

// AICache is a store of AI responses in Redis, under "<prefix>aicache:<key>",
// expiring with their TTL.
type AICache struct{ s *Store }

// Get returns the value under key, or nil and no error when there is none.
func (c *AICache) Get(ctx context.Context, key string) ([]byte, error) {
	return c.s.getBytes(ctx, "aicache", key)
}

// Set stores value under key for ttl; a ttl of zero or less stores nothing.
func (c *AICache) Set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	if ttl <= 0 {
		return nil
	}
	return c.s.setBytes(ctx, "aicache", key, value, ttl)
}
