package gateway

import (
	"crypto/x509"
	"encoding/pem"
	"net/http"
	"os"
	"slices"
	"time"

	"github.com/portico-dev/portico/middleware"
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
// SHA-256 hash is kept in memory, as a middleware.APIKey.
type APIKeyConfig struct {
	// ID names the key in logs and rate-limit keys; it is not secret.
	// Required and unique.
	ID string `yaml:"id"`
	// SHA256 is the hash of the secret as 64 hex digits, optionally
	// prefixed with "sha256:" (see middleware.HashAPIKey). Set SHA256 or
	// Secret.
	SHA256 string `yaml:"sha256"`
	// Secret is the key itself, hashed when the gateway is built; in a
	// config file write it as a "${ENV}" reference, never inline.
	Secret string `yaml:"secret"`
	// Expires is when the key stops working. The zero time means never.
	Expires time.Time `yaml:"expires"`
}

// AuthMethod is a named authenticator that routes list in [Auth].Methods.
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

// Identity names the headers that carry the verified consumer to the
// upstream. The gateway removes them from every inbound request, on every
// route, and sets them only from the consumer authentication verified, so
// an upstream can trust them.
type Identity struct {
	// Consumer, Tenant, Plan, Scopes and Roles name the headers. If empty,
	// X-Consumer-ID, X-Consumer-Tenant, X-Consumer-Plan, X-Consumer-Scopes
	// and X-Consumer-Roles.
	Consumer string `yaml:"consumer"`
	Tenant   string `yaml:"tenant"`
	Plan     string `yaml:"plan"`
	Scopes   string `yaml:"scopes"`
	Roles    string `yaml:"roles"`
	// Strip lists more headers clients must never set, such as
	// "X-Forwarded-User".
	Strip []string `yaml:"strip"`
}

// WithConsumers adds consumers and their API keys. When any consumer
// holds a key, an authenticator named "api_key" reading the Authorization
// (Bearer) and X-API-Key headers exists unless [WithAuthMethods] defines
// one by that name.
func WithConsumers(cs ...ConsumerConfig) Option {
	return optionFunc(func(c *config) { c.consumers = append(c.consumers, cs...) })
}

// WithAuthMethods adds named authenticators for routes to use.
func WithAuthMethods(ms ...AuthMethod) Option {
	return optionFunc(func(c *config) { c.authMethods = append(c.authMethods, ms...) })
}

// WithAuthenticator adds an authenticator built in Go under a name, for
// [Auth].Methods.
func WithAuthenticator(name string, a middleware.Authenticator) Option {
	return optionFunc(func(c *config) {
		c.authCustom = append(c.authCustom, namedAuth{name, a})
	})
}

// WithIdentity sets the identity headers. By default, the names [Identity]
// lists.
func WithIdentity(id Identity) Option {
	return optionFunc(func(c *config) { c.identity = id })
}

type namedAuth struct {
	name string
	auth middleware.Authenticator
}

// buildAuth validates the consumers and authenticators and builds them.
func (g *Gateway) buildAuth() []error {
	c := &g.cfg
	var errs []error
	bad := func(path, format string, args ...any) { errs = append(errs, fieldErr(path, format, args...)) }
	g.consumers = middleware.NewConsumers()
	keys := middleware.NewAPIKeys()
	seenKey, seenID := map[string]bool{}, map[string]bool{}
	for i, cs := range c.consumers {
		at := idx("consumers", i)
		if cs.ID == "" {
			bad(at+".id", "is required")
			continue
		}
		if seenID[cs.ID] {
			bad(at+".id", "%q is defined twice", cs.ID)
			continue
		}
		seenID[cs.ID] = true
		id := cs.Consumer
		id.Credential, id.Method = "", ""
		g.consumers.Put(&id)
		for j, k := range cs.Keys {
			kat := at + "." + idx("api_keys", j)
			if k.ID == "" {
				bad(kat+".id", "is required")
				continue
			}
			if seenKey[k.ID] {
				bad(kat+".id", "%q is defined twice; key IDs must be unique", k.ID)
				continue
			}
			seenKey[k.ID] = true
			var h [32]byte
			switch {
			case k.SHA256 != "" && k.Secret != "":
				bad(kat+".secret", "set sha256 or secret, not both")
				continue
			case k.SHA256 != "":
				var err error
				if h, err = middleware.ParseAPIKeyHash(k.SHA256); err != nil {
					bad(kat+".sha256", "is not a SHA-256 hash; write 64 hex digits, like the output of sha256sum")
					continue
				}
			case k.Secret != "":
				h = middleware.HashAPIKey(k.Secret)
			default:
				bad(kat+".sha256", "set sha256 (the key's hash) or secret (a ${ENV} reference)")
				continue
			}
			keys.Put(middleware.APIKey{ID: k.ID, Consumer: cs.ID, Hash: h, Expires: k.Expires})
		}
	}
	g.auths = map[string]middleware.Authenticator{}
	add := func(at, name string, a middleware.Authenticator) {
		if _, dup := g.auths[name]; dup {
			bad(at, "%q is defined twice; authenticator names must be unique", name)
			return
		}
		g.auths[name] = a
		g.authOrder = append(g.authOrder, name)
	}
	defined := func(name string) bool {
		return slices.ContainsFunc(c.authMethods, func(m AuthMethod) bool { return m.Name == name })
	}
	if len(seenKey) > 0 && !defined("api_key") {
		add("consumers", "api_key", middleware.NewAPIKeyAuth(middleware.APIKeyConfig{Keys: keys, Consumers: g.consumers, Clock: c.clock}))
	}
	for i, m := range c.authMethods {
		at := idx("auth_methods", i)
		if m.Name == "" {
			bad(at+".name", "is required")
			continue
		}
		a, ferrs := g.authMethod(at, m, keys)
		errs = append(errs, ferrs...)
		if a != nil {
			add(at+".name", m.Name, a)
		}
	}
	for _, na := range c.authCustom {
		if na.name == "" || na.auth == nil {
			bad("authenticators", "WithAuthenticator needs a name and an authenticator")
			continue
		}
		add("authenticators", na.name, na.auth)
	}
	return errs
}

func (g *Gateway) authMethod(at string, m AuthMethod, keys *middleware.APIKeys) (middleware.Authenticator, []error) {
	var errs []error
	bad := func(field, format string, args ...any) { errs = append(errs, fieldErr(at+"."+field, format, args...)) }
	set := 0
	for _, p := range []bool{m.APIKey != nil, m.JWT != nil, m.Introspection != nil, m.ClientCert != nil} {
		if p {
			set++
		}
	}
	if set != 1 {
		bad("name", "set exactly one of api_key, jwt, introspection and client_cert")
		return nil, errs
	}
	var registry middleware.ConsumerRegistry = g.consumers
	switch {
	case m.APIKey != nil:
		for j, h := range m.APIKey.Headers {
			if !validHeaderName(h) {
				bad(idx("api_key.headers", j), "%q is not a valid header name", h)
			}
		}
		if errs != nil {
			return nil, errs
		}
		return middleware.NewAPIKeyAuth(middleware.APIKeyConfig{Keys: keys, Consumers: g.consumers,
			Headers: m.APIKey.Headers, Query: m.APIKey.Query, Clock: g.cfg.clock}), nil
	case m.JWT != nil:
		j := m.JWT
		if len(j.Algorithms) == 0 {
			bad("jwt.algorithms", "is required; list the algorithms the issuer signs with, like [RS256]")
		}
		for k, a := range j.Algorithms {
			if a == "none" || a == "" {
				bad(idx("jwt.algorithms", k), "%q can never be allowed", a)
			}
		}
		if j.JWKSURL == "" && len(j.KeyFiles) == 0 && len(j.Secrets) == 0 {
			bad("jwt.jwks_url", "set jwks_url, key_files or secrets")
		}
		cfg := middleware.JWTConfig{Algorithms: j.Algorithms, Issuer: j.Issuer, Audience: j.Audiences,
			Leeway: j.Leeway, ConsumerClaim: j.Claims.Consumer, ScopeClaim: j.Claims.Scopes,
			TenantClaim: j.Claims.Tenant, PlanClaim: j.Claims.Plan, RolesClaim: j.Claims.Roles, Clock: g.cfg.clock}
		if j.Registered {
			cfg.Consumers = registry
		}
		if len(j.KeyFiles)+len(j.Secrets) > 0 {
			cfg.Keys = map[string]any{}
		}
		for _, kid := range sortedKeys(j.KeyFiles) {
			k, msg := readPublicKey(j.KeyFiles[kid])
			if msg != "" {
				bad("jwt.key_files."+kid, "%s", msg)
				continue
			}
			cfg.Keys[kid] = k
		}
		for _, kid := range sortedKeys(j.Secrets) {
			if len(j.Secrets[kid]) < 32 {
				bad("jwt.secrets."+kid, "an HMAC secret needs at least 32 bytes")
				continue
			}
			cfg.Keys[kid] = []byte(j.Secrets[kid])
		}
		if errs != nil {
			return nil, errs
		}
		if j.JWKSURL != "" {
			cfg.JWKS = g.jwks(j.JWKSURL)
		}
		return middleware.NewJWTAuth(cfg), nil
	case m.Introspection != nil:
		in := m.Introspection
		if in.URL == "" {
			bad("introspection.url", "is required: the RFC 7662 endpoint")
			return nil, errs
		}
		cfg := middleware.IntrospectionConfig{URL: in.URL, ClientID: in.ClientID, ClientSecret: in.ClientSecret,
			Audience: in.Audience, CacheTTL: in.CacheTTL, Clock: g.cfg.clock}
		if in.Registered {
			cfg.Consumers = registry
		}
		return middleware.NewIntrospectionAuth(cfg), nil
	default:
		return middleware.NewClientCertAuth(middleware.ClientCertConfig{Consumers: registry}), nil
	}
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

// jwks borrows the key set at url from the state: the keys fetched by
// the previous build are kept while the URL and the logger are
// unchanged, so a reload neither waits for nor depends on the issuer.
func (g *Gateway) jwks(url string) *middleware.JWKS {
	return keepClosing(g, pieceKey("jwks", url, identity(g.cfg.logger)), func() (*middleware.JWKS, func() error) {
		j := middleware.NewJWKS(middleware.JWKSConfig{URL: url, Clock: g.cfg.clock, Logger: g.cfg.logger})
		return j, func() error { j.Close(); return nil }
	})
}

// authStages builds a route's authentication and authorization stages.
func (g *Gateway) authStages(at string, a *Auth) ([]stage, []error) {
	if a == nil {
		return nil, nil
	}
	var errs []error
	names := a.Methods
	if len(names) == 0 {
		names = g.authOrder
	}
	var auths []middleware.Authenticator
	for j, n := range names {
		au, ok := g.auths[n]
		if !ok {
			errs = append(errs, fieldErr(idx(at+".auth.methods", j), "%q is not an authenticator (defined: %s)", n, knownNames(g.auths)))
			continue
		}
		auths = append(auths, au)
	}
	if len(auths) == 0 && len(errs) == 0 {
		errs = append(errs, fieldErr(at+".auth", "the gateway has no authenticator; define consumers with api_keys or auth_methods"))
	}
	if errs != nil {
		return nil, errs
	}
	out := []stage{{"auth(" + joinNames(names) + anon(a.Anonymous) + ")",
		middleware.Authenticate(middleware.AuthConfig{Authenticators: auths, Anonymous: a.Anonymous, Logger: g.cfg.logger})}}
	if len(a.Scopes)+len(a.Roles) > 0 {
		mode := "all"
		if a.AnyScope {
			mode = "any"
		}
		authz := middleware.Authorize(middleware.AuthzConfig{Scopes: a.Scopes, Roles: a.Roles, Any: a.AnyScope})
		if a.Anonymous {
			// Anonymous callers pass; those who identify must hold the scopes.
			inner := authz
			authz = func(next http.Handler) http.Handler {
				checked := inner(next)
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if middleware.ConsumerFrom(r.Context()) == nil {
						next.ServeHTTP(w, r)
						return
					}
					checked.ServeHTTP(w, r)
				})
			}
		}
		out = append(out, stage{"authorize(" + mode + ": " + joinNames(append(append([]string(nil), a.Scopes...), a.Roles...)) + ")", authz})
	}
	return out, nil
}

func anon(b bool) string {
	if b {
		return "; anonymous"
	}
	return ""
}
