package ai

import (
	"crypto/sha256"
	"fmt"
	"net/http"

	"github.com/portico-dev/portico/middleware"
	"github.com/portico-dev/portico/middleware/auth"
)

// Keys is an auth.Authenticator over a fixed set of API keys, each
// naming its consumer: the simplest way to hand out the gateway's own keys
// (virtual keys) to the callers of the AI endpoints. It reads the key from
// "Authorization: Bearer <key>", then from "x-api-key" (which the OpenAI
// and Anthropic SDKs send), and holds only SHA-256 hashes of the keys. The
// gateway's consumers and their keys, JWTs or client certificates plug in
// as the authenticators of package middleware instead. Keys is safe for
// concurrent use.
type Keys struct {
	m map[[32]byte]middleware.Consumer
}

// NewKeys returns the authenticator of keys, which map each API key to its
// consumer. A consumer's [ModelsKey] metadata restricts the aliases it may
// use. It panics on an empty key or a consumer without an ID.
func NewKeys(keys map[string]middleware.Consumer) *Keys {
	k := &Keys{m: make(map[[32]byte]middleware.Consumer, len(keys))}
	for key, c := range keys {
		if key == "" || c.ID == "" {
			panic("portico/ai: NewKeys needs non-empty keys, each naming a consumer with an ID")
		}
		k.m[sha256.Sum256([]byte(key))] = *c.Clone()
	}
	return k
}

// Authenticate implements auth.Authenticator: a request without a
// key finds no credentials, one with an unknown key is refused.
func (k *Keys) Authenticate(r *http.Request) (*middleware.Consumer, error) {
	key := apiKey(r)
	if key == "" {
		return nil, auth.ErrNoCredentials
	}
	c, ok := k.m[sha256.Sum256([]byte(key))]
	if !ok {
		return nil, fmt.Errorf("%w: unknown API key", auth.ErrInvalidCredentials)
	}
	out := c.Clone()
	out.Method = "apikey"
	return out, nil
}

// apiKey returns the key a request carries in "Authorization: Bearer",
// or else in "x-api-key", or "".
func apiKey(r *http.Request) string {
	if h := r.Header.Get("Authorization"); len(h) > 7 && (h[:7] == "Bearer " || h[:7] == "bearer ") {
		return h[7:]
	}
	return r.Header.Get("X-Api-Key")
}
