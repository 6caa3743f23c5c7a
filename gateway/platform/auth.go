package platform

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"
)

type adminToken struct {
	actor string
	hash  [32]byte
}

// WithAdminToken adds an admin credential: requests to [Platform.Admin]
// carrying "Authorization: Bearer <token>" (or HTTP Basic auth with the
// token as password, for browsers) act as actor in the audit log. Tokens
// are compared in constant time. It panics on an empty actor or a token
// shorter than 16 bytes.
func WithAdminToken(actor, token string) Option {
	if actor == "" || len(token) < 16 {
		panic("portico/platform: WithAdminToken needs an actor and a token of at least 16 bytes")
	}
	return optionFunc(func(p *Platform) {
		p.admins = append(p.admins, adminToken{actor: actor, hash: sha256.Sum256([]byte(token))})
	})
}

// WithAdminAuth sets a function that authenticates admin requests and
// returns the actor named in the audit log, for single sign-on or mutual
// TLS in front of the admin listener. It is consulted when no admin token
// matches. By default only tokens from [WithAdminToken] are accepted.
func WithAdminAuth(f func(*http.Request) (actor string, ok bool)) Option {
	return optionFunc(func(p *Platform) { p.adminAuth = f })
}

// actor authenticates an admin request.
func (p *Platform) actor(r *http.Request) (string, bool) {
	token := ""
	if h := r.Header.Get("Authorization"); len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		token = strings.TrimSpace(h[7:])
	} else if _, pw, ok := r.BasicAuth(); ok {
		token = pw
	}
	if actor, ok := p.tokenActor(token); ok {
		return actor, true
	}
	if p.adminAuth != nil {
		return p.adminAuth(r)
	}
	return "", false
}

// tokenActor returns the actor of an admin token, comparing in constant time.
func (p *Platform) tokenActor(token string) (string, bool) {
	if token == "" {
		return "", false
	}
	h := sha256.Sum256([]byte(token))
	found := ""
	for _, a := range p.admins {
		if subtle.ConstantTimeCompare(h[:], a.hash[:]) == 1 {
			found = a.actor
		}
	}
	return found, found != ""
}
