package aicache

import (
	"context"
	"sync"
	"time"
)

// Index keeps the embeddings of the requests whose answers a [Cache]
// stored, for semantic matches. Entries are grouped in partitions (one
// per scope and request settings), and a lookup reads one partition
// only. Implementations are safe for concurrent use; [NewMemoryIndex] is
// the in-memory one, and the redisstore package's AIIndex one that
// gateway replicas share.
type Index interface {
	// Add records that the answer stored under key answers a request
	// whose embedding is vec, in partition, for ttl from now.
	Add(ctx context.Context, partition, key string, vec []float32, now time.Time, ttl time.Duration) error
	// Scan calls fn with the key and embedding of the entries of
	// partition still live at now, the most recent first, at most the
	// index's bound of them. fn must not keep vec.
	Scan(ctx context.Context, partition string, now time.Time, fn func(key string, vec []float32)) error
}

// MemoryIndex is an in-memory [Index] keeping at most a number of
// entries per partition (those that expire last) and at most 4 096
// partitions. It is safe for concurrent use.
type MemoryIndex struct {
	mu    sync.Mutex
	max   int
	parts map[string][]indexEntry // newest last
}

type indexEntry struct {
	key     string
	vec     []float32
	expires time.Time
}

// maxPartitions bounds the partitions of a MemoryIndex.
const maxPartitions = 4096

// NewMemoryIndex returns a MemoryIndex of at most maxPerPartition
// entries per partition (256 if zero or less), which is also the most a
// lookup compares.
func NewMemoryIndex(maxPerPartition int) *MemoryIndex {
	if maxPerPartition <= 0 {
		maxPerPartition = 256
	}
	return &MemoryIndex{max: maxPerPartition, parts: map[string][]indexEntry{}}
}

// Add implements [Index].
func (m *MemoryIndex) Add(_ context.Context, partition, key string, vec []float32, now time.Time, ttl time.Duration) error {
	expires := now.Add(ttl)
	m.mu.Lock()
	defer m.mu.Unlock()
	// The slices are never changed in place, so a Scan reads its own
	// after it unlocked.
	es := m.parts[partition]
	kept := make([]indexEntry, 0, min(len(es)+1, m.max+1))
	for _, e := range es {
		if e.key != key {
			kept = append(kept, e)
		}
	}
	kept = append(kept, indexEntry{key: key, vec: vec, expires: expires})
	if len(kept) > m.max {
		kept = kept[len(kept)-m.max:]
	}
	m.parts[partition] = kept
	if len(m.parts) > maxPartitions {
		m.evict(partition, now)
	}
	return nil
}

// evict drops the partitions whose newest entry has expired by now, or
// else the one whose newest entry expires first, keeping keep.
func (m *MemoryIndex) evict(keep string, now time.Time) {
	oldest, at := "", time.Time{}
	for p, es := range m.parts {
		if p == keep {
			continue
		}
		last := es[len(es)-1].expires
		if last.Before(now) {
			delete(m.parts, p)
			continue
		}
		if oldest == "" || last.Before(at) {
			oldest, at = p, last
		}
	}
	if len(m.parts) > maxPartitions {
		delete(m.parts, oldest)
	}
}

// Scan implements [Index].
func (m *MemoryIndex) Scan(_ context.Context, partition string, now time.Time, fn func(string, []float32)) error {
	m.mu.Lock()
	es := m.parts[partition]
	if len(es) > 0 && !now.Before(es[0].expires) {
		live := make([]indexEntry, 0, len(es))
		for _, e := range es {
			if now.Before(e.expires) {
				live = append(live, e)
			}
		}
		es = live
		if len(live) == 0 {
			delete(m.parts, partition)
		} else {
			m.parts[partition] = live
		}
	}
	m.mu.Unlock()
	for i := len(es) - 1; i >= 0; i-- {
		if now.Before(es[i].expires) {
			fn(es[i].key, es[i].vec)
		}
	}
	return nil
}
