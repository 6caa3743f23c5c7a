package redisstore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// Documents returns the shared store of the gateway platform's state
// (tenants, consumers, keys, APIs, subscriptions, audit log): it
// implements the Store interface of package gateway/platform, so several
// gateway replicas manage subscriptions together.
func (s *Store) Documents() *Documents { return &Documents{s: s} }

// Documents keeps JSON documents by kind and ID in one Redis hash per kind,
// and a version counter that every write increments in the same MULTI
// transaction. Keys share the hash tag "{platform}", so the transaction
// also works on Redis Cluster. It is safe for concurrent use.
type Documents struct{ s *Store }

func (d *Documents) hash(kind string) string { return d.s.prefix + "{platform}:" + kind }
func (d *Documents) version() string         { return d.s.prefix + "{platform}:version" }
func (d *Documents) channel() string         { return d.s.prefix + "{platform}:changes" }

// Get returns the document of kind and id, or an error wrapping
// fs.ErrNotExist.
func (d *Documents) Get(ctx context.Context, kind, id string) ([]byte, error) {
	var b []byte
	err := d.s.do(ctx, func(ctx context.Context) (err error) {
		b, err = d.s.client.HGet(ctx, d.hash(kind), id).Bytes()
		return err
	})
	if errors.Is(err, redis.Nil) {
		return nil, fs.ErrNotExist
	}
	if err != nil {
		return nil, fmt.Errorf("portico/redisstore: %w", err)
	}
	return b, nil
}

// List returns every document of kind, ordered by ID.
func (d *Documents) List(ctx context.Context, kind string) ([][]byte, error) {
	var m map[string]string
	err := d.s.do(ctx, func(ctx context.Context) (err error) {
		m, err = d.s.client.HGetAll(ctx, d.hash(kind)).Result()
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("portico/redisstore: %w", err)
	}
	ids := make([]string, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	out := make([][]byte, len(ids))
	for i, id := range ids {
		out[i] = []byte(m[id])
	}
	return out, nil
}

// fnError carries an error from the caller's function out of a transaction.
type fnError struct{ err error }

func (e fnError) Error() string { return e.err.Error() }

// Update calls fn with the current document of kind and id (nil when
// absent) and stores its result (nil deletes), incrementing the version,
// in an optimistic transaction (WATCH/MULTI) retried when another writer
// got there first, and announces the change to [Documents.Watch]ers. An
// error from fn is returned as is. Each attempt is one call under the
// store's timeout and breaker.
func (d *Documents) Update(ctx context.Context, kind, id string, fn func(old []byte) ([]byte, error)) error {
	h := d.hash(kind)
	for range 100 {
		var fe fnError
		err := d.s.do(ctx, func(ctx context.Context) error {
			err := d.s.client.Watch(ctx, func(tx *redis.Tx) error { return d.update(ctx, tx, h, id, fn) }, h)
			if errors.As(err, &fe) {
				return nil // fn's error is not Redis's
			}
			return err
		})
		switch {
		case fe.err != nil:
			return fe.err
		case errors.Is(err, redis.TxFailedErr):
			continue
		case err != nil:
			return fmt.Errorf("portico/redisstore: %w", err)
		}
		return nil
	}
	return fmt.Errorf("portico/redisstore: updating %s %q: too many concurrent writers; retry", kind, id)
}

// update is one attempt of [Documents.Update], inside WATCH.
func (d *Documents) update(ctx context.Context, tx *redis.Tx, h, id string, fn func(old []byte) ([]byte, error)) error {
	old, err := tx.HGet(ctx, h, id).Bytes()
	switch {
	case errors.Is(err, redis.Nil):
		old = nil
	case err != nil:
		return err
	}
	v, err := fn(old)
	if err != nil {
		return fnError{err}
	}
	_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
		if v == nil {
			p.HDel(ctx, h, id)
		} else {
			p.HSet(ctx, h, id, v)
		}
		p.Incr(ctx, d.version())
		p.Publish(ctx, d.channel(), "")
		return nil
	})
	return err
}

// Version returns the version counter: one GET.
func (d *Documents) Version(ctx context.Context) (uint64, error) {
	var s string
	err := d.s.do(ctx, func(ctx context.Context) (err error) {
		s, err = d.s.client.Get(ctx, d.version()).Result()
		return err
	})
	if errors.Is(err, redis.Nil) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("portico/redisstore: %w", err)
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("portico/redisstore: version counter %q: %w", s, err)
	}
	return v, nil
}

// Watch calls changed after every committed [Documents.Update], from any
// replica, until ctx ends; it then returns ctx's error. It is the change
// feed that lets a replica drop its cached state within milliseconds
// instead of reading the version on every request. Pub/sub messages are
// not durable: a replica must still check the version now and then (the
// platform's WithRefresh interval), which Watch also prompts by calling
// changed whenever its subscription is (re)established.
func (d *Documents) Watch(ctx context.Context, changed func()) error {
	ps := d.s.client.Subscribe(ctx, d.channel())
	defer func() { _ = ps.Close() }()
	// The channel's goroutine reconnects after an outage and delivers the
	// new subscription confirmation too, which counts as a change.
	msgs := ps.ChannelWithSubscriptions(redis.WithChannelHealthCheckInterval(10 * time.Second))
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case m := <-msgs:
			if m != nil {
				changed()
			}
		}
	}
}
