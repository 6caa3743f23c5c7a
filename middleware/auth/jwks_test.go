package auth_test

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/portico-dev/portico/middleware/auth"
)

// idp is an identity provider serving a JWKS that tests can rotate or take down.
type idp struct {
	mu    sync.Mutex
	keys  []map[string]any
	down  bool
	hits  atomic.Int64
	first chan struct{}
	once  sync.Once
	*httptest.Server
}

func newIDP(t *testing.T, keys ...map[string]any) *idp {
	p := &idp{keys: keys, first: make(chan struct{})}
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.hits.Add(1)
		defer p.once.Do(func() { close(p.first) })
		p.mu.Lock()
		defer p.mu.Unlock()
		if p.down {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/jwk-set+json")
		_ = json.NewEncoder(w).Encode(map[string]any{"keys": p.keys})
	}))
	t.Cleanup(p.Close)
	return p
}

func (p *idp) set(keys ...map[string]any) {
	p.mu.Lock()
	p.keys, p.down = keys, false
	p.mu.Unlock()
}

func (p *idp) fail() {
	p.mu.Lock()
	p.down = true
	p.mu.Unlock()
}

// jwksRoute starts a JWKS cache for p and a server authenticating with it.
func jwksRoute(t *testing.T, p *idp, clock *fakeClock) (*auth.JWKS, *httptest.Server) {
	t.Helper()
	jwks := auth.NewJWKS(auth.JWKSConfig{
		URL:        p.URL,
		Client:     p.Client(),
		Now:        clock.Now,
		MinRefetch: time.Minute,
	})
	t.Cleanup(jwks.Close)
	authn := auth.NewJWTAuth(auth.JWTConfig{Algorithms: []string{"RS256", "ES256", "EdDSA"}, JWKS: jwks, Now: clock.Now})
	srv := serve(t, auth.New(auth.Config{Authenticators: []auth.Authenticator{authn}})(whoami))
	return jwks, srv
}

func jwtStatus(t *testing.T, srv *httptest.Server, token string) int {
	t.Helper()
	res, _ := do(t, srv, newRequest(t, http.MethodGet, srv.URL, nil, "Authorization", "Bearer "+token))
	return res.StatusCode
}

func TestJWKSKeyRotationIsPickedUp(t *testing.T) {
	t.Parallel()
	k := keysOnce()
	clock := newClock()
	p := newIDP(t, rsaJWK("2026-01", &k.rsa.PublicKey))
	_, srv := jwksRoute(t, p, clock)
	if got := jwtStatus(t, srv, sign(t, jwt.SigningMethodRS256, k.rsa, "2026-01", claims(clock.Now()))); got != 200 {
		t.Fatalf("token with the first key: status %d, want 200", got)
	}
	// The provider rotates: a new key appears, the old one is withdrawn.
	p.set(rsaJWK("2026-02", &k.rsa2.PublicKey), ecJWK("ec-1", k.ec256), edJWK("ed-1", k.ed))
	clock.Advance(time.Minute)
	if got := jwtStatus(t, srv, sign(t, jwt.SigningMethodRS256, k.rsa2, "2026-02", claims(clock.Now()))); got != 200 {
		t.Fatalf("token with the rotated key: status %d, want 200", got)
	}
	if got := jwtStatus(t, srv, sign(t, jwt.SigningMethodES256, k.ec256, "ec-1", claims(clock.Now()))); got != 200 {
		t.Fatalf("ES256 token from the JWKS: status %d, want 200", got)
	}
	if got := jwtStatus(t, srv, sign(t, jwt.SigningMethodEdDSA, k.ed, "ed-1", claims(clock.Now()))); got != 200 {
		t.Fatalf("EdDSA token from the JWKS: status %d, want 200", got)
	}
	if got := jwtStatus(t, srv, sign(t, jwt.SigningMethodRS256, k.rsa, "2026-01", claims(clock.Now()))); got != 401 {
		t.Fatalf("token with the withdrawn key: status %d, want 401", got)
	}
}

func TestJWKSUnknownKidRefetchIsBounded(t *testing.T) {
	t.Parallel()
	k := keysOnce()
	clock := newClock()
	p := newIDP(t, rsaJWK("good", &k.rsa.PublicKey))
	jwks, srv := jwksRoute(t, p, clock)
	<-p.first
	clock.Advance(time.Minute) // one refetch is due
	var wg sync.WaitGroup
	var refused atomic.Int64
	for i := range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			kid := fmt.Sprintf("random-%d-%s", i, rand.Text())
			if jwtStatus(t, srv, sign(t, jwt.SigningMethodRS256, k.rsa, kid, claims(clock.Now()))) == 401 {
				refused.Add(1)
			}
		}()
	}
	wg.Wait()
	if refused.Load() != 100 {
		t.Fatalf("%d of 100 random-kid tokens refused, want all", refused.Load())
	}
	if n := jwks.Fetches(); n > 3 {
		t.Fatalf("100 random-kid requests caused %d JWKS fetches, want at most 3", n)
	}
	if got := jwtStatus(t, srv, sign(t, jwt.SigningMethodRS256, k.rsa, "good", claims(clock.Now()))); got != 200 {
		t.Fatalf("a good token after the flood: status %d, want 200", got)
	}
}

func TestJWKSServerDownKeepsCachedKeys(t *testing.T) {
	t.Parallel()
	k := keysOnce()
	clock := newClock()
	p := newIDP(t, rsaJWK("good", &k.rsa.PublicKey))
	jwks, srv := jwksRoute(t, p, clock)
	if got := jwtStatus(t, srv, sign(t, jwt.SigningMethodRS256, k.rsa, "good", claims(clock.Now()))); got != 200 {
		t.Fatalf("status %d before the outage, want 200", got)
	}
	p.fail()
	clock.Advance(time.Hour)
	wantErrContaining(t, jwks.Refresh(t.Context()), "503") // Refresh during the outage
	for range 5 {
		if got := jwtStatus(t, srv, sign(t, jwt.SigningMethodRS256, k.rsa, "good", claims(clock.Now()))); got != 200 {
			t.Fatalf("status %d during the JWKS outage, want 200 from the cached key", got)
		}
	}
	p.Close()
	if got := jwtStatus(t, srv, sign(t, jwt.SigningMethodRS256, k.rsa, "unknown", claims(clock.Now()))); got != 401 {
		t.Fatalf("unknown kid with the JWKS server gone: status %d, want 401", got)
	}
	if got := jwtStatus(t, srv, sign(t, jwt.SigningMethodRS256, k.rsa, "good", claims(clock.Now()))); got != 200 {
		t.Fatalf("status %d with the JWKS server gone, want 200 from the cached key", got)
	}
}

func TestJWKSKeyAlgorithmMustMatchTheToken(t *testing.T) {
	t.Parallel()
	k := keysOnce()
	clock := newClock()
	key := rsaJWK("pinned", &k.rsa.PublicKey) // "alg": "RS256"
	p := newIDP(t, key)
	jwks := auth.NewJWKS(auth.JWKSConfig{URL: p.URL, Client: p.Client(), Now: clock.Now})
	t.Cleanup(jwks.Close)
	authn := auth.NewJWTAuth(auth.JWTConfig{Algorithms: []string{"RS256", "PS256"}, JWKS: jwks, Now: clock.Now})
	srv := serve(t, auth.New(auth.Config{Authenticators: []auth.Authenticator{authn}})(whoami))
	if got := jwtStatus(t, srv, sign(t, jwt.SigningMethodPS256, k.rsa, "pinned", claims(clock.Now()))); got != 401 {
		t.Fatalf("PS256 token on an RS256 key: status %d, want 401", got)
	}
}

func TestParseJWKS(t *testing.T) {
	t.Parallel()
	k := keysOnce()
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	badPoint := ecJWK("bad", k.ec256)
	badPoint["y"] = badPoint["x"]
	enc := rsaJWK("enc", &k.rsa.PublicKey)
	enc["use"] = "enc"
	set := func(keys ...map[string]any) []byte { b, _ := json.Marshal(map[string]any{"keys": keys}); return b }
	tests := []struct {
		name    string
		in      []byte
		wantIDs string
		wantErr string
	}{
		{name: "RSA, EC and OKP keys are read", in: set(rsaJWK("r", &k.rsa.PublicKey), ecJWK("e", k.ec384), edJWK("o", k.ed)), wantIDs: "r e o"},
		{name: "encryption keys are skipped", in: set(enc, edJWK("o", k.ed)), wantIDs: "o"},
		{name: "RSA keys under 2048 bits are skipped", in: set(rsaJWK("small", &small.PublicKey)), wantIDs: ""},
		{name: "unknown key types are skipped", in: set(map[string]any{"kty": "PQC", "kid": "future"}), wantIDs: ""},
		{name: "an EC point off the curve is an error", in: set(badPoint), wantErr: "not on the curve"},
		{name: "a short oct key is an error", in: set(map[string]any{"kty": "oct", "kid": "s", "k": b64url([]byte("short"))}), wantErr: "at least 32 bytes"},
		{name: "an RSA key with an even exponent is an error", in: set(map[string]any{"kty": "RSA", "kid": "x", "n": rsaJWK("", &k.rsa.PublicKey)["n"], "e": "Ag"}), wantErr: `invalid "e"`},
		{name: "a document that is not JSON is an error", in: []byte("<html>"), wantErr: "not a JSON key set"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			keys, err := auth.ParseJWKS(tt.in)
			if tt.wantErr != "" {
				wantErrContaining(t, err, tt.wantErr)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, k := range keys {
				ids = append(ids, k.ID)
			}
			if got := strings.Join(ids, " "); got != tt.wantIDs {
				t.Fatalf("key IDs = %q, want %q", got, tt.wantIDs)
			}
		})
	}
}

func FuzzParseJWKS(f *testing.F) {
	k := keysOnce()
	seed, _ := json.Marshal(map[string]any{"keys": []any{rsaJWK("r", &k.rsa.PublicKey), ecJWK("e", k.ec256), edJWK("o", k.ed)}})
	f.Add(seed)
	f.Add([]byte(`{"keys":[{"kty":"oct","k":"AAAA"}]}`))
	f.Add([]byte(`{"keys":[{"kty":"EC","crv":"P-521","x":"","y":""}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		keys, err := auth.ParseJWKS(data)
		if err != nil {
			return
		}
		for _, k := range keys {
			if k.Key == nil {
				t.Fatalf("key %q parsed to nil", k.ID)
			}
		}
	})
}

func TestJWKSRefreshesInTheBackground(t *testing.T) {
	t.Parallel()
	k := keysOnce()
	p := newIDP(t, rsaJWK("a", &k.rsa.PublicKey))
	jwks := auth.NewJWKS(auth.JWKSConfig{URL: p.URL, Client: p.Client(), Refresh: 20 * time.Millisecond})
	<-p.first
	p.set(rsaJWK("b", &k.rsa2.PublicKey))
	// Poll, without any request asking for "b", until a background refresh
	// has brought it in; the deadline is generous for a loaded machine.
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, ok := jwks.Key(t.Context(), "b"); ok && jwks.Fetches() >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("key b not picked up by background refresh after %d fetches", jwks.Fetches())
		}
		time.Sleep(10 * time.Millisecond)
	}
	jwks.Close()
	n := jwks.Fetches()
	time.Sleep(100 * time.Millisecond)
	if jwks.Fetches() != n {
		t.Fatalf("fetches went on after Close: %d, then %d", n, jwks.Fetches())
	}
}
