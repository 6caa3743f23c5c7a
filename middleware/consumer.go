package middleware

import (
	"context"
	"errors"
	"slices"
	"sync"

	"github.com/portico-dev/portico/middleware/internal/ctxkey"
)

// Consumer is who is calling: the identity that authentication establishes
// and that rate limits, quotas, caches, idempotency, authorization, AI
// budgets, subscriptions and call logs key on. It is Portico's one
// identity type: the gateway's configured consumers, the platform's
// stored ones and the callers of the AI endpoints are all Consumers.
//
// Its JSON form is id, tenant, plan, scopes, roles, metadata, credential
// and method. The identity fields are also the keys of a gateway config
// file's consumers and of the platform's stored consumers; those leave
// out Credential and Method (tagged yaml:"-"), which say how one request
// was authenticated and are set by the authenticator.
//
// A Consumer placed in a request context is shared by every later handler
// and must be treated as read-only; use [Consumer.Clone] to derive a
// modified copy.
type Consumer struct {
	// ID identifies the consumer. It is never empty for an authenticated
	// request.
	ID string `json:"id"`
	// Tenant is the team or organisation the consumer belongs to, if any.
	Tenant string `json:"tenant,omitempty"`
	// Plan names the consumer's plan; rate limits may differ per plan.
	Plan string `json:"plan,omitempty"`
	// Scopes are the permissions granted to this request, such as OAuth2
	// scopes from a token.
	Scopes []string `json:"scopes,omitempty"`
	// Roles are coarse-grained permissions, such as "admin".
	Roles []string `json:"roles,omitempty"`
	// Metadata holds free-form attributes.
	Metadata map[string]string `json:"metadata,omitempty"`
	// Credential identifies the credential that authenticated the request:
	// the API key ID, a JWT's "jti" or the certificate serial number. It
	// may be empty.
	Credential string `json:"credential,omitempty" yaml:"-"`
	// Method names the authenticator that succeeded: "apikey", "jwt",
	// "introspection" or "mtls".
	Method string `json:"method,omitempty" yaml:"-"`
}

// HasScope reports whether c was granted scope s.
func (c *Consumer) HasScope(s string) bool { return c != nil && slices.Contains(c.Scopes, s) }

// HasRole reports whether c has role s.
func (c *Consumer) HasRole(s string) bool { return c != nil && slices.Contains(c.Roles, s) }

// Clone returns a deep copy of c.
func (c *Consumer) Clone() *Consumer {
	if c == nil {
		return nil
	}
	d := *c
	d.Scopes = slices.Clone(c.Scopes)
	d.Roles = slices.Clone(c.Roles)
	if c.Metadata != nil {
		d.Metadata = make(map[string]string, len(c.Metadata))
		for k, v := range c.Metadata {
			d.Metadata[k] = v
		}
	}
	return &d
}

// WithConsumer returns a copy of ctx that carries c.
func WithConsumer(ctx context.Context, c *Consumer) context.Context {
	return context.WithValue(ctx, ctxkey.Consumer{}, c)
}

// ConsumerFrom returns the consumer stored in ctx by an authenticator, or
// nil if the request is anonymous.
func ConsumerFrom(ctx context.Context) *Consumer {
	c, _ := ctx.Value(ctxkey.Consumer{}).(*Consumer)
	return c
}

// ErrUnknownConsumer is returned by a [ConsumerRegistry] for an ID it does
// not hold.
var ErrUnknownConsumer = errors.New("portico/middleware: unknown consumer")

// ConsumerRegistry looks consumers up by ID. Implementations must be safe
// for concurrent use and must not modify a returned Consumer afterwards.
type ConsumerRegistry interface {
	// Consumer returns the consumer with the given ID, or an error wrapping
	// [ErrUnknownConsumer].
	Consumer(ctx context.Context, id string) (*Consumer, error)
}

// MemoryConsumers is the in-memory [ConsumerRegistry]. The zero value is empty
// and ready to use; it is safe for concurrent use.
type MemoryConsumers struct {
	mu sync.RWMutex
	m  map[string]*Consumer
}

// NewMemoryConsumers returns a registry holding cs.
// It panics if a consumer has an empty or duplicate ID.
func NewMemoryConsumers(cs ...*Consumer) *MemoryConsumers {
	r := &MemoryConsumers{m: make(map[string]*Consumer, len(cs))}
	for _, c := range cs {
		if c == nil || c.ID == "" {
			panic("portico/middleware: NewMemoryConsumers needs a non-empty Consumer.ID")
		}
		if _, dup := r.m[c.ID]; dup {
			panic("portico/middleware: NewMemoryConsumers got consumer " + c.ID + " twice")
		}
		r.m[c.ID] = c.Clone()
	}
	return r
}

// Put adds or replaces a consumer. The registry keeps a copy of c.
func (r *MemoryConsumers) Put(c *Consumer) {
	if c == nil || c.ID == "" {
		panic("portico/middleware: MemoryConsumers.Put needs a non-empty Consumer.ID")
	}
	r.mu.Lock()
	if r.m == nil {
		r.m = make(map[string]*Consumer)
	}
	r.m[c.ID] = c.Clone()
	r.mu.Unlock()
}

// Delete removes the consumer with the given ID.
func (r *MemoryConsumers) Delete(id string) {
	r.mu.Lock()
	delete(r.m, id)
	r.mu.Unlock()
}

// Consumer implements [ConsumerRegistry]. The returned value is shared and
// must not be modified.
func (r *MemoryConsumers) Consumer(_ context.Context, id string) (*Consumer, error) {
	r.mu.RLock()
	c, ok := r.m[id]
	r.mu.RUnlock()
	if !ok {
		return nil, ErrUnknownConsumer
	}
	return c, nil
}
