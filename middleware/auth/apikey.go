package auth

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/portico-dev/portico/middleware"
)

// APIKey is one API key of a consumer. Only the SHA-256 hash of the secret
// is kept; a consumer may hold several active keys so that keys can be
// rotated without downtime.
type APIKey struct {
	// ID names the key in logs, rate-limit keys and [middleware.Consumer.Credential];
	// it is not secret. Required.
	ID string
	// Consumer is the ID of the consumer the key belongs to. Required.
	Consumer string
	// Hash is the SHA-256 hash of the secret; see [HashAPIKey] and
	// [ParseAPIKeyHash].
	Hash [32]byte
	// Expires is when the key stops working. The zero time means never.
	Expires time.Time
}

// HashAPIKey returns the SHA-256 hash of an API key secret.
func HashAPIKey(secret string) [32]byte { return sha256.Sum256([]byte(secret)) }

// ParseAPIKeyHash parses a key hash written as 64 hex digits, optionally
// prefixed with "sha256:", as found in a configuration file.
func ParseAPIKeyHash(s string) ([32]byte, error) {
	var h [32]byte
	s = strings.TrimPrefix(strings.TrimSpace(s), "sha256:")
	if len(s) != 64 {
		return h, fmt.Errorf("portico/auth: API key hash has %d characters; want 64 hex digits of a SHA-256 hash (optionally prefixed with \"sha256:\")", len(s))
	}
	if _, err := hex.Decode(h[:], []byte(s)); err != nil {
		return h, fmt.Errorf("portico/auth: API key hash is not hex: %w", err)
	}
	return h, nil
}

// ErrUnknownAPIKey is returned by an [APIKeyStore] for a hash it does not hold.
var ErrUnknownAPIKey = errors.New("portico/auth: unknown API key")

// APIKeyStore finds API keys by the hash of their secret. Implementations
// must be safe for concurrent use.
type APIKeyStore interface {
	// APIKey returns the key whose hash is h, or an error wrapping
	// [ErrUnknownAPIKey].
	APIKey(ctx context.Context, h [32]byte) (*APIKey, error)
}

// MemoryAPIKeys is the in-memory [APIKeyStore]. The zero value is empty and
// ready to use; it is safe for concurrent use.
type MemoryAPIKeys struct {
	mu sync.RWMutex
	m  map[[32]byte]*APIKey
}

// NewMemoryAPIKeys returns a store holding keys. It panics on a key without ID
// or consumer, and on two keys with the same hash.
func NewMemoryAPIKeys(keys ...APIKey) *MemoryAPIKeys {
	s := &MemoryAPIKeys{m: make(map[[32]byte]*APIKey, len(keys))}
	for _, k := range keys {
		if _, dup := s.m[k.Hash]; dup {
			panic("portico/auth: NewMemoryAPIKeys got two keys with the same hash (key " + k.ID + ")")
		}
		s.Put(k)
	}
	return s
}

// Put adds or replaces a key.
func (s *MemoryAPIKeys) Put(k APIKey) {
	if k.ID == "" || k.Consumer == "" {
		panic("portico/auth: APIKey needs an ID and a Consumer")
	}
	s.mu.Lock()
	if s.m == nil {
		s.m = make(map[[32]byte]*APIKey)
	}
	s.m[k.Hash] = &k
	s.mu.Unlock()
}

// Delete removes the key with the given ID (revocation).
func (s *MemoryAPIKeys) Delete(id string) {
	s.mu.Lock()
	for h, k := range s.m {
		if k.ID == id {
			delete(s.m, h)
		}
	}
	s.mu.Unlock()
}

// APIKey implements [APIKeyStore]. The map is indexed by the hash, so the
// lookup time reveals nothing about the secret; the final comparison is
// constant-time.
func (s *MemoryAPIKeys) APIKey(_ context.Context, h [32]byte) (*APIKey, error) {
	s.mu.RLock()
	k, ok := s.m[h]
	s.mu.RUnlock()
	if !ok || subtle.ConstantTimeCompare(k.Hash[:], h[:]) != 1 {
		return nil, ErrUnknownAPIKey
	}
	return k, nil
}

// APIKeyConfig configures [NewAPIKeyAuth]. Keys and Consumers are required.
type APIKeyConfig struct {
	// Keys holds the key hashes.
	Keys APIKeyStore
	// Consumers resolves a key's consumer.
	Consumers middleware.ConsumerRegistry
	// Headers are the request headers a key is read from, in order.
	// "Authorization" is read with the Bearer scheme; any other header
	// holds the bare key. If nil, "Authorization" and "X-API-Key" are used.
	Headers []string
	// Query is a query parameter the key may be read from. Keys in URLs end
	// up in logs, so by default none is used.
	Query string
	// Now returns the current time for expiry checks. If nil, time.Now is used.
	Now func() time.Time
}

// APIKeyAuth is an [Authenticator] for API keys. It is safe for concurrent use.
type APIKeyAuth struct {
	keys      APIKeyStore
	consumers middleware.ConsumerRegistry
	headers   []string // canonical
	names     []string // as configured
	query     string
	now       func() time.Time
	derived   sync.Map // key ID -> *derivedConsumer
}

type derivedConsumer struct{ base, c *middleware.Consumer }

// NewAPIKeyAuth returns an API key authenticator. It panics if Keys or
// Consumers is nil.
func NewAPIKeyAuth(cfg APIKeyConfig) *APIKeyAuth {
	if cfg.Keys == nil || cfg.Consumers == nil {
		panic("portico/auth: NewAPIKeyAuth needs Keys and Consumers")
	}
	a := &APIKeyAuth{keys: cfg.Keys, consumers: cfg.Consumers, query: cfg.Query, now: cfg.Now}
	if a.now == nil {
		a.now = time.Now
	}
	headers := cfg.Headers
	if headers == nil {
		headers = []string{"Authorization", "X-API-Key"}
	}
	a.names = slices.Clone(headers)
	for _, h := range headers {
		a.headers = append(a.headers, http.CanonicalHeaderKey(h))
	}
	if len(a.headers) == 0 && a.query == "" {
		panic("portico/auth: NewAPIKeyAuth needs a header or a query parameter to read keys from")
	}
	return a
}

// Headers returns the request headers a key is read from, in order, as
// [APIKeyConfig].Headers names them; "Authorization" is read with the
// Bearer scheme.
func (a *APIKeyAuth) Headers() []string { return slices.Clone(a.names) }

// Query returns the query parameter a key may be read from, or "" if none.
func (a *APIKeyAuth) Query() string { return a.query }

// Challenge implements [Challenger].
func (a *APIKeyAuth) Challenge(realm string) string {
	for _, h := range a.headers {
		if h == "Authorization" {
			return "Bearer realm=" + quoteParam(realm)
		}
	}
	if len(a.headers) == 0 {
		return "APIKey realm=" + quoteParam(realm) + ", query=" + quoteParam(a.query)
	}
	return "APIKey realm=" + quoteParam(realm) + ", header=" + quoteParam(a.headers[0])
}

// Authenticate implements [Authenticator].
func (a *APIKeyAuth) Authenticate(r *http.Request) (*middleware.Consumer, error) {
	secret, _, ok := a.secret(r)
	if !ok {
		return nil, ErrNoCredentials
	}
	k, err := a.keys.APIKey(r.Context(), HashAPIKey(secret))
	if err != nil {
		if errors.Is(err, ErrUnknownAPIKey) {
			return nil, fmt.Errorf("%w: unknown API key", ErrInvalidCredentials)
		}
		return nil, fmt.Errorf("%w: API key store: %w", ErrUnavailable, err)
	}
	if !k.Expires.IsZero() && !a.now().Before(k.Expires) {
		return nil, fmt.Errorf("%w: API key %s expired", ErrInvalidCredentials, k.ID)
	}
	base, err := a.consumers.Consumer(r.Context(), k.Consumer)
	if err != nil {
		if errors.Is(err, middleware.ErrUnknownConsumer) {
			return nil, fmt.Errorf("%w: API key %s belongs to unknown consumer", ErrInvalidCredentials, k.ID)
		}
		return nil, fmt.Errorf("%w: consumer registry: %w", ErrUnavailable, err)
	}
	// The registry returns an immutable value; derive a copy carrying the
	// key ID once per registry version, not once per request.
	if d, ok := a.derived.Load(k.ID); ok && d.(*derivedConsumer).base == base {
		return d.(*derivedConsumer).c, nil
	}
	c := base.Clone()
	c.Credential = k.ID
	c.Method = "apikey"
	a.derived.Store(k.ID, &derivedConsumer{base: base, c: c})
	return c, nil
}

// LocateCredential implements [CredentialLocator]: the first header, or
// else the query parameter, that holds a key.
func (a *APIKeyAuth) LocateCredential(r *http.Request) (CredentialSource, bool) {
	_, src, ok := a.secret(r)
	return src, ok
}

// secret returns the key r carries and where it was.
func (a *APIKeyAuth) secret(r *http.Request) (string, CredentialSource, bool) {
	for _, h := range a.headers {
		if h == "Authorization" {
			if t, ok := bearerToken(r); ok {
				return t, bearerSource(r), true
			}
			continue
		}
		raw := r.Header.Get(h)
		if v := strings.TrimSpace(raw); v != "" {
			return v, CredentialSource{Header: h, Value: raw}, true
		}
	}
	if a.query != "" {
		if v := r.URL.Query().Get(a.query); v != "" {
			return v, CredentialSource{Query: a.query, Value: v}, true
		}
	}
	return "", CredentialSource{}, false
}
