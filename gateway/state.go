package gateway

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strconv"
	"sync"
)

// State is what a running gateway learns, kept for the life of a process
// rather than of one configuration: rate-limit buckets, quota counters,
// cached responses, idempotency records, AI token windows and budgets,
// circuit breakers and bulkheads, upstream pools with their health and
// ejections, Redis connections, JWKS keys and platform files. Each build
// ([New], config.File.Build, config.LoadGateway) given the state with [WithState]
// borrows the pieces it needs from it: a piece whose settings are
// unchanged is the one the previous build used, so a reload of the same
// file, or of one with an unrelated change, forgets nothing; a piece whose
// settings changed starts afresh (see "What a reload keeps" in the package
// documentation). A piece no build uses any more is closed when the last
// gateway that used it is closed.
//
// Parts borrow pieces of their own, any value under a kind and its
// settings, with [Builder.Keep].
//
// A config.Reloader makes one State and hands it to every load. A program that
// swaps gateways itself makes one with [NewState], gives it to every build,
// and closes it, after the last gateway, when the process ends.
//
// A State is safe for concurrent use.
type State struct {
	mu     sync.Mutex
	pieces map[string]*piece
	ctx    context.Context // the lifetime of started pieces
	cancel context.CancelFunc
	closed bool
	count  int // pieces made, to number them
}

// errStateClosed fails a build that borrows from a closed state.
var errStateClosed = errors.New("portico/gateway: the state is closed; give the build an open one (NewState)")

// err returns errStateClosed once s is closed.
func (s *State) err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errStateClosed
	}
	return nil
}

// piece is one borrowed part of the state.
type piece struct {
	val     any
	close   func() error
	start   func(context.Context)
	started bool
	refs    int // leases holding it
	order   int // creation order, for closing the newest first
}

// NewState returns an empty state. Close it when the process ends.
func NewState() *State {
	ctx, cancel := context.WithCancel(context.Background())
	return &State{pieces: map[string]*piece{}, ctx: ctx, cancel: cancel}
}

// Close closes every piece of the state, newest first, and stops the
// health checks and discovery of its pools. Gateways borrowing from it
// must be closed first; after Close, a build borrowing from st fails.
func (s *State) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	all := make([]*piece, 0, len(s.pieces))
	for _, p := range s.pieces {
		all = append(all, p)
	}
	clear(s.pieces)
	s.mu.Unlock()
	s.cancel()
	slices.SortFunc(all, func(a, b *piece) int { return b.order - a.order })
	var errs []error
	for _, p := range all {
		if p.close != nil {
			errs = append(errs, p.close())
		}
	}
	return errors.Join(errs...)
}

// lease is what one build borrows from a state. Its pieces are given back
// when the build's gateway is closed, or when the build fails.
type lease struct {
	st   *State
	own  bool            // the state is the build's alone: close it on release
	keys []string        // in the order borrowed
	held map[string]bool // keys, to borrow each once
	vals map[any]bool    // the pieces borrowed that are started (pools), for owns
	once sync.Once
}

// lease starts a lease on s; own closes s when the lease is released.
func (s *State) lease(own bool) *lease {
	return &lease{st: s, own: own, held: map[string]bool{}, vals: map[any]bool{}}
}

// made is what creates a piece: its value, how to close it (or nil) and
// how to start it (or nil).
type made struct {
	val   any
	close func() error
	start func(context.Context)
}

// borrow returns the piece named key, making it with mk if the state has
// none. A lease counts each piece once, however often it borrows it.
func (l *lease) borrow(key string, mk func() (made, error)) (any, error) {
	s := l.st
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, errStateClosed
	}
	p := s.pieces[key]
	if p == nil {
		m, err := mk()
		if err != nil {
			return nil, err
		}
		s.count++
		p = &piece{val: m.val, close: m.close, start: m.start, order: s.count}
		s.pieces[key] = p
	}
	if !l.held[key] {
		l.held[key] = true
		l.keys = append(l.keys, key)
		p.refs++
		if p.start != nil && isPointer(p.val) {
			l.vals[p.val] = true
		}
	}
	return p.val, nil
}

// isPointer reports whether v is a pointer, which may key a map.
func isPointer(v any) bool {
	return v != nil && reflect.TypeOf(v).Kind() == reflect.Pointer
}

// borrowAs is borrow with the piece's type.
func borrowAs[T any](l *lease, key string, mk func() (T, func() error, error)) (T, error) {
	v, err := l.borrow(key, func() (made, error) {
		v, closeFn, err := mk()
		return made{val: v, close: closeFn}, err
	})
	if err != nil {
		var zero T
		return zero, err
	}
	return v.(T), nil
}

// owns reports whether v is a pool borrowed from the state, which the
// state starts and closes rather than the gateway.
func (l *lease) owns(v any) bool {
	if !isPointer(v) {
		return false
	}
	l.st.mu.Lock()
	defer l.st.mu.Unlock()
	return l.vals[v]
}

// start starts the lease's pieces that have not been started: for the
// life of the state rather than of one gateway, or, when the state is the
// gateway's alone, for the life of ctx.
func (l *lease) start(ctx context.Context) {
	s := l.st
	if !l.own {
		ctx = s.ctx
	}
	s.mu.Lock()
	var todo []func(context.Context)
	for _, k := range l.keys {
		if p := s.pieces[k]; p != nil && p.start != nil && !p.started {
			p.started = true
			todo = append(todo, p.start)
		}
	}
	s.mu.Unlock()
	for _, f := range todo {
		f(ctx)
	}
}

// release gives the lease's pieces back, closing, newest first, those no
// other lease holds. It is idempotent.
func (l *lease) release() error {
	var errs []error
	l.once.Do(func() {
		s := l.st
		s.mu.Lock()
		var done []*piece
		for i := len(l.keys) - 1; i >= 0; i-- {
			k := l.keys[i]
			p := s.pieces[k]
			if p == nil {
				continue // the state was closed
			}
			if p.refs--; p.refs == 0 {
				delete(s.pieces, k)
				done = append(done, p)
			}
		}
		s.mu.Unlock()
		slices.SortFunc(done, func(a, b *piece) int { return b.order - a.order })
		for _, p := range done {
			if p.close != nil {
				errs = append(errs, p.close())
			}
		}
		if l.own {
			errs = append(errs, s.Close())
		}
	})
	return errors.Join(errs...)
}

// pieceKey names a piece by its kind and the settings it depends on. A
// part that cannot be encoded makes the key unique, so the piece is never
// shared by mistake.
func pieceKey(kind string, parts ...any) string {
	h := sha256.New()
	for _, p := range parts {
		b, err := json.Marshal(p)
		if err != nil {
			b = []byte(rand.Text())
		}
		h.Write(strconv.AppendInt(nil, int64(len(b)), 10))
		h.Write(b)
	}
	return kind + ":" + hex.EncodeToString(h.Sum(nil)[:12])
}

// keep borrows the in-memory piece named key for g's build, making it
// with mk if the state has none.
func keep[T any](g *Gateway, key string, mk func() T) T {
	return keepClosing(g, key, func() (T, func() error) { return mk(), nil })
}

// keepClosing is keep for a piece that must be closed (closeFn may be
// nil). Should the state be closed, the build fails; the piece returned
// then is a fresh one, closed at once, that no request ever uses.
func keepClosing[T any](g *Gateway, key string, mk func() (T, func() error)) T {
	v, err := borrowAs(g.cfg.lease, key, func() (T, func() error, error) {
		v, closeFn := mk()
		return v, closeFn, nil
	})
	if err != nil {
		g.stateErr = cmp.Or(g.stateErr, err)
		v, closeFn := mk()
		if closeFn != nil {
			_ = closeFn()
		}
		return v
	}
	return v
}
