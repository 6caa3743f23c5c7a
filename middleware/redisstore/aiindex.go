package redisstore

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"time"

	"github.com/redis/go-redis/v9"
)

// AIIndex returns the index of the AI response cache's semantic matches
// (the aicache package's Index), shared by gateway replicas, keeping at
// most maxPerPartition entries per partition (256 if zero or less, 4 096
// at most).
func (s *Store) AIIndex(maxPerPartition int) *AIIndex {
	if maxPerPartition <= 0 {
		maxPerPartition = 256
	}
	maxPerPartition = min(maxPerPartition, 4096)
	return &AIIndex{s: s, max: maxPerPartition}
}

// AIIndex is an index of embeddings in Redis. Redis has no vector search
// here, so the similarity is computed by the caller: a partition (a
// tenant's requests of one set of settings) is a sorted set of keys
// scored by expiry, "<prefix>aiindex:<partition>:z", beside a hash of
// their embeddings as little-endian float32, "<prefix>aiindex:<partition>".
//
// The work per lookup is bounded: one script call drops the partition's
// expired entries and returns at most the bound's embeddings, those that
// expire last (the newest, for one TTL), which the caller compares. With
// the default bound of 256 and 1 536-dimension embeddings, that is at
// most 1.5 MiB read and 393 216 multiply-adds per lookup; a smaller bound
// (or smaller embeddings) makes it cheaper, and older entries beyond it
// are dropped when an entry is added. Both keys expire when their last
// entry does. Times come from the caller's clock; the keys' own expiry
// from Redis'.
type AIIndex struct {
	s   *Store
	max int
}

func (x *AIIndex) keys(partition string) []string {
	k := x.s.prefix + "aiindex:" + partition
	return []string{k + ":z", k}
}

// indexAdd drops the expired entries, adds one, keeps the newest max and
// extends the keys' lifetime to the entry's.
// ARGV: now (ms), expires (ms), key, vector, max, ttl (ms).
var indexAdd = redis.NewScript(`
local old = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
for _, k in ipairs(old) do redis.call('HDEL', KEYS[2], k) end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[3])
redis.call('HSET', KEYS[2], ARGV[3], ARGV[4])
local n = redis.call('ZCARD', KEYS[1]) - tonumber(ARGV[5])
if n > 0 then
  local drop = redis.call('ZRANGE', KEYS[1], 0, n - 1)
  for _, k in ipairs(drop) do redis.call('HDEL', KEYS[2], k) end
  redis.call('ZREMRANGEBYRANK', KEYS[1], 0, n - 1)
end
local ttl = tonumber(ARGV[6])
for _, k in ipairs(KEYS) do
  if redis.call('PTTL', k) < ttl then redis.call('PEXPIRE', k, ttl) end
end
return 1
`)

// indexScan drops the expired entries and returns the newest max keys
// and their vectors, interleaved. ARGV: now (ms), max.
var indexScan = redis.NewScript(`
local old = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
for _, k in ipairs(old) do redis.call('HDEL', KEYS[2], k) end
if #old > 0 then redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1]) end
local keys = redis.call('ZREVRANGE', KEYS[1], 0, tonumber(ARGV[2]) - 1)
if #keys == 0 then return {} end
local vecs = redis.call('HMGET', KEYS[2], unpack(keys))
local out = {}
for i, k in ipairs(keys) do
  if vecs[i] then out[#out + 1] = k; out[#out + 1] = vecs[i] end
end
return out
`)

// Add indexes key's embedding vec in partition for ttl from now.
func (x *AIIndex) Add(ctx context.Context, partition, key string, vec []float32, now time.Time, ttl time.Duration) error {
	if ttl <= 0 {
		return nil
	}
	expires := now.Add(ttl)
	b := make([]byte, 4*len(vec))
	for i, f := range vec {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(f))
	}
	err := x.s.do(ctx, func(ctx context.Context) error {
		return indexAdd.Run(ctx, x.s.client, x.keys(partition),
			now.UnixMilli(), expires.UnixMilli(), key, b, x.max, ttl.Milliseconds()+1).Err()
	})
	if err != nil {
		return fmt.Errorf("portico/redisstore: aiindex add: %w", err)
	}
	return nil
}

// Scan calls fn with the key and embedding of each entry of partition
// live at now, at most the bound of them, those that expire last first.
func (x *AIIndex) Scan(ctx context.Context, partition string, now time.Time, fn func(key string, vec []float32)) error {
	var res []any
	err := x.s.do(ctx, func(ctx context.Context) (err error) {
		res, err = indexScan.Run(ctx, x.s.client, x.keys(partition), now.UnixMilli(), x.max).Slice()
		return err
	})
	if err != nil {
		return fmt.Errorf("portico/redisstore: aiindex scan: %w", err)
	}
	var vec []float32
	for i := 0; i+1 < len(res); i += 2 {
		key, _ := res[i].(string)
		raw, _ := res[i+1].(string)
		if len(raw)%4 != 0 {
			continue
		}
		vec = vec[:0]
		for j := 0; j < len(raw); j += 4 {
			u := uint32(raw[j]) | uint32(raw[j+1])<<8 | uint32(raw[j+2])<<16 | uint32(raw[j+3])<<24
			vec = append(vec, math.Float32frombits(u))
		}
		fn(key, vec)
	}
	return nil
}
