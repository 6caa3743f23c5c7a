package aicache

import (
	"container/list"
	"context"
	"sync"
	"time"
)

// Store holds cached responses by key. Implementations are safe for
// concurrent use; [NewMemory] is the in-memory one, and the redisstore
// package's AICache one that gateway replicas share.
type Store interface {
	// Get returns the value stored under key, or nil and no error when
	// there is none or it expired.
	Get(ctx context.Context, key string) ([]byte, error)
	// Set stores value under key for at most ttl.
	Set(ctx context.Context, key string, value []byte, ttl time.Duration) error
}

// Memory is an in-memory [Store] holding at most a number of entries,
// evicting the least recently used. It is safe for concurrent use.
type Memory struct {
	mu    sync.Mutex
	max   int
	now   func() time.Time
	ll    *list.List
	items map[string]*list.Element
}

type memEntry struct {
	key     string
	value   []byte
	expires time.Time
}

// NewMemory returns a Memory of at most maxEntries entries (10 000 if
// zero or less), reading the time from now (time.Now if nil).
func NewMemory(maxEntries int, now func() time.Time) *Memory {
	if maxEntries <= 0 {
		maxEntries = 10_000
	}
	if now == nil {
		now = time.Now
	}
	return &Memory{max: maxEntries, now: now, ll: list.New(), items: map[string]*list.Element{}}
}

// Get implements [Store].
func (m *Memory) Get(_ context.Context, key string) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	el, ok := m.items[key]
	if !ok {
		return nil, nil
	}
	e := el.Value.(*memEntry)
	if !m.now().Before(e.expires) {
		m.ll.Remove(el)
		delete(m.items, key)
		return nil, nil
	}
	m.ll.MoveToFront(el)
	return e.value, nil
}

// Set implements [Store].
func (m *Memory) Set(_ context.Context, key string, value []byte, ttl time.Duration) error {
	if ttl <= 0 {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	e := &memEntry{key: key, value: value, expires: m.now().Add(ttl)}
	if el, ok := m.items[key]; ok {
		el.Value = e
		m.ll.MoveToFront(el)
		return nil
	}
	m.items[key] = m.ll.PushFront(e)
	for m.ll.Len() > m.max {
		old := m.ll.Back()
		m.ll.Remove(old)
		delete(m.items, old.Value.(*memEntry).key)
	}
	return nil
}

// Len returns the number of entries, expired ones included until read.
func (m *Memory) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.ll.Len()
}
