package redisstore

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/portico-dev/portico/middleware/cache"
)

// Idempotency returns the shared [cache.IdempotencyStore], so that
// of several gateway replicas receiving one Idempotency-Key at once,
// exactly one runs the request.
func (s *Store) Idempotency() *Idempotency { return &Idempotency{s: s} }

// Idempotency is a [cache.IdempotencyStore] in Redis. Each key is a
// hash under "<prefix>idem:<key>" holding the claim token, a done flag and
// the JSON record; claiming, completing and releasing are single Lua
// scripts, so they are atomic across replicas.
type Idempotency struct{ s *Store }

// idemClaim creates the hash when the key is free (SET NX semantics) and
// returns 1, or returns the stored record.
var idemClaim = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('HSET', KEYS[1], 'token', ARGV[1], 'rec', ARGV[2], 'done', '0')
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
  return 1
end
return redis.call('HGET', KEYS[1], 'rec')
`)

// idemComplete stores the final record if the caller still holds the claim.
var idemComplete = redis.NewScript(`
if redis.call('HGET', KEYS[1], 'token') ~= ARGV[1] or redis.call('HGET', KEYS[1], 'done') ~= '0' then
  return 0
end
redis.call('HSET', KEYS[1], 'rec', ARGV[2], 'done', '1')
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
`)

// idemRelease deletes the claim if the caller still holds it.
var idemRelease = redis.NewScript(`
if redis.call('HGET', KEYS[1], 'token') ~= ARGV[1] or redis.call('HGET', KEYS[1], 'done') ~= '0' then
  return 0
end
redis.call('DEL', KEYS[1])
return 1
`)

// Claim implements [cache.IdempotencyStore].
func (m *Idempotency) Claim(ctx context.Context, key string, rec *cache.IdempotencyRecord, lock time.Duration) (*cache.IdempotencyRecord, error) {
	claim := *rec
	claim.Done = false
	b, err := json.Marshal(&claim)
	if err != nil {
		return nil, fmt.Errorf("portico/redisstore: idempotency claim: %w", err)
	}
	var res any
	err = m.s.do(ctx, func(ctx context.Context) (err error) {
		res, err = idemClaim.Run(ctx, m.s.client, []string{m.s.prefix + "idem:" + key}, rec.Token, b, max(lock.Milliseconds(), 1)).Result()
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("portico/redisstore: idempotency claim: %w", err)
	}
	switch v := res.(type) {
	case int64:
		return nil, nil
	case string:
		var existing cache.IdempotencyRecord
		if err := json.Unmarshal([]byte(v), &existing); err != nil {
			return nil, fmt.Errorf("portico/redisstore: idempotency claim: malformed record: %w", err)
		}
		return &existing, nil
	}
	return nil, fmt.Errorf("portico/redisstore: idempotency claim: unexpected script reply %T", res)
}

// Complete implements [cache.IdempotencyStore].
func (m *Idempotency) Complete(ctx context.Context, key string, rec *cache.IdempotencyRecord, ttl time.Duration) error {
	done := *rec
	done.Done = true
	b, err := json.Marshal(&done)
	if err != nil {
		return fmt.Errorf("portico/redisstore: idempotency complete: %w", err)
	}
	var n int
	err = m.s.do(ctx, func(ctx context.Context) (err error) {
		n, err = idemComplete.Run(ctx, m.s.client, []string{m.s.prefix + "idem:" + key}, rec.Token, b, max(ttl.Milliseconds(), 1)).Int()
		return err
	})
	if err != nil {
		return fmt.Errorf("portico/redisstore: idempotency complete: %w", err)
	}
	if n == 0 {
		return cache.ErrIdempotencyClaimLost
	}
	return nil
}

// Release implements [cache.IdempotencyStore].
func (m *Idempotency) Release(ctx context.Context, key, token string) error {
	var n int
	err := m.s.do(ctx, func(ctx context.Context) (err error) {
		n, err = idemRelease.Run(ctx, m.s.client, []string{m.s.prefix + "idem:" + key}, token).Int()
		return err
	})
	if err != nil {
		return fmt.Errorf("portico/redisstore: idempotency release: %w", err)
	}
	if n == 0 {
		return cache.ErrIdempotencyClaimLost
	}
	return nil
}
