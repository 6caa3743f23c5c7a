package platform

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/portico-dev/portico/gateway/calllog"
	"github.com/portico-dev/portico/middleware"
	"github.com/portico-dev/portico/openapi"
)

// Platform manages tenants, consumers, keys, APIs and subscriptions in a
// [Store], checks subscriptions on the request path ([Platform.Guard]) and
// serves the admin API, the catalog and the dashboard ([Platform.Admin]).
// It is safe for concurrent use; several Platforms (one per replica) may
// share one Store.
type Platform struct {
	store     Store
	now       func() time.Time
	log       *slog.Logger
	refresh   time.Duration
	ring      *calllog.Ring
	agg       *calllog.Aggregator
	admins    []adminToken
	adminAuth func(*http.Request) (string, bool)
	subURL    string
	title     string
	closed    bool
	docs      map[string]*openapi.Spec
	docsFunc  func(api string) (*openapi.Spec, bool)
	docPages  sync.Map // *openapi.Spec → *openapi.Docs, built once each
	pages     *template.Template
	sess      sessions
	psess     sessions // the portal's signed-in consumers
	health    func() []UpstreamHealth
	quotaLeft func(context.Context, *middleware.Consumer) []QuotaLeft
	currency  string

	cur    atomic.Pointer[snapshot]
	loadMu sync.Mutex
}

// Option configures a [Platform].
type Option interface{ apply(*Platform) }

type optionFunc func(*Platform)

func (f optionFunc) apply(p *Platform) { f(p) }

// WithClock sets the clock used for timestamps and lifecycle dates.
// By default, time.Now is used.
func WithClock(now func() time.Time) Option {
	return optionFunc(func(p *Platform) { p.now = now })
}

// WithLogger sets the logger for store failures. By default, slog.Default().
func WithLogger(l *slog.Logger) Option {
	return optionFunc(func(p *Platform) { p.log = l })
}

// WithRefresh sets how long a replica trusts its cached state before it
// asks the store for the version again. By default it asks on every
// request, so a change made on any replica is effective on the next request
// everywhere: with the file store that is an atomic load, with Redis one
// GET. A positive duration trades that for fewer round trips: changes then
// take up to d to reach other replicas (never the replica that made them).
func WithRefresh(d time.Duration) Option {
	if d < 0 {
		panic("portico/platform: WithRefresh needs a duration >= 0")
	}
	return optionFunc(func(p *Platform) { p.refresh = d })
}

// WithFailClosed makes [Platform.Guard] and the key lookups answer 503
// while the store cannot be reached. By default a replica keeps serving
// the state it cached last (and logs the failure), so a Redis outage does
// not take every API down; revocations made during the outage then wait
// for the store to return.
func WithFailClosed() Option {
	return optionFunc(func(p *Platform) { p.closed = true })
}

// WithAPIDocs serves the documentation page of API api, rendered from its
// OpenAPI document by the openapi package (embedded, offline), under
// /apis/<api>/docs/ of [Platform.Admin], and links it from the catalog
// when the API has no Docs URL of its own. It panics if spec is nil or api
// is not a valid ID.
func WithAPIDocs(api string, spec *openapi.Spec) Option {
	if spec == nil {
		panic("portico/platform: WithAPIDocs needs a spec")
	}
	if err := checkID("api id", api); err != nil {
		panic("portico/platform: WithAPIDocs: " + err.Error())
	}
	return optionFunc(func(p *Platform) {
		if p.docs == nil {
			p.docs = make(map[string]*openapi.Spec)
		}
		p.docs[api] = spec
	})
}

// WithAPIDocsFunc looks up the OpenAPI document of an API each time its
// documentation is asked for, after those of [WithAPIDocs]: for a
// gateway that learns its APIs' documents as it builds (the config file's
// apis whose policy names a subscription). f must be safe for concurrent
// use and report false for an API it does not document.
func WithAPIDocsFunc(f func(api string) (*openapi.Spec, bool)) Option {
	return optionFunc(func(p *Platform) { p.docsFunc = f })
}

// apiDocs returns the OpenAPI document of API id, if it has one.
func (p *Platform) apiDocs(id string) (*openapi.Spec, bool) {
	if s, ok := p.docs[id]; ok {
		return s, true
	}
	if p.docsFunc != nil {
		return p.docsFunc(id)
	}
	return nil, false
}

// WithCallLog gives the admin API and the dashboard the call records and
// aggregates to show. Either may be nil. By default there are none.
func WithCallLog(ring *calllog.Ring, agg *calllog.Aggregator) Option {
	return optionFunc(func(p *Platform) { p.ring, p.agg = ring, agg })
}

// WithSubscribeURL sets the URL that refusals for a missing subscription
// name as the place to subscribe (see [Platform.Subscribe]).
// By default, "/subscriptions".
func WithSubscribeURL(u string) Option {
	return optionFunc(func(p *Platform) { p.subURL = u })
}

// SubscribeURL returns the URL that refusals name as the place to
// subscribe (see [WithSubscribeURL]), where [Platform.Portal] belongs.
func (p *Platform) SubscribeURL() string { return p.subURL }

// WithTitle sets the title of the catalog and the dashboard pages.
// By default, "Portico".
func WithTitle(t string) Option {
	return optionFunc(func(p *Platform) { p.title = t })
}

// New returns a Platform over store. It panics if store is nil.
func New(store Store, opts ...Option) *Platform {
	if store == nil {
		panic("portico/platform: New needs a Store")
	}
	p := &Platform{store: store, now: time.Now, subURL: "/subscriptions", title: "Portico", currency: "USD", pages: parsePages()}
	for _, o := range opts {
		if o != nil {
			o.apply(p)
		}
	}
	if p.log == nil {
		p.log = slog.Default()
	}
	return p
}

// Kinds of values in the [Store].
const (
	kindTenant   = "tenant"
	kindConsumer = "consumer"
	kindKey      = "key"
	kindAPI      = "api"
	kindSub      = "subscription"
	kindAudit    = "audit"
)

// get decodes the value of kind and id into v.
func (p *Platform) get(ctx context.Context, kind, id string, v any) error {
	b, err := p.store.Get(ctx, kind, id)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w: %s %q", ErrNotFound, kind, id)
	}
	if err != nil {
		return fmt.Errorf("portico/platform: store: %w", err)
	}
	return json.Unmarshal(b, v)
}

// list decodes every value of kind.
func list[T any](ctx context.Context, p *Platform, kind string, keep func(*T) bool) ([]T, error) {
	raw, err := p.store.List(ctx, kind)
	if err != nil {
		return nil, fmt.Errorf("portico/platform: store: %w", err)
	}
	out := make([]T, 0, len(raw))
	for _, b := range raw {
		var v T
		if err := json.Unmarshal(b, &v); err != nil {
			return nil, fmt.Errorf("portico/platform: store holds a bad %s: %w", kind, err)
		}
		if keep == nil || keep(&v) {
			out = append(out, v)
		}
	}
	return out, nil
}

// update runs fn on the decoded value of kind and id (zero and false when
// absent) and stores its result; fn returns nil to delete.
func update[T any](ctx context.Context, p *Platform, kind, id string, fn func(cur *T, exists bool) (*T, error)) (*T, error) {
	var out *T
	err := p.store.Update(ctx, kind, id, func(old []byte) ([]byte, error) {
		var cur T
		if old != nil {
			if err := json.Unmarshal(old, &cur); err != nil {
				return nil, fmt.Errorf("portico/platform: store holds a bad %s: %w", kind, err)
			}
		}
		next, err := fn(&cur, old != nil)
		if err != nil {
			return nil, err
		}
		out = next
		if next == nil {
			return nil, nil
		}
		return json.Marshal(next)
	})
	return out, err
}

// audit appends an entry to the audit log.
func (p *Platform) audit(ctx context.Context, e Entry) error {
	e.Time = p.now().UTC()
	id := fmt.Sprintf("%020d-%s", e.Time.UnixNano(), randomHex(4))
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	if err := p.store.Update(ctx, kindAudit, id, func([]byte) ([]byte, error) { return b, nil }); err != nil {
		return fmt.Errorf("portico/platform: writing the audit log: %w", err)
	}
	return nil
}

// Audit returns the audit log, oldest first; restricted to one tenant's
// entries unless tenant is empty.
func (p *Platform) Audit(ctx context.Context, tenant string) ([]Entry, error) {
	return list(ctx, p, kindAudit, func(e *Entry) bool { return tenant == "" || e.Tenant == tenant })
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
