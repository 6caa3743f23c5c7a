package auth_test

import (
	"crypto/x509"
	"encoding/pem"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/portico-dev/portico/middleware"
	"github.com/portico-dev/portico/middleware/auth"
)

func TestJWTAcceptsEachAllowedAlgorithmAndRejectsEveryAttack(t *testing.T) {
	t.Parallel()
	k := keysOnce()
	clock := newClock()
	now := clock.Now()
	authn := auth.NewJWTAuth(auth.JWTConfig{
		Algorithms: []string{"RS256", "PS256", "ES256", "EdDSA", "HS256"},
		Keys: map[string]any{
			"rsa": &k.rsa.PublicKey, "ec": &k.ec256.PublicKey, "ec384": &k.ec384.PublicKey,
			"ed": k.ed.Public(), "hmac": k.hmac,
		},
		Issuer:      k.issuer,
		Audience:    []string{"orders-api"},
		Required:    []string{"jti"},
		TenantClaim: "org",
		Now:         clock.Now,
	})
	srv := serve(t, auth.New(auth.Config{Authenticators: []auth.Authenticator{authn}})(whoami))
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: mustOK(x509.MarshalPKIXPublicKey(&k.rsa.PublicKey))})
	good := sign(t, jwt.SigningMethodRS256, k.rsa, "rsa", claims(now))

	tests := []struct {
		name  string
		token string
		ok    bool
	}{
		{name: "an RS256 token signed by the configured key is accepted", token: good, ok: true},
		{name: "a PS256 token is accepted", token: sign(t, jwt.SigningMethodPS256, k.rsa, "rsa", claims(now)), ok: true},
		{name: "an ES256 token is accepted", token: sign(t, jwt.SigningMethodES256, k.ec256, "ec", claims(now)), ok: true},
		{name: "an EdDSA token is accepted", token: sign(t, jwt.SigningMethodEdDSA, k.ed, "ed", claims(now)), ok: true},
		{name: "an HS256 token with the shared secret is accepted", token: sign(t, jwt.SigningMethodHS256, k.hmac, "hmac", claims(now)), ok: true},
		{name: "a token expired within the leeway is accepted", token: sign(t, jwt.SigningMethodRS256, k.rsa, "rsa", claims(now, "exp", now.Add(-10*time.Second).Unix())), ok: true},

		{name: "alg none is refused", token: unsigned(map[string]any{"alg": "none", "kid": "rsa"}, claims(now))},
		{name: "alg None is refused", token: unsigned(map[string]any{"alg": "None", "kid": "rsa"}, claims(now))},
		{name: "alg NONE is refused", token: unsigned(map[string]any{"alg": "NONE", "kid": "rsa"}, claims(now))},
		{name: "alg nOnE is refused", token: unsigned(map[string]any{"alg": "nOnE", "kid": "rsa"}, claims(now))},
		{name: "an HS256 token keyed with the RSA public key is refused (key confusion)", token: sign(t, jwt.SigningMethodHS256, pubPEM, "rsa", claims(now))},
		{name: "an HS256 token keyed with the raw RSA modulus is refused", token: sign(t, jwt.SigningMethodHS256, k.rsa.N.Bytes(), "rsa", claims(now))},
		{name: "an ES256 token pointing at a P-384 key is refused", token: sign(t, jwt.SigningMethodES256, k.ec256, "ec384", claims(now))},
		{name: "an RS256 token pointing at the HMAC secret is refused", token: sign(t, jwt.SigningMethodRS256, k.rsa, "hmac", claims(now))},
		{name: "an algorithm outside the allow-list is refused", token: sign(t, jwt.SigningMethodRS512, k.rsa, "rsa", claims(now))},
		{name: "an embedded jwk header is refused", token: sign(t, jwt.SigningMethodRS256, k.rsa, "rsa", claims(now), "jwk", rsaJWK("rsa", &k.rsa.PublicKey))},
		{name: "a jku header is refused", token: sign(t, jwt.SigningMethodRS256, k.rsa, "rsa", claims(now), "jku", "https://evil.test/jwks")},
		{name: "an x5u header is refused", token: sign(t, jwt.SigningMethodRS256, k.rsa, "rsa", claims(now), "x5u", "https://evil.test/cert")},
		{name: "an x5c header is refused", token: sign(t, jwt.SigningMethodRS256, k.rsa, "rsa", claims(now), "x5c", []string{"MIIB"})},
		{name: "an unknown crit header is refused", token: sign(t, jwt.SigningMethodRS256, k.rsa, "rsa", claims(now), "crit", []string{"exp-ext"}, "exp-ext", 1)},
		{name: "a b64 crit extension is refused", token: sign(t, jwt.SigningMethodRS256, k.rsa, "rsa", claims(now), "crit", []string{"b64"}, "b64", false)},
		{name: "a tampered payload is refused", token: tamper(good, claims(now, "sub", "bob"))},
		{name: "a stripped signature is refused", token: good[:strings.LastIndexByte(good, '.')+1]},
		{name: "a signature from another key is refused", token: sign(t, jwt.SigningMethodRS256, k.rsa2, "rsa", claims(now))},
		{name: "an unknown kid is refused", token: sign(t, jwt.SigningMethodRS256, k.rsa, "other", claims(now))},
		{name: "a malformed token is refused", token: "abc.d%ef.ghi"},
		{name: "a token with bad base64 is refused", token: "eyJhbGciOiJSUzI1NiJ9.!!!." + "sig"},
		{name: "an expired token is refused", token: sign(t, jwt.SigningMethodRS256, k.rsa, "rsa", claims(now, "exp", now.Add(-time.Hour).Unix()))},
		{name: "a token without exp is refused", token: sign(t, jwt.SigningMethodRS256, k.rsa, "rsa", claims(now, "exp", nil))},
		{name: "a token not yet valid is refused", token: sign(t, jwt.SigningMethodRS256, k.rsa, "rsa", claims(now, "nbf", now.Add(time.Hour).Unix()))},
		{name: "a token issued in the future is refused", token: sign(t, jwt.SigningMethodRS256, k.rsa, "rsa", claims(now, "iat", now.Add(time.Hour).Unix()))},
		{name: "a token from another issuer is refused", token: sign(t, jwt.SigningMethodRS256, k.rsa, "rsa", claims(now, "iss", "https://evil.test"))},
		{name: "a token for another audience is refused", token: sign(t, jwt.SigningMethodRS256, k.rsa, "rsa", claims(now, "aud", "billing-api"))},
		{name: "a token missing a required claim is refused", token: sign(t, jwt.SigningMethodRS256, k.rsa, "rsa", claims(now, "jti", nil))},
		{name: "a token without a subject is refused", token: sign(t, jwt.SigningMethodRS256, k.rsa, "rsa", claims(now, "sub", nil))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res, body := do(t, srv, newRequest(t, http.MethodGet, srv.URL, nil, "Authorization", "Bearer "+tt.token))
			if tt.ok {
				if res.StatusCode != http.StatusOK {
					t.Fatalf("status = %d, want 200 (body %s)", res.StatusCode, body)
				}
				c := consumerOf(t, body)
				if got, want := (who{ID: c.ID, Method: c.Method}), (who{ID: "acme", Method: "jwt"}); got != want {
					t.Errorf("consumer = %+v, want %+v", got, want)
				}
				if !c.HasScope("orders:write") {
					t.Errorf("scopes = %q, want orders:write", c.Scopes)
				}
				return
			}
			if res.StatusCode != http.StatusUnauthorized {
				t.Fatalf("status = %d, want 401 (body %s)", res.StatusCode, body)
			}
			if got := res.Header.Get("WWW-Authenticate"); got != `Bearer realm="api", error="invalid_token"` {
				t.Errorf("WWW-Authenticate = %q", got)
			}
			doc := problemDoc(t, res, body)
			if doc["detail"] != "The credentials are invalid." {
				t.Errorf("detail = %q, want the generic text", doc["detail"])
			}
		})
	}
}

func TestJWTClaimsMapOntoTheConsumer(t *testing.T) {
	t.Parallel()
	k := keysOnce()
	clock := newClock()
	now := clock.Now()
	tests := []struct {
		name   string
		cfg    auth.JWTConfig
		claims jwt.MapClaims
		want   middleware.Consumer
	}{
		{
			name:   "scope, tenant, plan and roles claims fill the consumer",
			cfg:    auth.JWTConfig{TenantClaim: "org", PlanClaim: "tier", RolesClaim: "roles"},
			claims: claims(now, "org", "acme-corp", "tier", "gold", "roles", []any{"admin", "ops"}),
			want: middleware.Consumer{
				ID:     "acme",
				Tenant: "acme-corp",
				Plan:   "gold",
				Scopes: []string{"orders:read", "orders:write"},
				Roles:  []string{"admin", "ops"},
			},
		},
		{
			name:   "an scp array is read when there is no scope claim",
			claims: claims(now, "scope", nil, "scp", []any{"a", "b"}),
			want:   middleware.Consumer{ID: "acme", Scopes: []string{"a", "b"}},
		},
		{
			name:   "a custom consumer claim names the consumer",
			cfg:    auth.JWTConfig{ConsumerClaim: "client_id"},
			claims: claims(now, "client_id", "bob"),
			want:   middleware.Consumer{ID: "bob", Scopes: []string{"orders:read", "orders:write"}},
		},
		{
			name:   "a registered consumer keeps its plan and takes the token's scopes",
			cfg:    auth.JWTConfig{Consumers: testConsumers()},
			claims: claims(now, "sub", "bob", "scope", "orders:read"),
			want: middleware.Consumer{
				ID:     "bob",
				Tenant: "bobs",
				Plan:   "free",
				Scopes: []string{"orders:read"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := tt.cfg
			cfg.Algorithms, cfg.Keys, cfg.Now = []string{"ES256"}, map[string]any{"": &k.ec256.PublicKey}, clock.Now
			srv := serve(t, auth.New(auth.Config{Authenticators: []auth.Authenticator{auth.NewJWTAuth(cfg)}})(whoami))
			res, body := do(t, srv, newRequest(t, http.MethodGet, srv.URL, nil, "Authorization", "Bearer "+sign(t, jwt.SigningMethodES256, k.ec256, "", tt.claims)))
			if res.StatusCode != http.StatusOK {
				t.Fatalf("status %d (%s)", res.StatusCode, body)
			}
			c := consumerOf(t, body)
			if got, want := claimsOf(c), claimsOf(&tt.want); got != want {
				t.Errorf("consumer = %+v, want %+v", got, want)
			}
		})
	}
}

func TestJWTTokenForUnregisteredConsumerIsRefused(t *testing.T) {
	t.Parallel()
	k := keysOnce()
	clock := newClock()
	authn := auth.NewJWTAuth(auth.JWTConfig{
		Algorithms: []string{"EdDSA"},
		Keys:       map[string]any{"ed": k.ed.Public()},
		Consumers:  testConsumers(),
		Now:        clock.Now,
	})
	srv := serve(t, auth.New(auth.Config{Authenticators: []auth.Authenticator{authn}})(whoami))
	res, _ := do(t, srv, newRequest(t, http.MethodGet, srv.URL, nil, "Authorization", "Bearer "+sign(t, jwt.SigningMethodEdDSA, k.ed, "ed", claims(clock.Now(), "sub", "mallory"))))
	if res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("status = %d, want 401", res.StatusCode)
	}
}

func TestNewJWTAuthRefusesUnsafeConfiguration(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  auth.JWTConfig
	}{
		{name: "no algorithms", cfg: auth.JWTConfig{Keys: map[string]any{"": []byte("k")}}},
		{name: "alg none in the allow-list", cfg: auth.JWTConfig{Algorithms: []string{"none"}, Keys: map[string]any{"": []byte("k")}}},
		{name: "no key source", cfg: auth.JWTConfig{Algorithms: []string{"RS256"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			defer func() {
				wantPanic(t, recover(), "portico/auth: ", "")
			}()
			auth.NewJWTAuth(tt.cfg)
		})
	}
}

func FuzzJWTVerify(f *testing.F) {
	k := keysOnce()
	clock := newClock()
	authn := auth.NewJWTAuth(auth.JWTConfig{
		Algorithms: []string{"RS256", "HS256"},
		Keys:       map[string]any{"rsa": &k.rsa.PublicKey, "hmac": k.hmac},
		Now:        clock.Now,
	})
	good := sign(f, jwt.SigningMethodRS256, k.rsa, "rsa", claims(clock.Now()))
	f.Add(good)
	f.Add(unsigned(map[string]any{"alg": "none"}, claims(clock.Now())))
	f.Add("a.b.c")
	f.Add("..")
	f.Fuzz(func(t *testing.T, tok string) {
		_, err := authn.Verify(t.Context(), tok)
		if err == nil && tok != good {
			t.Fatalf("forged token %q verified", tok)
		}
	})
}

func mustOK[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// claimFields is the comparable part of a Consumer that token claims fill.
type claimFields struct{ ID, Tenant, Plan, Scopes, Roles string }

func claimsOf(c *middleware.Consumer) claimFields {
	return claimFields{
		ID:     c.ID,
		Tenant: c.Tenant,
		Plan:   c.Plan,
		Scopes: strings.Join(c.Scopes, " "),
		Roles:  strings.Join(c.Roles, " "),
	}
}
