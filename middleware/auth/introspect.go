package auth

import (
	"container/list"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/portico-dev/portico/middleware"
)

// IntrospectionConfig configures [NewIntrospectionAuth]. URL is required.
type IntrospectionConfig struct {
	// URL is the RFC 7662 token introspection endpoint.
	URL string
	// ClientID and ClientSecret authenticate the gateway to the endpoint
	// with HTTP Basic authentication, if ClientID is set.
	ClientID, ClientSecret string
	// Client calls the endpoint. If nil, a client with a 10-second timeout
	// is used.
	Client *http.Client
	// CacheSize bounds the number of active results cached. If zero,
	// 10,000 is used; a negative value disables the cache.
	CacheSize int
	// CacheTTL is how long an active result is reused; never past the
	// token's "exp". If zero, one minute is used.
	CacheTTL time.Duration
	// Audience, if set, must be one of the token's "aud" values.
	Audience string
	// Consumers, if set, must know the consumer ID ("sub", or "client_id"
	// for client-credential tokens); the registered consumer is used, with
	// the token's scopes when it has any.
	Consumers middleware.ConsumerRegistry
	// Now returns the current time. If nil, time.Now is used.
	Now func() time.Time
}

// IntrospectionAuth is an [Authenticator] for opaque OAuth2 bearer tokens,
// checked against a token introspection endpoint (RFC 7662). Active
// results are kept in a bounded LRU cache keyed by the token's SHA-256
// hash; inactive tokens are not cached. It is safe for concurrent use.
type IntrospectionAuth struct {
	cfg IntrospectionConfig

	mu    sync.Mutex
	lru   *list.List // of *introspected, most recent first
	items map[[32]byte]*list.Element
}

type introspected struct {
	key     [32]byte
	c       *middleware.Consumer
	expires time.Time
}

// NewIntrospectionAuth returns an introspection authenticator. It panics if
// URL is empty.
func NewIntrospectionAuth(cfg IntrospectionConfig) *IntrospectionAuth {
	if cfg.URL == "" {
		panic("portico/auth: NewIntrospectionAuth needs a URL")
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: 10 * time.Second}
	}
	if cfg.CacheSize == 0 {
		cfg.CacheSize = 10_000
	}
	if cfg.CacheTTL <= 0 {
		cfg.CacheTTL = time.Minute
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &IntrospectionAuth{cfg: cfg, lru: list.New(), items: make(map[[32]byte]*list.Element)}
}

// Challenge implements [Challenger].
func (a *IntrospectionAuth) Challenge(realm string) string {
	return "Bearer realm=" + quoteParam(realm)
}

// CacheLen returns the number of cached active results.
func (a *IntrospectionAuth) CacheLen() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.lru.Len()
}

// LocateCredential implements [CredentialLocator]: the Authorization
// header of the bearer token.
func (a *IntrospectionAuth) LocateCredential(r *http.Request) (CredentialSource, bool) {
	if _, ok := bearerToken(r); !ok {
		return CredentialSource{}, false
	}
	return bearerSource(r), true
}

// Authenticate implements [Authenticator].
func (a *IntrospectionAuth) Authenticate(r *http.Request) (*middleware.Consumer, error) {
	tok, ok := bearerToken(r)
	if !ok {
		return nil, ErrNoCredentials
	}
	if len(tok) > maxTokenBytes {
		return nil, fmt.Errorf("%w: token too long", ErrInvalidCredentials)
	}
	key := sha256.Sum256([]byte(tok))
	now := a.cfg.Now()
	if c := a.cached(key, now); c != nil {
		return c, nil
	}
	res, err := a.introspect(r.Context(), tok)
	if err != nil {
		return nil, err
	}
	c, expires, err := a.consumer(r.Context(), res, now)
	if err != nil {
		return nil, err
	}
	a.store(key, c, expires)
	return c, nil
}

type introspection struct {
	Active   bool            `json:"active"`
	Scope    string          `json:"scope"`
	ClientID string          `json:"client_id"`
	Sub      string          `json:"sub"`
	Exp      int64           `json:"exp"`
	Nbf      int64           `json:"nbf"`
	Aud      json.RawMessage `json:"aud"`
	Jti      string          `json:"jti"`
}

func (a *IntrospectionAuth) introspect(ctx context.Context, tok string) (*introspection, error) {
	form := url.Values{"token": {tok}, "token_type_hint": {"access_token"}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.cfg.URL, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if a.cfg.ClientID != "" {
		req.SetBasicAuth(url.QueryEscape(a.cfg.ClientID), url.QueryEscape(a.cfg.ClientSecret))
	}
	resp, err := a.cfg.Client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: introspection: %w", ErrUnavailable, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%w: introspection answered %s", ErrUnavailable, resp.Status)
	}
	var res introspection
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&res); err != nil {
		return nil, fmt.Errorf("%w: introspection reply: %w", ErrUnavailable, err)
	}
	return &res, nil
}

func (a *IntrospectionAuth) consumer(ctx context.Context, res *introspection, now time.Time) (*middleware.Consumer, time.Time, error) {
	if !res.Active {
		return nil, time.Time{}, fmt.Errorf("%w: token inactive", ErrInvalidCredentials)
	}
	if res.Exp != 0 && !now.Before(time.Unix(res.Exp, 0)) {
		return nil, time.Time{}, fmt.Errorf("%w: token expired", ErrInvalidCredentials)
	}
	if res.Nbf != 0 && now.Before(time.Unix(res.Nbf, 0)) {
		return nil, time.Time{}, fmt.Errorf("%w: token not yet valid", ErrInvalidCredentials)
	}
	if a.cfg.Audience != "" && !audienceHas(res.Aud, a.cfg.Audience) {
		return nil, time.Time{}, fmt.Errorf("%w: token audience does not match", ErrInvalidCredentials)
	}
	id := res.Sub
	if id == "" {
		id = res.ClientID
	}
	if id == "" {
		return nil, time.Time{}, fmt.Errorf("%w: token names no subject or client", ErrInvalidCredentials)
	}
	scopes := strings.Fields(res.Scope)
	var c *middleware.Consumer
	if a.cfg.Consumers != nil {
		base, err := a.cfg.Consumers.Consumer(ctx, id)
		if err != nil {
			if errors.Is(err, middleware.ErrUnknownConsumer) {
				return nil, time.Time{}, fmt.Errorf("%w: token for unknown consumer", ErrInvalidCredentials)
			}
			return nil, time.Time{}, fmt.Errorf("%w: consumer registry: %w", ErrUnavailable, err)
		}
		c = base.Clone()
		if res.Scope != "" {
			c.Scopes = scopes
		}
	} else {
		c = &middleware.Consumer{ID: id, Scopes: scopes}
	}
	c.Credential, c.Method = res.Jti, "introspection"
	expires := now.Add(a.cfg.CacheTTL)
	if res.Exp != 0 {
		if e := time.Unix(res.Exp, 0); e.Before(expires) {
			expires = e
		}
	}
	return c, expires, nil
}

func audienceHas(raw json.RawMessage, want string) bool {
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return one == want
	}
	var many []string
	if json.Unmarshal(raw, &many) == nil {
		for _, a := range many {
			if a == want {
				return true
			}
		}
	}
	return false
}

func (a *IntrospectionAuth) cached(key [32]byte, now time.Time) *middleware.Consumer {
	if a.cfg.CacheSize < 0 {
		return nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	e, ok := a.items[key]
	if !ok {
		return nil
	}
	it := e.Value.(*introspected)
	if !now.Before(it.expires) {
		a.lru.Remove(e)
		delete(a.items, key)
		return nil
	}
	a.lru.MoveToFront(e)
	return it.c
}

func (a *IntrospectionAuth) store(key [32]byte, c *middleware.Consumer, expires time.Time) {
	if a.cfg.CacheSize < 0 {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if e, ok := a.items[key]; ok {
		e.Value = &introspected{key: key, c: c, expires: expires}
		a.lru.MoveToFront(e)
		return
	}
	for a.lru.Len() >= a.cfg.CacheSize {
		old := a.lru.Back()
		a.lru.Remove(old)
		delete(a.items, old.Value.(*introspected).key)
	}
	a.items[key] = a.lru.PushFront(&introspected{key: key, c: c, expires: expires})
}
