package config

import (
	"crypto/x509"
	"encoding/pem"
	"os"
	"slices"
	"time"

	"github.com/portico-dev/portico/gateway"
	"github.com/portico-dev/portico/gateway/internal/fields"
	"github.com/portico-dev/portico/middleware"
	"github.com/portico-dev/portico/middleware/auth"
)

// ConsumerConfig declares a consumer the gateway knows: its identity, a
// [middleware.Consumer] whose fields it promotes (in a config file: id,
// tenant, plan, scopes, roles, metadata), and its API keys. The identity's
// ID is required and unique; Credential and Method are set per request by
// the authenticator and ignored here.
type ConsumerConfig struct {
	middleware.Consumer
	// Keys are the consumer's API keys; several may be active at once, so
	// keys rotate without downtime.
	Keys []APIKeyConfig `yaml:"api_keys"`
}

// APIKeyConfig declares one API key of a [ConsumerConfig]. Only its
// SHA-256 hash is kept in memory, as a auth.APIKey.
type APIKeyConfig struct {
	// ID names the key in logs and rate-limit keys; it is not secret.
	// Required and unique.
	ID string `yaml:"id"`
	// SHA256 is the hash of the secret as 64 hex digits, optionally
	// prefixed with "sha256:" (see auth.HashAPIKey). Set SHA256 or
	// Secret.
	SHA256 string `yaml:"sha256"`
	// Secret is the key itself, hashed when the gateway is built; in a
	// config file write it as a "${ENV}" reference, never inline.
	Secret string `yaml:"secret"`
	// Expires is when the key stops working. The zero time means never.
	Expires time.Time `yaml:"expires"`
}

// AuthMethod is a named authenticator that routes list in
// gateway.Auth.Methods.
// Set exactly one of APIKey, JWT, Introspection and ClientCert.
type AuthMethod struct {
	// Name is what routes refer to. Required and unique.
	Name string `yaml:"name"`
	// APIKey reads the keys of the gateway's consumers.
	APIKey *APIKeyMethod `yaml:"api_key"`
	// JWT verifies signed JSON Web Tokens.
	JWT *JWTMethod `yaml:"jwt"`
	// Introspection checks opaque tokens at an RFC 7662 endpoint.
	Introspection *IntrospectionMethod `yaml:"introspection"`
	// ClientCert identifies the caller by a TLS client certificate the
	// listener verified (see [ServerTLS]); the certificate's identity
	// (its first URI or DNS SAN, else its common name) must be a consumer ID.
	ClientCert *ClientCertMethod `yaml:"client_cert"`
}

// APIKeyMethod reads API keys.
type APIKeyMethod struct {
	// Headers are read in order; "Authorization" with the Bearer scheme.
	// If empty, "Authorization" and "X-API-Key".
	Headers []string `yaml:"headers"`
	// Query is a query parameter the key may be read from. By default none.
	Query string `yaml:"query"`
}

// JWTMethod verifies JSON Web Tokens from one issuer.
type JWTMethod struct {
	// Issuer, if set, must equal the "iss" claim.
	Issuer string `yaml:"issuer"`
	// Audiences, if set, must contain one of the "aud" values.
	Audiences []string `yaml:"audiences"`
	// Algorithms is the allow-list, such as [RS256, ES256]. Required.
	Algorithms []string `yaml:"algorithms"`
	// JWKSURL is where the issuer's key set is fetched. Set it, KeyFiles
	// or Secrets.
	JWKSURL string `yaml:"jwks_url"`
	// KeyFiles are PEM public keys by "kid" ("" for tokens without one).
	KeyFiles map[string]string `yaml:"key_files"`
	// Secrets are HMAC keys by "kid"; write them as "${ENV}" references.
	Secrets map[string]string `yaml:"secrets"`
	// Leeway tolerates clock skew. If zero, 30s.
	Leeway time.Duration `yaml:"leeway"`
	// Claims maps token claims onto the consumer.
	Claims Claims `yaml:"claims"`
	// Registered requires the token's subject to be a consumer of the
	// gateway, whose tenant, plan and metadata are then used.
	Registered bool `yaml:"registered"`
}

// Claims maps token claims onto consumer fields.
type Claims struct {
	// Consumer holds the consumer ID. If empty, "sub".
	Consumer string `yaml:"consumer"`
	// Scopes holds the scopes. If empty, "scope", falling back to "scp".
	Scopes string `yaml:"scopes"`
	// Tenant, Plan and Roles, if set, fill the matching fields.
	Tenant string `yaml:"tenant"`
	Plan   string `yaml:"plan"`
	Roles  string `yaml:"roles"`
}

// IntrospectionMethod checks opaque tokens at an RFC 7662 endpoint.
type IntrospectionMethod struct {
	// URL is the endpoint. Required.
	URL string `yaml:"url"`
	// ClientID and ClientSecret authenticate the gateway to it.
	ClientID     string `yaml:"client_id"`
	ClientSecret string `yaml:"client_secret"`
	// Audience, if set, must be one of the token's audiences.
	Audience string `yaml:"audience"`
	// CacheTTL is how long an active result is reused. If zero, 1m.
	CacheTTL time.Duration `yaml:"cache_ttl"`
	// Registered requires the token's subject to be a consumer.
	Registered bool `yaml:"registered"`
}

// ClientCertMethod identifies callers by their verified client certificate.
type ClientCertMethod struct{}

// WithConsumers adds consumers and their API keys. When any consumer
// holds a key, an authenticator named "api_key" reading the Authorization
// (Bearer) and X-API-Key headers exists unless [WithAuthMethods] defines
// one by that name. Consumers and auth methods given in several options
// form one set, as in a config file.
func WithConsumers(cs ...ConsumerConfig) gateway.Option {
	return gateway.WithPart(&authPart{consumers: cs})
}

// WithAuthMethods adds named authenticators for routes to use: API key
// readers, JWT issuers, RFC 7662 introspection and client certificates,
// which know the consumers of [WithConsumers].
func WithAuthMethods(ms ...AuthMethod) gateway.Option {
	return gateway.WithPart(&authPart{methods: ms})
}

// authPart builds the consumers' API keys and the auth methods into
// authenticators. The parts of one build pool their consumers and
// methods: the first part builds them all, the others nothing.
type authPart struct {
	consumers []ConsumerConfig
	methods   []AuthMethod
}

func (p *authPart) Prepare(b *gateway.Builder) error {
	var all authPart
	first := true
	for _, part := range b.Parts() {
		ap, ok := part.(*authPart)
		if !ok {
			continue
		}
		if first && ap != p {
			return nil // the first authPart builds them all
		}
		first = false
		all.consumers = append(all.consumers, ap.consumers...)
		all.methods = append(all.methods, ap.methods...)
	}
	if errs := all.prepare(b); len(errs) > 0 {
		return joinErrs(errs)
	}
	return nil
}

func (p *authPart) Mount(*gateway.Builder) error { return nil }

// prepare validates the consumers and auth methods and adds them to the
// build as authenticators, "api_key" first.
func (p authPart) prepare(b *gateway.Builder) []error {
	errs := newErrors()
	consumers, keys, anyKey := p.registries(errs)
	seenAuth := map[string]bool{}
	add := func(at fields.Collector, name string, a auth.Authenticator) {
		if seenAuth[name] {
			at.Addf("", "%q is defined twice; authenticator names must be unique", name)
			return
		}
		seenAuth[name] = true
		b.Apply(gateway.WithAuthenticator(name, a))
	}
	defined := func(name string) bool {
		return slices.ContainsFunc(p.methods, func(m AuthMethod) bool { return m.Name == name })
	}
	if anyKey && !defined("api_key") {
		add(errs.At("consumers"), "api_key", auth.NewAPIKeyAuth(auth.APIKeyConfig{Keys: keys, Consumers: consumers, Now: b.Clock()}))
	}
	for i, m := range p.methods {
		at := errs.At(fields.Index("auth_methods", i))
		if m.Name == "" {
			at.Addf("name", "is required")
			continue
		}
		if a := authMethod(b, at, m, keys, consumers); a != nil {
			add(at.At("name"), m.Name, a)
		}
	}
	return errs.Errors()
}

// registries checks the consumers and their API keys and returns them
// registered, and whether any key is defined.
func (p authPart) registries(errs fields.Collector) (*middleware.MemoryConsumers, *auth.MemoryAPIKeys, bool) {
	consumers := middleware.NewMemoryConsumers()
	keys := auth.NewMemoryAPIKeys()
	seenKey, seenID := map[string]bool{}, map[string]bool{}
	for i, cs := range p.consumers {
		at := errs.At(fields.Index("consumers", i))
		if cs.ID == "" {
			at.Addf("id", "is required")
			continue
		}
		if seenID[cs.ID] {
			at.Addf("id", "%q is defined twice", cs.ID)
			continue
		}
		seenID[cs.ID] = true
		id := cs.Consumer
		id.Credential, id.Method = "", ""
		consumers.Put(&id)
		for j, k := range cs.Keys {
			kat := at.At(fields.Index("api_keys", j))
			if k.ID == "" {
				kat.Addf("id", "is required")
				continue
			}
			if seenKey[k.ID] {
				kat.Addf("id", "%q is defined twice; key IDs must be unique", k.ID)
				continue
			}
			seenKey[k.ID] = true
			if h, ok := keyHash(kat, k); ok {
				keys.Put(auth.APIKey{ID: k.ID, Consumer: cs.ID, Hash: h, Expires: k.Expires})
			}
		}
	}
	return consumers, keys, len(seenKey) > 0
}

// keyHash returns the hash of an API key from its sha256 or secret.
func keyHash(errs fields.Collector, k APIKeyConfig) ([32]byte, bool) {
	switch {
	case k.SHA256 != "" && k.Secret != "":
		errs.Addf("secret", "set sha256 or secret, not both")
	case k.SHA256 != "":
		h, err := auth.ParseAPIKeyHash(k.SHA256)
		if err == nil {
			return h, true
		}
		errs.Addf("sha256", "is not a SHA-256 hash; write 64 hex digits, like the output of sha256sum")
	case k.Secret != "":
		return auth.HashAPIKey(k.Secret), true
	default:
		errs.Addf("sha256", "set sha256 (the key's hash) or secret (a ${ENV} reference)")
	}
	return [32]byte{}, false
}

// authMethod checks one auth method and builds its authenticator; it
// returns nil when the method is not valid.
func authMethod(b *gateway.Builder, errs fields.Collector, m AuthMethod, keys *auth.MemoryAPIKeys, consumers *middleware.MemoryConsumers) auth.Authenticator {
	set := 0
	for _, p := range []bool{m.APIKey != nil, m.JWT != nil, m.Introspection != nil, m.ClientCert != nil} {
		if p {
			set++
		}
	}
	if set != 1 {
		errs.Addf("name", "set exactly one of api_key, jwt, introspection and client_cert")
		return nil
	}
	var registry middleware.ConsumerRegistry = consumers
	switch {
	case m.APIKey != nil:
		n := errs.Len()
		for j, h := range m.APIKey.Headers {
			if !fields.ValidHeaderName(h) {
				errs.Addf(fields.Index("api_key.headers", j), "%q is not a valid header name", h)
			}
		}
		if errs.Len() > n {
			return nil
		}
		return auth.NewAPIKeyAuth(auth.APIKeyConfig{Keys: keys, Consumers: consumers,
			Headers: m.APIKey.Headers, Query: m.APIKey.Query, Now: b.Clock()})
	case m.JWT != nil:
		return jwtAuth(b, errs.At("jwt"), m.JWT, registry)
	case m.Introspection != nil:
		in := m.Introspection
		if in.URL == "" {
			errs.Addf("introspection.url", "is required: the RFC 7662 endpoint")
			return nil
		}
		cfg := auth.IntrospectionConfig{URL: in.URL, ClientID: in.ClientID, ClientSecret: in.ClientSecret,
			Audience: in.Audience, CacheTTL: in.CacheTTL, Now: b.Clock()}
		if in.Registered {
			cfg.Consumers = registry
		}
		return auth.NewIntrospectionAuth(cfg)
	default:
		return auth.NewClientCertAuth(auth.ClientCertConfig{Consumers: registry})
	}
}

// jwtAuth checks a JWT method and builds its authenticator, or returns
// nil.
func jwtAuth(b *gateway.Builder, errs fields.Collector, j *JWTMethod, registry middleware.ConsumerRegistry) auth.Authenticator {
	n := errs.Len()
	if len(j.Algorithms) == 0 {
		errs.Addf("algorithms", "is required; list the algorithms the issuer signs with, like [RS256]")
	}
	for k, a := range j.Algorithms {
		if a == "none" || a == "" {
			errs.Addf(fields.Index("algorithms", k), "%q can never be allowed", a)
		}
	}
	if j.JWKSURL == "" && len(j.KeyFiles) == 0 && len(j.Secrets) == 0 {
		errs.Addf("jwks_url", "set jwks_url, key_files or secrets")
	}
	cfg := auth.JWTConfig{Algorithms: j.Algorithms, Issuer: j.Issuer, Audience: j.Audiences,
		Leeway: j.Leeway, ConsumerClaim: j.Claims.Consumer, ScopeClaim: j.Claims.Scopes,
		TenantClaim: j.Claims.Tenant, PlanClaim: j.Claims.Plan, RolesClaim: j.Claims.Roles, Now: b.Clock()}
	if j.Registered {
		cfg.Consumers = registry
	}
	cfg.Keys = jwtKeys(errs, j)
	if errs.Len() > n {
		return nil
	}
	if j.JWKSURL != "" {
		jwks, err := keepJWKS(b, j.JWKSURL)
		if err != nil {
			errs.Addf("jwks_url", "%v", err)
			return nil
		}
		cfg.JWKS = jwks
	}
	return auth.NewJWTAuth(cfg)
}

// jwtKeys reads a JWT method's key files and secrets, or returns nil when
// it has none.
func jwtKeys(errs fields.Collector, j *JWTMethod) map[string]any {
	if len(j.KeyFiles)+len(j.Secrets) == 0 {
		return nil
	}
	keys := map[string]any{}
	for _, kid := range fields.SortedKeys(j.KeyFiles) {
		k, msg := readPublicKey(j.KeyFiles[kid])
		if msg != "" {
			errs.Addf("key_files."+kid, "%s", msg)
			continue
		}
		keys[kid] = k
	}
	for _, kid := range fields.SortedKeys(j.Secrets) {
		if len(j.Secrets[kid]) < 32 {
			errs.Addf("secrets."+kid, "an HMAC secret needs at least 32 bytes")
			continue
		}
		keys[kid] = []byte(j.Secrets[kid])
	}
	return keys
}

func readPublicKey(file string) (any, string) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, "cannot read the key file: " + err.Error()
	}
	b, _ := pem.Decode(data)
	if b == nil {
		return nil, "holds no PEM block; use a PEM \"PUBLIC KEY\" file"
	}
	k, err := x509.ParsePKIXPublicKey(b.Bytes)
	if err != nil {
		return nil, "is not a PEM public key: " + err.Error()
	}
	return k, ""
}

// jwksCloser closes a key set.
type jwksCloser struct{ *auth.JWKS }

func (j jwksCloser) Close() error { j.JWKS.Close(); return nil }

// keepJWKS borrows the key set at url from the state: the keys fetched by
// the previous build are kept while the URL and the logger are
// unchanged, so a reload neither waits for nor depends on the issuer.
func keepJWKS(b *gateway.Builder, url string) (*auth.JWKS, error) {
	v, err := b.Keep("jwks", func() (any, error) {
		return jwksCloser{auth.NewJWKS(auth.JWKSConfig{URL: url, Now: b.Clock(), Logger: b.Logger()})}, nil
	}, url, identity(b.Logger()))
	if err != nil {
		return nil, err
	}
	return v.(jwksCloser).JWKS, nil
}
