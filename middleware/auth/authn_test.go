package auth_test

import (
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/portico-dev/portico/middleware"
	"github.com/portico-dev/portico/middleware/auth"
)

func TestAuthenticateTriesEachAuthenticatorInTurn(t *testing.T) {
	t.Parallel()
	keys := auth.NewMemoryAPIKeys(auth.APIKey{ID: "k1", Consumer: "acme", Hash: auth.HashAPIKey("acme-key")})
	apiKeys := auth.NewAPIKeyAuth(auth.APIKeyConfig{Keys: keys, Consumers: testConsumers(), Headers: []string{"X-API-Key"}})
	down := auth.AuthenticatorFunc(func(r *http.Request) (*middleware.Consumer, error) {
		if r.Header.Get("X-Down") == "" {
			return nil, auth.ErrNoCredentials
		}
		return nil, errors.Join(auth.ErrUnavailable, errors.New("backend at 10.0.0.7 refused"))
	})
	fixed := auth.AuthenticatorFunc(func(r *http.Request) (*middleware.Consumer, error) {
		if r.Header.Get("X-Fixed") == "" {
			return nil, auth.ErrNoCredentials
		}
		return &middleware.Consumer{ID: "fixed"}, nil
	})
	sink := &logSink{}
	chain := func(anon bool) http.Handler {
		return auth.New(auth.Config{
			Authenticators: []auth.Authenticator{apiKeys, down, fixed},
			Anonymous:      anon,
			Logger:         slog.New(sink),
		})(whoami)
	}
	strict, open := serve(t, chain(false)), serve(t, chain(true))
	tests := []struct {
		name       string
		srv        string
		headers    []string
		wantStatus int
		wantBody   string
	}{
		{
			name:       "the first authenticator to succeed wins",
			srv:        strict.URL,
			headers:    []string{"X-API-Key", "acme-key", "X-Fixed", "1"},
			wantStatus: 200,
			wantBody:   "acme",
		},
		{
			name:       "a later authenticator succeeds when earlier ones find no credentials",
			srv:        strict.URL,
			headers:    []string{"X-Fixed", "1"},
			wantStatus: 200,
			wantBody:   "fixed",
		},
		{
			name:       "a later success outweighs an earlier invalid credential",
			srv:        strict.URL,
			headers:    []string{"X-API-Key", "bad", "X-Fixed", "1"},
			wantStatus: 200,
			wantBody:   "fixed",
		},
		{name: "no credentials on a strict route gets 401", srv: strict.URL, wantStatus: 401},
		{
			name:       "no credentials on an anonymous route passes without a consumer",
			srv:        open.URL,
			wantStatus: 200,
			wantBody:   "anonymous",
		},
		{
			name:       "an invalid credential on an anonymous route is still refused",
			srv:        open.URL,
			headers:    []string{"X-API-Key", "bad"},
			wantStatus: 401,
		},
		{
			name:       "an unavailable backend gets 503 without its address",
			srv:        strict.URL,
			headers:    []string{"X-Down", "1"},
			wantStatus: 503,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res, body := do(t, pick(strict, open, tt.srv), newRequest(t, http.MethodGet, tt.srv, nil, tt.headers...))
			if res.StatusCode != tt.wantStatus {
				t.Fatalf("status = %d, want %d (body %s)", res.StatusCode, tt.wantStatus, body)
			}
			switch {
			case tt.wantStatus >= 400:
				doc := problemDoc(t, res, body)
				d := doc["detail"].(string)
				if d == "" {
					t.Error("detail is empty")
				}
				if strings.Contains(d, "10.0.0.7") {
					t.Errorf("detail %q leaks the backend", d)
				}
			case tt.wantBody == "anonymous":
				if string(body) != "anonymous" {
					t.Fatalf("body = %q, want anonymous", body)
				}
			default:
				c := consumerOf(t, body)
				if c == nil {
					t.Fatalf("consumer = nil, want %q", tt.wantBody)
				}
				if got, want := c.ID, tt.wantBody; got != want {
					t.Fatalf("consumer = %q, want %q", got, want)
				}
			}
		})
	}
}

func TestAuthenticateNeedsAnAuthenticator(t *testing.T) {
	t.Parallel()
	defer func() {
		if r := recover(); r == nil {
			t.Fatal("Authenticate with no authenticator did not panic")
		}
	}()
	auth.New(auth.Config{})
}
