package platform

import (
	"context"
	"errors"
	"io/fs"
	"slices"
	"sync"
	"sync/atomic"
)

// Errors returned by [Platform] methods, matched with errors.Is. The admin
// API maps them to 404, 400 and 409 problems.
var (
	ErrNotFound = errors.New("portico/platform: not found")
	ErrInvalid  = errors.New("portico/platform: invalid input")
	ErrConflict = errors.New("portico/platform: conflict")
)

// Store keeps the platform's state: values of a few kinds ("tenant",
// "consumer", "key", "api", "subscription", "audit"), each a JSON document
// under an ID, and a version counter that every write increments.
//
// The interface uses only standard types so that backends live in other
// packages without importing this one: [OpenFile] is the embedded default
// (a bbolt file), [NewMemoryStore] keeps state in memory, and
// redisstore.Store.Platform shares it between replicas through Redis.
// Implementations must be safe for concurrent use.
type Store interface {
	// Get returns the value of kind and id, or an error wrapping
	// fs.ErrNotExist.
	Get(ctx context.Context, kind, id string) ([]byte, error)
	// List returns every value of kind, ordered by ID.
	List(ctx context.Context, kind string) ([][]byte, error)
	// Update calls fn with the current value of kind and id (nil when
	// absent) and stores what fn returns, or deletes the value when fn
	// returns nil, atomically, incrementing the version. An error from fn
	// aborts the update and is returned as is. fn may be called more than
	// once when concurrent writers collide.
	Update(ctx context.Context, kind, id string, fn func(old []byte) ([]byte, error)) error
	// Version returns the version counter. A replica caching state reloads
	// it when the version differs from the one it loaded.
	Version(ctx context.Context) (uint64, error)
}

// Watcher is implemented by a [Store] with a change feed, such as
// redisstore's: Watch calls changed after every write made through any
// replica until ctx ends. [Platform.Run] uses it to drop cached state at
// once.
type Watcher interface {
	Watch(ctx context.Context, changed func()) error
}

// MemoryStore is a [Store] in memory, for tests and single-process
// gateways that need no persistence. It is safe for concurrent use.
type MemoryStore struct {
	mu      sync.RWMutex
	kinds   map[string]map[string][]byte
	version atomic.Uint64
}

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore() *MemoryStore {
	return &MemoryStore{kinds: make(map[string]map[string][]byte)}
}

// Get implements [Store].
func (m *MemoryStore) Get(_ context.Context, kind, id string) ([]byte, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	v, ok := m.kinds[kind][id]
	if !ok {
		return nil, fs.ErrNotExist
	}
	return slices.Clone(v), nil
}

// List implements [Store].
func (m *MemoryStore) List(_ context.Context, kind string) ([][]byte, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	ids := make([]string, 0, len(m.kinds[kind]))
	for id := range m.kinds[kind] {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	out := make([][]byte, len(ids))
	for i, id := range ids {
		out[i] = slices.Clone(m.kinds[kind][id])
	}
	return out, nil
}

// Update implements [Store].
func (m *MemoryStore) Update(_ context.Context, kind, id string, fn func([]byte) ([]byte, error)) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	old, ok := m.kinds[kind][id]
	if ok {
		old = slices.Clone(old)
	}
	v, err := fn(old)
	if err != nil {
		return err
	}
	if m.kinds[kind] == nil {
		m.kinds[kind] = make(map[string][]byte)
	}
	if v == nil {
		delete(m.kinds[kind], id)
	} else {
		m.kinds[kind][id] = slices.Clone(v)
	}
	m.version.Add(1)
	return nil
}

// Version implements [Store].
func (m *MemoryStore) Version(context.Context) (uint64, error) { return m.version.Load(), nil }
