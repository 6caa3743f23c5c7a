package cache

import (
	"container/list"
	"context"
	"net/http"
	"sync"
	"time"
)

// Entry is a stored response, or a variant index when Status is 0.
//
// The [New] middleware never modifies an entry after handing it to a
// store, and a store must not modify an entry after returning it: entries
// are shared between concurrent requests.
type Entry struct {
	// Status is the response status code; 0 marks a variant index.
	Status int `json:"status"`
	// Header holds the stored response header fields, without hop-by-hop
	// fields and without Cache-Status.
	Header http.Header `json:"header,omitempty"`
	// Body is the complete response body.
	Body []byte `json:"body,omitempty"`
	// Vary lists, for a variant index, the request header fields whose
	// values select a stored variant.
	Vary []string `json:"vary,omitempty"`
	// Stored is when the response was received from upstream.
	Stored time.Time `json:"stored"`
	// InitialAge is the age the response already had when it was received
	// (its Age header).
	InitialAge time.Duration `json:"initial_age,omitempty"`
	// Lifetime is the freshness lifetime computed when the entry was stored.
	Lifetime time.Duration `json:"lifetime,omitempty"`
}

// Size is the approximate number of bytes the entry occupies in memory,
// used for byte budgets.
func (e *Entry) Size() int64 {
	n := int64(96 + len(e.Body))
	for k, vs := range e.Header {
		n += int64(len(k)) + 16
		for _, v := range vs {
			n += int64(len(v)) + 16
		}
	}
	for _, v := range e.Vary {
		n += int64(len(v)) + 16
	}
	return n
}

// Store holds [Entry] values for the [New] middleware.
//
// Implementations must be safe for concurrent use. [NewMemory] is the
// in-memory implementation; the redisstore package has one that replicas
// share.
type Store interface {
	// Get returns the entry stored under key, or nil and no error when
	// there is none (or it has expired).
	Get(ctx context.Context, key string) (*Entry, error)
	// Set stores e under key for at most ttl.
	Set(ctx context.Context, key string, e *Entry, ttl time.Duration) error
	// Delete removes the entry stored under key, if any.
	Delete(ctx context.Context, key string) error
}

// MemoryConfig configures [NewMemory].
type MemoryConfig struct {
	// MaxBytes is the byte budget. When storing an entry would exceed it,
	// the least recently used entries are evicted. If zero, 64 MiB is used.
	MaxBytes int64
	// Now is the clock used to expire entries. If nil, time.Now is used.
	Now func() time.Time
}

// Memory is an in-memory [Store] with a byte budget and least
// recently used eviction. It is safe for concurrent use.
type Memory struct {
	mu    sync.Mutex
	max   int64
	used  int64
	now   func() time.Time
	lru   list.List // front is most recently used; values are *memItem
	items map[string]*list.Element
}

type memItem struct {
	key     string
	entry   *Entry
	size    int64
	expires time.Time
}

// NewMemory returns an empty in-memory cache store.
func NewMemory(cfg MemoryConfig) *Memory {
	if cfg.MaxBytes < 0 {
		panic("portico/cache: MemoryConfig.MaxBytes must not be negative")
	}
	if cfg.MaxBytes == 0 {
		cfg.MaxBytes = 64 << 20
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Memory{max: cfg.MaxBytes, now: cfg.Now, items: make(map[string]*list.Element)}
}

// Get implements [Store].
func (m *Memory) Get(_ context.Context, key string) (*Entry, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	el, ok := m.items[key]
	if !ok {
		return nil, nil
	}
	it := el.Value.(*memItem)
	if !m.now().Before(it.expires) {
		m.remove(el)
		return nil, nil
	}
	m.lru.MoveToFront(el)
	return it.entry, nil
}

// Set implements [Store]. An entry larger than the whole budget is
// not stored.
func (m *Memory) Set(_ context.Context, key string, e *Entry, ttl time.Duration) error {
	if ttl <= 0 {
		return nil
	}
	size := e.Size() + int64(len(key))
	m.mu.Lock()
	defer m.mu.Unlock()
	if el, ok := m.items[key]; ok {
		m.remove(el)
	}
	if size > m.max {
		return nil
	}
	for m.used+size > m.max {
		m.remove(m.lru.Back())
	}
	it := &memItem{key: key, entry: e, size: size, expires: m.now().Add(ttl)}
	m.items[key] = m.lru.PushFront(it)
	m.used += size
	return nil
}

// Delete implements [Store].
func (m *Memory) Delete(_ context.Context, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if el, ok := m.items[key]; ok {
		m.remove(el)
	}
	return nil
}

// Len returns the number of stored entries (variant indexes included).
func (m *Memory) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.items)
}

// Bytes returns the bytes currently counted against the budget.
func (m *Memory) Bytes() int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.used
}

func (m *Memory) remove(el *list.Element) {
	it := el.Value.(*memItem)
	m.lru.Remove(el)
	delete(m.items, it.key)
	m.used -= it.size
}
