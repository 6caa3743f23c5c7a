package platform

import (
	"context"
	"encoding/binary"
	"fmt"
	"io/fs"
	"slices"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
)

// FileStore is the embedded default [Store]: a bbolt database in one local
// file, so a restart of a single-node gateway keeps every tenant, key and
// subscription. bbolt locks the file, so one process owns it; the version
// counter is kept in memory as well as in the file, so [FileStore.Version]
// costs an atomic load. It is safe for concurrent use.
type FileStore struct {
	db      *bolt.DB
	version atomic.Uint64
}

// The bucket and key of the version counter.
const (
	metaBucket = "portico.meta"
	versionKey = "version"
)

// OpenFile opens or creates the store at path. It waits at most five
// seconds for another process to release the file.
func OpenFile(path string) (*FileStore, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 5 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("portico/platform: opening %s: %w", path, err)
	}
	s := &FileStore{db: db}
	err = db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists([]byte(metaBucket))
		if err != nil {
			return err
		}
		if v := b.Get([]byte(versionKey)); len(v) == 8 {
			s.version.Store(binary.BigEndian.Uint64(v))
		}
		return nil
	})
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("portico/platform: initialising %s: %w", path, err)
	}
	return s, nil
}

// Close closes the file.
func (s *FileStore) Close() error { return s.db.Close() }

// Get implements [Store].
func (s *FileStore) Get(_ context.Context, kind, id string) ([]byte, error) {
	var out []byte
	err := s.db.View(func(tx *bolt.Tx) error {
		if b := tx.Bucket([]byte(kind)); b != nil {
			if v := b.Get([]byte(id)); v != nil {
				out = slices.Clone(v)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if out == nil {
		return nil, fs.ErrNotExist
	}
	return out, nil
}

// List implements [Store].
func (s *FileStore) List(_ context.Context, kind string) ([][]byte, error) {
	var out [][]byte
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte(kind))
		if b == nil {
			return nil
		}
		return b.ForEach(func(_, v []byte) error {
			out = append(out, slices.Clone(v))
			return nil
		})
	})
	return out, err
}

// Update implements [Store].
func (s *FileStore) Update(_ context.Context, kind, id string, fn func([]byte) ([]byte, error)) error {
	var next uint64
	err := s.db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists([]byte(kind))
		if err != nil {
			return err
		}
		old := slices.Clone(b.Get([]byte(id)))
		v, err := fn(old)
		if err != nil {
			return err
		}
		if v == nil {
			err = b.Delete([]byte(id))
		} else {
			err = b.Put([]byte(id), v)
		}
		if err != nil {
			return err
		}
		meta := tx.Bucket([]byte(metaBucket))
		if cur := meta.Get([]byte(versionKey)); len(cur) == 8 {
			next = binary.BigEndian.Uint64(cur)
		}
		next++
		return meta.Put([]byte(versionKey), binary.BigEndian.AppendUint64(nil, next))
	})
	if err != nil {
		return err
	}
	// Writers commit one at a time, so versions only grow.
	for cur := s.version.Load(); cur < next && !s.version.CompareAndSwap(cur, next); cur = s.version.Load() {
	}
	return nil
}

// Version implements [Store].
func (s *FileStore) Version(context.Context) (uint64, error) { return s.version.Load(), nil }
