package redisstore

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/portico-dev/portico/middleware/cache"
)

// Cache returns the shared [cache.Store], for the response cache
// of several gateway replicas.
func (s *Store) Cache() *Cache { return &Cache{s: s} }

// Cache is a [cache.Store] in Redis. Entries are stored in a
// compact binary encoding under "<prefix>cache:<key>" and expire with
// their TTL; Redis' own eviction policy (maxmemory-policy allkeys-lru)
// bounds its memory.
type Cache struct{ s *Store }

// Get implements [cache.Store].
func (c *Cache) Get(ctx context.Context, key string) (*cache.Entry, error) {
	b, err := c.s.getBytes(ctx, "cache", key)
	if b == nil || err != nil {
		return nil, err
	}
	e, err := decodeEntry(b)
	if err != nil {
		return nil, fmt.Errorf("portico/redisstore: cache get: %w", err)
	}
	return e, nil
}

// Set implements [cache.Store].
func (c *Cache) Set(ctx context.Context, key string, e *cache.Entry, ttl time.Duration) error {
	if ttl <= 0 {
		return nil
	}
	return c.s.setBytes(ctx, "cache", key, encodeEntry(e), ttl)
}

// Delete implements [cache.Store].
func (c *Cache) Delete(ctx context.Context, key string) error {
	err := c.s.do(ctx, func(ctx context.Context) error {
		return c.s.client.Del(ctx, c.s.prefix+"cache:"+key).Err()
	})
	if err != nil {
		return fmt.Errorf("portico/redisstore: cache delete: %w", err)
	}
	return nil
}

// entryVersion is the first byte of an encoded entry; a change of format
// changes it, and older entries read as misses.
const entryVersion = 1

var errBadEntry = errors.New("malformed cache entry")

func encodeEntry(e *cache.Entry) []byte {
	n := 64 + len(e.Body)
	for k, vs := range e.Header {
		n += len(k) + 4
		for _, v := range vs {
			n += len(v) + 4
		}
	}
	b := make([]byte, 0, n)
	b = append(b, entryVersion)
	b = binary.AppendUvarint(b, uint64(e.Status))
	b = binary.AppendVarint(b, e.Stored.UnixNano())
	b = binary.AppendVarint(b, int64(e.InitialAge))
	b = binary.AppendVarint(b, int64(e.Lifetime))
	b = binary.AppendUvarint(b, uint64(len(e.Vary)))
	for _, v := range e.Vary {
		b = appendString(b, v)
	}
	b = binary.AppendUvarint(b, uint64(len(e.Header)))
	for k, vs := range e.Header {
		b = appendString(b, k)
		b = binary.AppendUvarint(b, uint64(len(vs)))
		for _, v := range vs {
			b = appendString(b, v)
		}
	}
	return append(b, e.Body...)
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

type entryReader struct {
	b   []byte
	err error
}

func (r *entryReader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err = errBadEntry
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *entryReader) varint() int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.err = errBadEntry
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *entryReader) string() string {
	n := r.uvarint()
	if r.err != nil {
		return ""
	}
	if n > uint64(len(r.b)) {
		r.err = errBadEntry
		return ""
	}
	s := string(r.b[:n])
	r.b = r.b[n:]
	return s
}

// count reads a length that must fit in what is left (each item takes at
// least one byte), so a corrupt count cannot make a huge allocation.
func (r *entryReader) count() int {
	n := r.uvarint()
	if n > uint64(len(r.b)) {
		r.err = errBadEntry
		return 0
	}
	return int(n)
}

func decodeEntry(b []byte) (*cache.Entry, error) {
	if len(b) == 0 || b[0] != entryVersion {
		return nil, errBadEntry
	}
	r := &entryReader{b: b[1:]}
	e := &cache.Entry{}
	e.Status = int(r.uvarint())
	e.Stored = time.Unix(0, r.varint())
	e.InitialAge = time.Duration(r.varint())
	e.Lifetime = time.Duration(r.varint())
	if n := r.count(); n > 0 {
		e.Vary = make([]string, n)
		for i := range e.Vary {
			e.Vary[i] = r.string()
		}
	}
	nh := r.count()
	e.Header = make(http.Header, nh)
	for range nh {
		k := r.string()
		vs := make([]string, r.count())
		for i := range vs {
			vs[i] = r.string()
		}
		e.Header[k] = vs
	}
	if r.err != nil {
		return nil, r.err
	}
	if len(r.b) > 0 {
		e.Body = r.b
	}
	return e, nil
}

// getBytes returns the value under "<prefix><kind>:<key>", or nil and no
// error when there is none.
func (s *Store) getBytes(ctx context.Context, kind, key string) ([]byte, error) {
	var b []byte
	err := s.do(ctx, func(ctx context.Context) (err error) {
		b, err = s.client.Get(ctx, s.prefix+kind+":"+key).Bytes()
		return err
	})
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("portico/redisstore: %s get: %w", kind, err)
	}
	return b, nil
}

// setBytes stores b under "<prefix><kind>:<key>" for ttl.
func (s *Store) setBytes(ctx context.Context, kind, key string, b []byte, ttl time.Duration) error {
	err := s.do(ctx, func(ctx context.Context) error {
		return s.client.Set(ctx, s.prefix+kind+":"+key, b, ttl).Err()
	})
	if err != nil {
		return fmt.Errorf("portico/redisstore: %s set: %w", kind, err)
	}
	return nil
}
