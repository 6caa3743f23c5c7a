package redisstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// AICache returns the store of the AI response cache (the aicache
// package's Store), shared by gateway replicas.
func (s *Store) AICache() *AICache { return &AICache{s: s} }

// AICache is a store of AI responses in Redis, under "<prefix>aicache:<key>",
// expiring with their TTL.
type AICache struct{ s *Store }

// Get returns the value under key, or nil and no error when there is none.
func (c *AICache) Get(ctx context.Context, key string) ([]byte, error) {
	var b []byte
	err := c.s.do(ctx, func(ctx context.Context) (err error) {
		b, err = c.s.client.Get(ctx, c.s.prefix+"aicache:"+key).Bytes()
		return err
	})
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("portico/redisstore: aicache get: %w", err)
	}
	return b, nil
}

// Set stores value under key for ttl; a ttl of zero or less stores nothing.
func (c *AICache) Set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	if ttl <= 0 {
		return nil
	}
	err := c.s.do(ctx, func(ctx context.Context) error {
		return c.s.client.Set(ctx, c.s.prefix+"aicache:"+key, value, ttl).Err()
	})
	if err != nil {
		return fmt.Errorf("portico/redisstore: aicache set: %w", err)
	}
	return nil
}
