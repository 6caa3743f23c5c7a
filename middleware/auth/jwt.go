package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/portico-dev/portico/middleware"
)

// maxTokenBytes bounds the size of a bearer token accepted for parsing.
const maxTokenBytes = 16 << 10

// jwtAlgorithms are the algorithms [JWTConfig.Algorithms] may list.
var jwtAlgorithms = []string{
	"RS256", "RS384", "RS512", "PS256", "PS384", "PS512",
	"ES256", "ES384", "ES512", "EdDSA", "HS256", "HS384", "HS512",
}

// JWTConfig configures [NewJWTAuth]. Algorithms and a key source (JWKS or
// Keys) are required.
type JWTConfig struct {
	// Algorithms is the allow-list of signature algorithms, such as
	// {"RS256", "ES256"}. "none" can never be allowed.
	Algorithms []string
	// JWKS supplies keys by "kid" from a JSON Web Key Set URL.
	JWKS *JWKS
	// Keys are static verification keys by "kid": *rsa.PublicKey,
	// *ecdsa.PublicKey, ed25519.PublicKey or []byte for HMAC. The key
	// under "" is used for tokens without a "kid".
	Keys map[string]any
	// Issuer, if set, must equal the "iss" claim.
	Issuer string
	// Audience, if set, must contain one of the "aud" values.
	Audience []string
	// Leeway tolerates clock skew in "exp", "nbf" and "iat". If zero, 30
	// seconds is used; a negative value means none.
	Leeway time.Duration
	// Required lists claims that must be present, besides "exp", which
	// always is.
	Required []string
	// ConsumerClaim holds the consumer ID. If empty, "sub" is used.
	ConsumerClaim string
	// ScopeClaim holds the scopes, as a space-separated string or an array.
	// If empty, "scope" is used, falling back to "scp".
	ScopeClaim string
	// TenantClaim, PlanClaim and RolesClaim, if set, fill the matching
	// [middleware.Consumer] fields.
	TenantClaim, PlanClaim, RolesClaim string
	// Consumers, if set, must know the consumer ID; the registered
	// consumer is used, with the token's scopes when the token has any.
	Consumers middleware.ConsumerRegistry
	// Now returns the current time. If nil, time.Now is used.
	Now func() time.Time
}

// JWTAuth is an [Authenticator] for JWT bearer tokens (RFC 7519). Besides
// the signature and the registered claims it refuses "alg" values outside
// the allow-list (including "none" in any spelling), a key whose type does
// not match the algorithm (the RS256-to-HS256 key confusion attack),
// embedded or remote keys in the header ("jwk", "jku", "x5u", "x5c") and
// any "crit" header parameter (RFC 7515 §4.1.11), since none is
// understood. It is safe for concurrent use.
type JWTAuth struct {
	cfg    JWTConfig
	parser *jwt.Parser
}

// NewJWTAuth returns a JWT authenticator. It panics on an empty or unknown
// algorithm, or a missing key source.
func NewJWTAuth(cfg JWTConfig) *JWTAuth {
	if len(cfg.Algorithms) == 0 {
		panic("portico/auth: NewJWTAuth needs an Algorithms allow-list")
	}
	for _, a := range cfg.Algorithms {
		if !slices.Contains(jwtAlgorithms, a) {
			panic(fmt.Sprintf("portico/auth: NewJWTAuth: algorithm %q is not one of %v", a, jwtAlgorithms))
		}
	}
	if cfg.JWKS == nil && len(cfg.Keys) == 0 {
		panic("portico/auth: NewJWTAuth needs JWKS or Keys")
	}
	cfg.Algorithms = slices.Clone(cfg.Algorithms)
	if cfg.Leeway == 0 {
		cfg.Leeway = 30 * time.Second
	}
	if cfg.Leeway < 0 {
		cfg.Leeway = 0
	}
	if cfg.ConsumerClaim == "" {
		cfg.ConsumerClaim = "sub"
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	opts := []jwt.ParserOption{
		jwt.WithValidMethods(cfg.Algorithms),
		jwt.WithLeeway(cfg.Leeway),
		jwt.WithTimeFunc(cfg.Now),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithStrictDecoding(),
	}
	if cfg.Issuer != "" {
		opts = append(opts, jwt.WithIssuer(cfg.Issuer))
	}
	if len(cfg.Audience) > 0 {
		opts = append(opts, jwt.WithAudience(cfg.Audience...))
	}
	return &JWTAuth{cfg: cfg, parser: jwt.NewParser(opts...)}
}

// Challenge implements [Challenger].
func (a *JWTAuth) Challenge(realm string) string { return "Bearer realm=" + quoteParam(realm) }

// Authenticate implements [Authenticator].
func (a *JWTAuth) Authenticate(r *http.Request) (*middleware.Consumer, error) {
	raw, ok := bearerToken(r)
	if !ok || strings.Count(raw, ".") != 2 {
		// Not a JWS compact token: leave it to another authenticator.
		return nil, ErrNoCredentials
	}
	claims, err := a.Verify(r.Context(), raw)
	if err != nil {
		return nil, err
	}
	return a.consumer(r.Context(), claims)
}

// LocateCredential implements [CredentialLocator]: the Authorization
// header of a bearer token shaped like a JWT.
func (a *JWTAuth) LocateCredential(r *http.Request) (CredentialSource, bool) {
	raw, ok := bearerToken(r)
	if !ok || strings.Count(raw, ".") != 2 {
		return CredentialSource{}, false
	}
	return bearerSource(r), true
}

// Verify checks a compact JWS token and returns its claims. Errors wrap
// [ErrInvalidCredentials].
func (a *JWTAuth) Verify(ctx context.Context, raw string) (jwt.MapClaims, error) {
	if len(raw) > maxTokenBytes {
		return nil, fmt.Errorf("%w: token longer than %d bytes", ErrInvalidCredentials, maxTokenBytes)
	}
	claims := jwt.MapClaims{}
	_, err := a.parser.ParseWithClaims(raw, claims, func(t *jwt.Token) (any, error) { return a.key(ctx, t) })
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidCredentials, err)
	}
	for _, c := range a.cfg.Required {
		if _, ok := claims[c]; !ok {
			return nil, fmt.Errorf("%w: required claim %q missing", ErrInvalidCredentials, c)
		}
	}
	return claims, nil
}

func (a *JWTAuth) key(ctx context.Context, t *jwt.Token) (any, error) {
	alg, _ := t.Header["alg"].(string)
	if strings.EqualFold(alg, "none") || !slices.Contains(a.cfg.Algorithms, alg) {
		return nil, fmt.Errorf("algorithm %q not allowed", alg)
	}
	for _, h := range []string{"jwk", "jku", "x5u", "x5c"} {
		if _, ok := t.Header[h]; ok {
			return nil, fmt.Errorf("header %q not accepted: keys come only from configuration", h)
		}
	}
	if _, ok := t.Header["crit"]; ok {
		return nil, errors.New(`"crit" header names extensions this verifier does not understand`)
	}
	kid, _ := t.Header["kid"].(string)
	var k JWK
	found := false
	if key, ok := a.cfg.Keys[kid]; ok {
		k, found = JWK{ID: kid, Key: key}, true
	} else if a.cfg.JWKS != nil {
		k, found = a.cfg.JWKS.Key(ctx, kid)
	}
	if !found {
		return nil, fmt.Errorf("no key with kid %q", kid)
	}
	if k.Algorithm != "" && k.Algorithm != alg {
		return nil, fmt.Errorf("key %q is for %s, token uses %s", kid, k.Algorithm, alg)
	}
	if !keyFits(alg, k.Key) {
		return nil, fmt.Errorf("key %q (%T) does not fit algorithm %s", kid, k.Key, alg)
	}
	return k.Key, nil
}

// keyFits reports whether key is of the type alg needs.
func keyFits(alg string, key any) bool {
	switch alg[:2] {
	case "RS", "PS":
		_, ok := key.(*rsa.PublicKey)
		return ok
	case "HS":
		_, ok := key.([]byte)
		return ok
	case "Ed":
		_, ok := key.(ed25519.PublicKey)
		return ok
	case "ES":
		k, ok := key.(*ecdsa.PublicKey)
		if !ok {
			return false
		}
		switch alg {
		case "ES256":
			return k.Curve == elliptic.P256()
		case "ES384":
			return k.Curve == elliptic.P384()
		case "ES512":
			return k.Curve == elliptic.P521()
		}
	}
	return false
}

func (a *JWTAuth) consumer(ctx context.Context, claims jwt.MapClaims) (*middleware.Consumer, error) {
	id, _ := claims[a.cfg.ConsumerClaim].(string)
	if id == "" {
		return nil, fmt.Errorf("%w: claim %q holds no consumer ID", ErrInvalidCredentials, a.cfg.ConsumerClaim)
	}
	scopes, hasScopes := claimList(claims, a.cfg.ScopeClaim)
	var c *middleware.Consumer
	if a.cfg.Consumers != nil {
		base, err := a.cfg.Consumers.Consumer(ctx, id)
		if err != nil {
			if errors.Is(err, middleware.ErrUnknownConsumer) {
				return nil, fmt.Errorf("%w: token for unknown consumer", ErrInvalidCredentials)
			}
			return nil, fmt.Errorf("%w: consumer registry: %w", ErrUnavailable, err)
		}
		c = base.Clone()
		if hasScopes {
			c.Scopes = scopes
		}
	} else {
		c = &middleware.Consumer{ID: id, Scopes: scopes}
	}
	if a.cfg.TenantClaim != "" {
		if v, ok := claims[a.cfg.TenantClaim].(string); ok {
			c.Tenant = v
		}
	}
	if a.cfg.PlanClaim != "" {
		if v, ok := claims[a.cfg.PlanClaim].(string); ok {
			c.Plan = v
		}
	}
	if a.cfg.RolesClaim != "" {
		if v, ok := claimList(claims, a.cfg.RolesClaim); ok {
			c.Roles = v
		}
	}
	c.Credential, _ = claims["jti"].(string)
	c.Method = "jwt"
	return c, nil
}

// claimList reads a claim that is a space-separated string or an array of
// strings. With name "", it reads "scope", then "scp".
func claimList(claims map[string]any, name string) ([]string, bool) {
	if name == "" {
		if v, ok := claimList(claims, "scope"); ok {
			return v, ok
		}
		name = "scp"
	}
	switch v := claims[name].(type) {
	case string:
		return strings.Fields(v), true
	case []any:
		out := make([]string, 0, len(v))
		for _, s := range v {
			if s, ok := s.(string); ok {
				out = append(out, s)
			}
		}
		return out, true
	}
	return nil, false
}
