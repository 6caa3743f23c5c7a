package auth_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portico-dev/portico/middleware/auth"
)

// authServer is an RFC 7662 introspection endpoint: tokens "active-<sub>"
// are active for an hour, "down" answers 500, anything else is inactive.
func authServer(t *testing.T, clock *fakeClock) (*httptest.Server, *atomic.Int64) {
	var calls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		if id, secret, _ := r.BasicAuth(); [2]string{id, secret} != [2]string{"gateway", "s3cret"} {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		if err := r.ParseForm(); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		tok := r.PostForm.Get("token")
		w.Header().Set("Content-Type", "application/json")
		switch {
		case tok == "down":
			http.Error(w, "boom", http.StatusInternalServerError)
		case len(tok) > 7 && tok[:7] == "active-":
			_ = json.NewEncoder(w).Encode(map[string]any{
				"active": true, "sub": tok[7:], "scope": "orders:read", "aud": []string{"orders-api"},
				"exp": clock.Now().Add(time.Hour).Unix(), "jti": "j-" + tok[7:],
			})
		default:
			_, _ = w.Write([]byte(`{"active":false}`))
		}
	}))
	t.Cleanup(srv.Close)
	return srv, &calls
}

func TestIntrospection(t *testing.T) {
	t.Parallel()
	clock := newClock()
	as, calls := authServer(t, clock)
	authn := auth.NewIntrospectionAuth(auth.IntrospectionConfig{
		URL:          as.URL,
		ClientID:     "gateway",
		ClientSecret: "s3cret",
		Client:       as.Client(),
		Audience:     "orders-api",
		CacheSize:    10,
		CacheTTL:     time.Minute,
		Now:          clock.Now,
	})
	srv := serve(t, auth.New(auth.Config{Authenticators: []auth.Authenticator{authn}})(whoami))
	bearer := func(tok string) (int, []byte) {
		res, body := do(t, srv, newRequest(t, http.MethodGet, srv.URL, nil, "Authorization", "Bearer "+tok))
		return res.StatusCode, body
	}

	code, body := bearer("active-acme")
	if want := http.StatusOK; code != want {
		t.Fatalf("active token: status = %d, want %d", code, want)
	}
	c := consumerOf(t, body)
	if got, want := (who{ID: c.ID, Method: c.Method}), (who{ID: "acme", Method: "introspection"}); got != want {
		t.Errorf("active token: consumer = %+v, want %+v", got, want)
	}
	if !c.HasScope("orders:read") {
		t.Errorf("active token: scopes = %q, want orders:read", c.Scopes)
	}
	before := calls.Load()
	if code, _ := bearer("active-acme"); code != http.StatusOK {
		t.Fatalf("second use: status = %d, want %d", code, http.StatusOK)
	}
	if got := calls.Load() - before; got != 0 {
		t.Fatalf("second use: %d endpoint calls, want 0: answered from the cache", got)
	}
	clock.Advance(2 * time.Minute)
	if code, _ := bearer("active-acme"); code != http.StatusOK {
		t.Fatalf("after the cache TTL: status = %d, want %d", code, http.StatusOK)
	}
	if got := calls.Load() - before; got != 1 {
		t.Fatalf("after the cache TTL: %d endpoint calls, want 1", got)
	}

	t.Run("an inactive token is refused and not cached", func(t *testing.T) {
		n := calls.Load()
		for range 2 {
			if code, _ := bearer("revoked"); code != 401 {
				t.Fatalf("status %d, want 401", code)
			}
		}
		if calls.Load()-n != 2 {
			t.Fatalf("%d endpoint calls for two uses of an inactive token, want 2", calls.Load()-n)
		}
	})
	t.Run("an endpoint failure answers 503", func(t *testing.T) {
		if code, _ := bearer("down"); code != 503 {
			t.Fatalf("status %d, want 503", code)
		}
	})
	t.Run("the cache holds at most CacheSize results", func(t *testing.T) {
		for i := range 50 {
			if code, _ := bearer(fmt.Sprintf("active-user%d", i)); code != 200 {
				t.Fatalf("status %d, want 200", code)
			}
		}
		if n := authn.CacheLen(); n > 10 {
			t.Fatalf("cache holds %d results, want at most 10", n)
		}
	})
}

func TestIntrospectionChecksTheAudience(t *testing.T) {
	t.Parallel()
	clock := newClock()
	as, _ := authServer(t, clock)
	authn := auth.NewIntrospectionAuth(auth.IntrospectionConfig{
		URL:          as.URL,
		ClientID:     "gateway",
		ClientSecret: "s3cret",
		Client:       as.Client(),
		Audience:     "billing-api",
		Now:          clock.Now,
	})
	srv := serve(t, auth.New(auth.Config{Authenticators: []auth.Authenticator{authn}})(whoami))
	res, _ := do(t, srv, newRequest(t, http.MethodGet, srv.URL, nil, "Authorization", "Bearer active-acme"))
	if res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("token for another audience: status %d, want 401", res.StatusCode)
	}
}
