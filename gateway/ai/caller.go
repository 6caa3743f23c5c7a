package ai

import (
	"crypto/sha256"
	"errors"
	"net/http"
	"slices"
)

// Caller is who is calling, as the AI endpoints need it: the consumer and
// tenant that limits, budgets and call records key on, and the model
// aliases the caller may use.
type Caller struct {
	// ID identifies the consumer.
	ID string
	// Tenant is the consumer's team, if any.
	Tenant string
	// Models lists the aliases the caller may use; nil allows every alias
	// the handler serves.
	Models []string
}

// allows reports whether c may use alias.
func (c *Caller) allows(alias string) bool {
	return c == nil || c.Models == nil || slices.Contains(c.Models, alias)
}

// Authenticator identifies the caller of a request: typically from the
// gateway's own API key in "Authorization: Bearer" or "x-api-key" (which
// the OpenAI and Anthropic SDKs send). It returns [ErrUnauthenticated] (or
// an error wrapping it) for missing or wrong credentials; any other error
// means the credentials could not be checked, and is answered 503.
type Authenticator interface {
	Authenticate(r *http.Request) (*Caller, error)
}

// AuthenticatorFunc adapts a function to [Authenticator].
type AuthenticatorFunc func(r *http.Request) (*Caller, error)

// Authenticate calls f(r).
func (f AuthenticatorFunc) Authenticate(r *http.Request) (*Caller, error) { return f(r) }

// ErrUnauthenticated is what an [Authenticator] returns for missing or
// wrong credentials.
var ErrUnauthenticated = errors.New("portico/ai: invalid API key")

// Keys is an [Authenticator] over a fixed set of API keys, each naming its
// caller. It reads the key from "Authorization: Bearer <key>", then from
// "x-api-key", and holds only SHA-256 hashes of the keys. The gateway's
// consumers and API keys (package middleware) plug in through
// [AuthenticatorFunc] instead.
type Keys struct {
	m map[[32]byte]Caller
}

// NewKeys returns the authenticator of keys, which map each API key to its
// caller.
func NewKeys(keys map[string]Caller) *Keys {
	k := &Keys{m: make(map[[32]byte]Caller, len(keys))}
	for key, c := range keys {
		if key == "" {
			panic("portico/ai: NewKeys needs non-empty keys")
		}
		k.m[sha256.Sum256([]byte(key))] = c
	}
	return k
}

// Authenticate implements [Authenticator].
func (k *Keys) Authenticate(r *http.Request) (*Caller, error) {
	key := APIKey(r)
	if key == "" {
		return nil, ErrUnauthenticated
	}
	c, ok := k.m[sha256.Sum256([]byte(key))]
	if !ok {
		return nil, ErrUnauthenticated
	}
	return &c, nil
}

// APIKey returns the key a request carries in "Authorization: Bearer",
// or else in "x-api-key", or "".
func APIKey(r *http.Request) string {
	if h := r.Header.Get("Authorization"); len(h) > 7 && (h[:7] == "Bearer " || h[:7] == "bearer ") {
		return h[7:]
	}
	return r.Header.Get("X-Api-Key")
}
