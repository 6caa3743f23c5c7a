package platform

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync/atomic"
	"time"

	"github.com/portico-dev/portico/middleware"
	"github.com/portico-dev/portico/middleware/auth"
)

// snapshot is the state the request path reads: every API, subscription,
// consumer and key, decoded once per store version.
type snapshot struct {
	version   uint64
	checked   atomic.Int64 // when the version was last confirmed, Unix ns
	apis      map[string]*API
	subs      map[subKey]subEntry
	consumers map[string]*middleware.Consumer
	keys      map[[32]byte]*auth.APIKey
}

type subKey struct{ consumer, api string }

type subEntry struct {
	tenant string
	state  SubState
}

// state returns the current snapshot, reloading it when the store's version
// moved (or, with WithRefresh, when the cached one is older than that).
// When the store cannot be reached, the last snapshot keeps serving and the
// failure is logged, unless WithFailClosed is set; without a snapshot, the
// error is returned.
func (p *Platform) state(ctx context.Context) (*snapshot, error) {
	s := p.cur.Load()
	if s != nil && p.refresh > 0 && time.Duration(p.now().UnixNano()-s.checked.Load()) < p.refresh {
		return s, nil
	}
	v, err := p.store.Version(ctx)
	if err != nil {
		if s != nil && !p.closed {
			if !errors.Is(err, middleware.ErrStoreUnavailable) { // else the store reported the outage
				p.log.LogAttrs(ctx, slog.LevelError, "platform: store unreachable; serving the cached state", slog.Any("error", err))
			}
			return s, nil
		}
		return nil, fmt.Errorf("portico/platform: store: %w", err)
	}
	if s != nil && s.version == v {
		if p.refresh > 0 {
			s.checked.Store(p.now().UnixNano())
		}
		return s, nil
	}
	p.loadMu.Lock()
	defer p.loadMu.Unlock()
	if s = p.cur.Load(); s != nil && s.version == v {
		return s, nil
	}
	s, err = p.load(ctx, v, p.cur.Load())
	if err != nil {
		if old := p.cur.Load(); old != nil && !p.closed {
			if !errors.Is(err, middleware.ErrStoreUnavailable) {
				p.log.LogAttrs(ctx, slog.LevelError, "platform: reloading state failed; serving the cached state", slog.Any("error", err))
			}
			return old, nil
		}
		return nil, err
	}
	p.cur.Store(s)
	return s, nil
}

// Run follows the store's change feed, when it has one ([Watcher]), and
// marks the cached state stale on every change, so that with [WithRefresh]
// a change made on another replica is picked up within milliseconds
// instead of within the refresh interval. It blocks until ctx ends and
// returns ctx's error; run it in its own goroutine for the life of the
// gateway. Without a change feed it just waits for ctx.
func (p *Platform) Run(ctx context.Context) error {
	w, ok := p.store.(Watcher)
	if !ok {
		<-ctx.Done()
		return ctx.Err()
	}
	return w.Watch(ctx, func() {
		if s := p.cur.Load(); s != nil {
			s.checked.Store(0)
		}
	})
}

func (p *Platform) load(ctx context.Context, v uint64, prev *snapshot) (*snapshot, error) {
	s := &snapshot{version: v, apis: map[string]*API{}, subs: map[subKey]subEntry{},
		consumers: map[string]*middleware.Consumer{}, keys: map[[32]byte]*auth.APIKey{}}
	apis, err := list[API](ctx, p, kindAPI, nil)
	if err != nil {
		return nil, err
	}
	for i := range apis {
		s.apis[apis[i].ID] = &apis[i]
	}
	subs, err := list[Subscription](ctx, p, kindSub, nil)
	if err != nil {
		return nil, err
	}
	for _, sub := range subs {
		s.subs[subKey{sub.Consumer, sub.API}] = subEntry{sub.Tenant, sub.State}
	}
	consumers, err := list[ConsumerRecord](ctx, p, kindConsumer, nil)
	if err != nil {
		return nil, err
	}
	for i := range consumers {
		c := &consumers[i]
		mc := &c.Consumer
		// Keep the previous pointer for an unchanged consumer, so caches
		// keyed on it (the API key authenticator's) stay warm.
		if prev != nil {
			if old := prev.consumers[c.ID]; old != nil && sameConsumer(old, mc) {
				mc = old
			}
		}
		s.consumers[c.ID] = mc
	}
	keys, err := list[Key](ctx, p, kindKey, nil)
	if err != nil {
		return nil, err
	}
	for _, k := range keys {
		var h [32]byte
		if _, err := hex.Decode(h[:], []byte(k.Hash)); err != nil || len(k.Hash) != 64 {
			return nil, fmt.Errorf("portico/platform: key %q has a bad hash", k.ID)
		}
		s.keys[h] = &auth.APIKey{ID: k.ID, Consumer: k.Consumer, Hash: h, Expires: k.Expires}
	}
	s.checked.Store(p.now().UnixNano())
	return s, nil
}

func sameConsumer(a, b *middleware.Consumer) bool {
	return a.ID == b.ID && a.Tenant == b.Tenant && a.Plan == b.Plan &&
		slices.Equal(a.Scopes, b.Scopes) && slices.Equal(a.Roles, b.Roles) && maps.Equal(a.Metadata, b.Metadata)
}

// Identities returns the platform's consumers and keys as the stores the
// middleware API key authenticator reads:
//
//	id := p.Identities()
//	auth := auth.NewAPIKeyAuth(auth.APIKeyConfig{Keys: id, Consumers: id})
//
// A key created or deleted through the admin API works, or stops working,
// on the next request.
func (p *Platform) Identities() *Identities { return &Identities{p: p} }

// KeyAuth returns an API key authenticator over the platform's keys and
// consumers, for auth.New or a gateway's named
// authenticators. cfg's other fields (headers, query parameter, clock)
// apply; its Keys and Consumers are replaced.
func (p *Platform) KeyAuth(cfg auth.APIKeyConfig) *auth.APIKeyAuth {
	id := p.Identities()
	cfg.Keys, cfg.Consumers = id, id
	return auth.NewAPIKeyAuth(cfg)
}

// Identities implements auth.APIKeyStore and
// middleware.ConsumerRegistry over a [Platform]. It is safe for concurrent
// use.
type Identities struct{ p *Platform }

// APIKey implements auth.APIKeyStore.
func (i *Identities) APIKey(ctx context.Context, h [32]byte) (*auth.APIKey, error) {
	s, err := i.p.state(ctx)
	if err != nil {
		return nil, err
	}
	k := s.keys[h]
	if k == nil {
		return nil, auth.ErrUnknownAPIKey
	}
	return k, nil
}

// Consumer implements middleware.ConsumerRegistry. The returned value is
// shared and must not be modified.
func (i *Identities) Consumer(ctx context.Context, id string) (*middleware.Consumer, error) {
	s, err := i.p.state(ctx)
	if err != nil {
		return nil, err
	}
	c := s.consumers[id]
	if c == nil {
		return nil, middleware.ErrUnknownConsumer
	}
	return c, nil
}
