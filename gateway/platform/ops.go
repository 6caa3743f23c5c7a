package platform

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/portico-dev/portico/middleware/auth"
)

// CreateTenant adds a tenant. It fails with [ErrConflict] if the ID is
// taken.
func (p *Platform) CreateTenant(ctx context.Context, actor string, t Tenant) (*Tenant, error) {
	if err := checkID("tenant id", t.ID); err != nil {
		return nil, err
	}
	t.Created = p.now().UTC()
	out, err := update(ctx, p, kindTenant, t.ID, func(_ *Tenant, exists bool) (*Tenant, error) {
		if exists {
			return nil, fmt.Errorf("%w: tenant %q exists", ErrConflict, t.ID)
		}
		return &t, nil
	})
	if err != nil {
		return nil, err
	}
	return out, p.audit(ctx, Entry{Actor: actor, Action: "tenant.create", Kind: kindTenant, ID: t.ID, Tenant: t.ID})
}

// Tenant returns the tenant with the given ID.
func (p *Platform) Tenant(ctx context.Context, id string) (*Tenant, error) {
	var t Tenant
	return &t, p.get(ctx, kindTenant, id, &t)
}

// Tenants lists the tenants.
func (p *Platform) Tenants(ctx context.Context) ([]Tenant, error) {
	return list[Tenant](ctx, p, kindTenant, nil)
}

// DeleteTenant removes an empty tenant. A tenant that still has consumers
// or APIs fails with [ErrConflict]: delete those first.
func (p *Platform) DeleteTenant(ctx context.Context, actor, id string) error {
	if _, err := p.Tenant(ctx, id); err != nil {
		return err
	}
	consumers, err := p.Consumers(ctx, id)
	if err != nil {
		return err
	}
	apis, err := list(ctx, p, kindAPI, func(a *API) bool { return a.Tenant == id })
	if err != nil {
		return err
	}
	if len(consumers) > 0 || len(apis) > 0 {
		return fmt.Errorf("%w: tenant %q still has %d consumers and %d APIs; delete them first", ErrConflict, id, len(consumers), len(apis))
	}
	if _, err := update(ctx, p, kindTenant, id, func(*Tenant, bool) (*Tenant, error) { return nil, nil }); err != nil {
		return err
	}
	return p.audit(ctx, Entry{Actor: actor, Action: "tenant.delete", Kind: kindTenant, ID: id, Tenant: id})
}

// CreateConsumer adds a consumer to its tenant. The tenant must exist and
// the consumer ID must be unused in every tenant.
func (p *Platform) CreateConsumer(ctx context.Context, actor string, c ConsumerRecord) (*ConsumerRecord, error) {
	if err := checkID("consumer id", c.ID); err != nil {
		return nil, err
	}
	if _, err := p.Tenant(ctx, c.Tenant); err != nil {
		return nil, err
	}
	if err := checkStored(c); err != nil {
		return nil, err
	}
	c.Created = p.now().UTC()
	out, err := update(ctx, p, kindConsumer, c.ID, func(_ *ConsumerRecord, exists bool) (*ConsumerRecord, error) {
		if exists {
			return nil, fmt.Errorf("%w: consumer %q exists", ErrConflict, c.ID)
		}
		return &c, nil
	})
	if err != nil {
		return nil, err
	}
	return out, p.audit(ctx, Entry{Actor: actor, Action: "consumer.create", Kind: kindConsumer, ID: c.ID, Tenant: c.Tenant})
}

// UpdateConsumer replaces the name, plan, scopes, roles and metadata of
// consumer c.ID of c.Tenant. A consumer of another tenant is reported as
// [ErrNotFound]. The change applies to the consumer's next request.
func (p *Platform) UpdateConsumer(ctx context.Context, actor string, c ConsumerRecord) (*ConsumerRecord, error) {
	if err := checkStored(c); err != nil {
		return nil, err
	}
	out, err := update(ctx, p, kindConsumer, c.ID, func(cur *ConsumerRecord, exists bool) (*ConsumerRecord, error) {
		if !exists || cur.Tenant != c.Tenant {
			return nil, fmt.Errorf("%w: consumer %q in tenant %q", ErrNotFound, c.ID, c.Tenant)
		}
		cur.Name, cur.Plan, cur.Scopes, cur.Roles, cur.Metadata = c.Name, c.Plan, c.Scopes, c.Roles, c.Metadata
		return cur, nil
	})
	if err != nil {
		return nil, err
	}
	return out, p.audit(ctx, Entry{Actor: actor, Action: "consumer.update", Kind: kindConsumer, ID: c.ID, Tenant: c.Tenant})
}

// checkStored refuses the fields of a consumer that only a request has.
func checkStored(c ConsumerRecord) error {
	if c.Credential != "" || c.Method != "" {
		return fmt.Errorf("%w: a consumer's credential and method are set per request by the authenticator; leave them out", ErrInvalid)
	}
	return nil
}

// Consumer returns consumer id of tenant. A consumer of another tenant is
// reported as [ErrNotFound].
func (p *Platform) Consumer(ctx context.Context, tenant, id string) (*ConsumerRecord, error) {
	var c ConsumerRecord
	if err := p.get(ctx, kindConsumer, id, &c); err != nil {
		return nil, err
	}
	if c.Tenant != tenant {
		return nil, fmt.Errorf("%w: consumer %q in tenant %q", ErrNotFound, id, tenant)
	}
	return &c, nil
}

// Consumers lists the consumers of tenant.
func (p *Platform) Consumers(ctx context.Context, tenant string) ([]ConsumerRecord, error) {
	return list(ctx, p, kindConsumer, func(c *ConsumerRecord) bool { return c.Tenant == tenant })
}

// DeleteConsumer removes consumer id of tenant, its keys and its
// subscriptions.
func (p *Platform) DeleteConsumer(ctx context.Context, actor, tenant, id string) error {
	if _, err := p.Consumer(ctx, tenant, id); err != nil {
		return err
	}
	keys, err := p.Keys(ctx, tenant, id)
	if err != nil {
		return err
	}
	for _, k := range keys {
		if err := p.DeleteKey(ctx, actor, tenant, k.ID); err != nil {
			return err
		}
	}
	subs, err := p.Subscriptions(ctx, SubFilter{Tenant: tenant, Consumer: id})
	if err != nil {
		return err
	}
	for _, s := range subs {
		if _, err := update(ctx, p, kindSub, s.ID, func(*Subscription, bool) (*Subscription, error) { return nil, nil }); err != nil {
			return err
		}
	}
	if _, err := update(ctx, p, kindConsumer, id, func(*ConsumerRecord, bool) (*ConsumerRecord, error) { return nil, nil }); err != nil {
		return err
	}
	return p.audit(ctx, Entry{Actor: actor, Action: "consumer.delete", Kind: kindConsumer, ID: id, Tenant: tenant})
}

// CreateKey creates an API key for consumer id of tenant and returns it
// with its secret. The secret is not stored, only its SHA-256 hash
// (auth.HashAPIKey): it cannot be shown again. A zero expires means
// the key does not expire.
func (p *Platform) CreateKey(ctx context.Context, actor, tenant, consumer string, expires time.Time) (*Key, string, error) {
	if _, err := p.Consumer(ctx, tenant, consumer); err != nil {
		return nil, "", err
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return nil, "", err
	}
	secret := "pk_" + base64.RawURLEncoding.EncodeToString(raw)
	h := auth.HashAPIKey(secret)
	k := Key{
		ID: "key_" + randomHex(8), Tenant: tenant, Consumer: consumer,
		Hash: hex.EncodeToString(h[:]), Prefix: secret[:7], Created: p.now().UTC(), Expires: expires.UTC(),
	}
	if expires.IsZero() {
		k.Expires = time.Time{}
	}
	if _, err := update(ctx, p, kindKey, k.ID, func(*Key, bool) (*Key, error) { return &k, nil }); err != nil {
		return nil, "", err
	}
	k.Hash = ""
	return &k, secret, p.audit(ctx, Entry{Actor: actor, Action: "key.create", Kind: kindKey, ID: k.ID, Tenant: tenant, Detail: "consumer " + consumer})
}

// Keys lists the keys of consumer of tenant, without secrets.
func (p *Platform) Keys(ctx context.Context, tenant, consumer string) ([]Key, error) {
	return list(ctx, p, kindKey, func(k *Key) bool {
		k.Hash = ""
		return k.Tenant == tenant && k.Consumer == consumer
	})
}

// DeleteKey revokes key id of tenant. A key of another tenant is reported
// as [ErrNotFound].
func (p *Platform) DeleteKey(ctx context.Context, actor, tenant, id string) error {
	_, err := update(ctx, p, kindKey, id, func(k *Key, exists bool) (*Key, error) {
		if !exists || k.Tenant != tenant {
			return nil, fmt.Errorf("%w: key %q in tenant %q", ErrNotFound, id, tenant)
		}
		return nil, nil
	})
	if err != nil {
		return err
	}
	return p.audit(ctx, Entry{Actor: actor, Action: "key.delete", Kind: kindKey, ID: id, Tenant: tenant})
}

// PutAPI creates or replaces an API. Its owner tenant must exist. Empty
// Visibility, Approval and State default to [Public], [Manual] and [Draft].
// Use [Platform.SetState] to move an existing API through its lifecycle.
func (p *Platform) PutAPI(ctx context.Context, actor string, a API) (*API, error) {
	if err := checkID("api id", a.ID); err != nil {
		return nil, err
	}
	if _, err := p.Tenant(ctx, a.Tenant); err != nil {
		return nil, err
	}
	a.Visibility = cmpOr(a.Visibility, Public)
	a.Approval = cmpOr(a.Approval, Manual)
	a.State = cmpOr(a.State, Draft)
	if err := validAPI(&a); err != nil {
		return nil, err
	}
	action := "api.create"
	out, err := update(ctx, p, kindAPI, a.ID, func(cur *API, exists bool) (*API, error) {
		a.Created = p.now().UTC()
		if exists {
			if cur.Tenant != a.Tenant {
				return nil, fmt.Errorf("%w: api %q belongs to another tenant", ErrConflict, a.ID)
			}
			action, a.Created = "api.update", cur.Created
		}
		return &a, nil
	})
	if err != nil {
		return nil, err
	}
	return out, p.audit(ctx, Entry{Actor: actor, Action: action, Kind: kindAPI, ID: a.ID, Tenant: a.Tenant, Detail: string(a.State)})
}

func validAPI(a *API) error {
	switch {
	case !slices.Contains([]Visibility{Public, TenantOnly}, a.Visibility):
		return fmt.Errorf("%w: visibility %q: use %q or %q", ErrInvalid, a.Visibility, Public, TenantOnly)
	case !slices.Contains([]Approval{Auto, Manual}, a.Approval):
		return fmt.Errorf("%w: approval %q: use %q or %q", ErrInvalid, a.Approval, Auto, Manual)
	case !slices.Contains([]State{Draft, Published, Deprecated, Retired}, a.State):
		return fmt.Errorf("%w: state %q: use draft, published, deprecated or retired", ErrInvalid, a.State)
	case !a.Sunset.IsZero() && !a.Deprecated.IsZero() && a.Sunset.Before(a.Deprecated):
		return fmt.Errorf("%w: sunset is before deprecated: the sunset must come last", ErrInvalid)
	case strings.ContainsAny(a.Successor, "<> \t\r\n\""):
		return fmt.Errorf("%w: successor %q is not a URL or path: it may not hold spaces, quotes or angle brackets", ErrInvalid, a.Successor)
	case strings.ContainsAny(a.Docs, "<> \t\r\n\""):
		return fmt.Errorf("%w: docs %q is not a URL: it may not hold spaces, quotes or angle brackets", ErrInvalid, a.Docs)
	}
	return nil
}

func cmpOr[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// API returns the API with the given ID.
func (p *Platform) API(ctx context.Context, id string) (*API, error) {
	var a API
	return &a, p.get(ctx, kindAPI, id, &a)
}

// APIs lists the APIs tenant may see: published, deprecated and retired
// APIs that are public or its own. An empty tenant lists every API,
// drafts included (an operator's view).
func (p *Platform) APIs(ctx context.Context, tenant string) ([]API, error) {
	return list(ctx, p, kindAPI, func(a *API) bool { return tenant == "" || a.visibleTo(tenant) })
}

// Lifecycle describes a move of an API to another [State].
type Lifecycle struct {
	State State `json:"state"`
	// Sunset, for a deprecated API, is when it retires (answers 410).
	Sunset time.Time `json:"sunset,omitzero"`
	// Successor names the API that replaces it.
	Successor string `json:"successor,omitempty"`
}

// SetState moves API id to l.State. Deprecating records the time (the
// Deprecation header) and the sunset; retiring makes it answer 410 at once.
func (p *Platform) SetState(ctx context.Context, actor, id string, l Lifecycle) (*API, error) {
	now := p.now().UTC()
	out, err := update(ctx, p, kindAPI, id, func(a *API, exists bool) (*API, error) {
		if !exists {
			return nil, fmt.Errorf("%w: api %q", ErrNotFound, id)
		}
		if a.State == Retired && l.State != Retired {
			return nil, fmt.Errorf("%w: api %q is retired; publish a new API instead", ErrConflict, id)
		}
		a.State = l.State
		switch l.State {
		case Published:
			a.Deprecated, a.Sunset = time.Time{}, time.Time{}
		case Deprecated:
			a.Deprecated = now
			a.Sunset = l.Sunset.UTC()
			if l.Sunset.IsZero() {
				a.Sunset = time.Time{}
			}
		case Retired:
			if a.Deprecated.IsZero() {
				a.Deprecated = now
			}
			if a.Sunset.IsZero() || a.Sunset.After(now) {
				a.Sunset = now
			}
		}
		if l.Successor != "" {
			a.Successor = l.Successor
		}
		if err := validAPI(a); err != nil {
			return nil, err
		}
		return a, nil
	})
	if err != nil {
		return nil, err
	}
	return out, p.audit(ctx, Entry{Actor: actor, Action: "api.state", Kind: kindAPI, ID: id, Tenant: out.Tenant, Detail: string(l.State)})
}
