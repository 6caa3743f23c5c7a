package auth_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/middleware"
	"github.com/portico-dev/portico/middleware/auth"
)

func TestAPIKeyAuthentication(t *testing.T) {
	t.Parallel()
	clock := newClock()
	keys := auth.NewMemoryAPIKeys(
		auth.APIKey{ID: "acme-1", Consumer: "acme", Hash: auth.HashAPIKey("acme-secret-one")},
		auth.APIKey{ID: "acme-2", Consumer: "acme", Hash: auth.HashAPIKey("acme-secret-two")},
		auth.APIKey{
			ID:       "bob-old",
			Consumer: "bob",
			Hash:     auth.HashAPIKey("bob-expired"),
			Expires:  clock.Now().Add(-time.Second),
		},
		auth.APIKey{
			ID:       "bob-new",
			Consumer: "bob",
			Hash:     auth.HashAPIKey("bob-current"),
			Expires:  clock.Now().Add(time.Hour),
		},
		auth.APIKey{ID: "ghost", Consumer: "nobody", Hash: auth.HashAPIKey("ghost-key")},
	)
	authn := auth.NewAPIKeyAuth(auth.APIKeyConfig{
		Keys:      keys,
		Consumers: testConsumers(),
		Query:     "api_key",
		Now:       clock.Now,
	})
	srv := serve(t, auth.New(auth.Config{Authenticators: []auth.Authenticator{authn}, Realm: "orders"})(whoami))

	tests := []struct {
		name       string
		path       string
		headers    []string
		wantStatus int
		wantID     string
		wantKey    string
		wantChall  string
	}{
		{
			name:       "a bearer key identifies its consumer",
			headers:    []string{"Authorization", "Bearer acme-secret-one"},
			wantStatus: 200,
			wantID:     "acme",
			wantKey:    "acme-1",
		},
		{
			name:       "the bearer scheme is case-insensitive",
			headers:    []string{"Authorization", "bearer acme-secret-one"},
			wantStatus: 200,
			wantID:     "acme",
			wantKey:    "acme-1",
		},
		{
			name:       "a second active key of the same consumer works during rotation",
			headers:    []string{"X-API-Key", "acme-secret-two"},
			wantStatus: 200,
			wantID:     "acme",
			wantKey:    "acme-2",
		},
		{
			name:       "a key in the configured query parameter works",
			path:       "/?api_key=bob-current",
			wantStatus: 200,
			wantID:     "bob",
			wantKey:    "bob-new",
		},
		{name: "a request without a key gets a 401 with a challenge", wantStatus: 401, wantChall: `Bearer realm="orders"`},
		{
			name:       "an unknown key gets a 401 saying the token is invalid",
			headers:    []string{"X-API-Key", "guess"},
			wantStatus: 401,
			wantChall:  `Bearer realm="orders", error="invalid_token"`,
		},
		{name: "an expired key is refused", headers: []string{"X-API-Key", "bob-expired"}, wantStatus: 401},
		{name: "a key of an unknown consumer is refused", headers: []string{"X-API-Key", "ghost-key"}, wantStatus: 401},
		{name: "a key with a different case is a different key", headers: []string{"X-API-Key", "ACME-SECRET-ONE"}, wantStatus: 401},
		{name: "a non-bearer authorization scheme is not a key", headers: []string{"Authorization", "Basic YWNtZS1zZWNyZXQtb25l"}, wantStatus: 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res, body := do(t, srv, newRequest(t, http.MethodGet, srv.URL+tt.path, nil, tt.headers...))
			if res.StatusCode != tt.wantStatus {
				t.Fatalf("status = %d, want %d (body %s)", res.StatusCode, tt.wantStatus, body)
			}
			if tt.wantStatus == 401 {
				doc := problemDoc(t, res, body)
				d, _ := doc["detail"].(string)
				for _, why := range []string{"expired", "unknown"} {
					if strings.Contains(d, why) {
						t.Errorf("problem detail %q tells the client the key is %s", d, why)
					}
				}
				if tt.wantChall != "" && res.Header.Get("WWW-Authenticate") != tt.wantChall {
					t.Errorf("WWW-Authenticate = %q, want %q", res.Header.Get("WWW-Authenticate"), tt.wantChall)
				}
				if res.Header.Get("WWW-Authenticate") == "" {
					t.Error("401 without WWW-Authenticate")
				}
				return
			}
			c := consumerOf(t, body)
			if c == nil {
				t.Fatalf("consumer = nil, want %q", tt.wantID)
			}
			if got, want := whoOf(c), (who{ID: tt.wantID, Credential: tt.wantKey, Method: "apikey"}); got != want {
				t.Errorf("consumer = %+v, want %+v", got, want)
			}
		})
	}
}

func TestRevokedAPIKeyStopsWorkingAtOnce(t *testing.T) {
	t.Parallel()
	keys := auth.NewMemoryAPIKeys(auth.APIKey{ID: "k1", Consumer: "acme", Hash: auth.HashAPIKey("s1")})
	authn := auth.NewAPIKeyAuth(auth.APIKeyConfig{Keys: keys, Consumers: testConsumers()})
	srv := serve(t, auth.New(auth.Config{Authenticators: []auth.Authenticator{authn}})(whoami))
	if res, _ := do(t, srv, newRequest(t, http.MethodGet, srv.URL, nil, "X-API-Key", "s1")); res.StatusCode != http.StatusOK {
		t.Fatalf("before revocation: status %d, want 200", res.StatusCode)
	}
	keys.Delete("k1")
	if res, _ := do(t, srv, newRequest(t, http.MethodGet, srv.URL, nil, "X-API-Key", "s1")); res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("after revocation: status %d, want 401", res.StatusCode)
	}
}

func TestConsumerChangesReachKeyHoldersWithoutRestart(t *testing.T) {
	t.Parallel()
	reg := testConsumers()
	keys := auth.NewMemoryAPIKeys(auth.APIKey{ID: "k1", Consumer: "bob", Hash: auth.HashAPIKey("s1")})
	authn := auth.NewAPIKeyAuth(auth.APIKeyConfig{Keys: keys, Consumers: reg})
	srv := serve(t, auth.New(auth.Config{Authenticators: []auth.Authenticator{authn}})(whoami))
	_, body := do(t, srv, newRequest(t, http.MethodGet, srv.URL, nil, "X-API-Key", "s1"))
	if c := consumerOf(t, body); c.Plan != "free" {
		t.Fatalf("plan = %q, want free", c.Plan)
	}
	reg.Put(&middleware.Consumer{ID: "bob", Plan: "gold"})
	_, body = do(t, srv, newRequest(t, http.MethodGet, srv.URL, nil, "X-API-Key", "s1"))
	c := consumerOf(t, body)
	if got, want := c.Plan, "gold"; got != want {
		t.Errorf("plan after upgrade = %q, want %q", got, want)
	}
	if got, want := c.Credential, "k1"; got != want {
		t.Errorf("credential after upgrade = %q, want %q", got, want)
	}
}

func TestParseAPIKeyHash(t *testing.T) {
	t.Parallel()
	want := auth.HashAPIKey("secret")
	hexed := "2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b"
	tests := []struct {
		name    string
		in      string
		wantErr string
	}{
		{name: "bare hex parses", in: hexed},
		{name: "a sha256 prefix is accepted", in: "sha256:" + hexed},
		{name: "a short hash names the expected length", in: "abcd", wantErr: "want 64 hex digits"},
		{name: "non-hex digits are refused", in: strings.Repeat("zz", 32), wantErr: "not hex"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := auth.ParseAPIKeyHash(tt.in)
			if tt.wantErr != "" {
				wantErrContaining(t, err, tt.wantErr)
				return
			}
			if err != nil {
				t.Fatalf("ParseAPIKeyHash: %v", err)
			}
			if got != want {
				t.Fatalf("ParseAPIKeyHash = %x, want %x", got, want)
			}
		})
	}
}

func FuzzParseAPIKeyHash(f *testing.F) {
	f.Add("sha256:2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b")
	f.Add("")
	f.Add("sha256:")
	f.Fuzz(func(t *testing.T, s string) {
		h, err := auth.ParseAPIKeyHash(s)
		if err != nil {
			return
		}
		// Whatever parsed must round-trip through its hex form.
		again, err := auth.ParseAPIKeyHash(strings.ToLower(strings.TrimPrefix(strings.TrimSpace(s), "sha256:")))
		if err != nil {
			t.Fatalf("%q parsed to %x but its hex form does not parse: %v", s, h, err)
		}
		if again != h {
			t.Fatalf("%q parsed to %x but its hex form gave %x", s, h, again)
		}
	})
}

func TestAnAPIKeyAuthSaysWhereItReadsKeys(t *testing.T) {
	t.Parallel()
	keys := auth.NewMemoryAPIKeys()
	byDefault := auth.NewAPIKeyAuth(auth.APIKeyConfig{Keys: keys, Consumers: testConsumers()})
	if got, want := byDefault.Headers(), []string{"Authorization", "X-API-Key"}; !slices.Equal(got, want) {
		t.Errorf("default Headers() = %q, want %q", got, want)
	}
	if got, want := byDefault.Query(), ""; got != want {
		t.Errorf("default Query() = %q, want %q", got, want)
	}
	custom := auth.NewAPIKeyAuth(auth.APIKeyConfig{Keys: keys, Consumers: testConsumers(), Headers: []string{"x-token"}, Query: "key"})
	if got, want := custom.Headers(), []string{"x-token"}; !slices.Equal(got, want) {
		t.Errorf("Headers() = %q, want %q, as configured", got, want)
	}
	if got, want := custom.Query(), "key"; got != want {
		t.Errorf("Query() = %q, want %q", got, want)
	}
}
