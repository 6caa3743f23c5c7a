package auth_test

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/portico-dev/portico/middleware"
	"github.com/portico-dev/portico/middleware/auth"
	"github.com/portico-dev/portico/middleware/ratelimit"
)

func TestServerSentEventsStreamThroughAuthAndLimits(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	sse := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprint(w, "data: first\n\n")
		if err := http.NewResponseController(w).Flush(); err != nil {
			t.Errorf("Flush through the chain: %v", err)
			return
		}
		select { // the second event waits until the client has read the first
		case <-release:
		case <-r.Context().Done():
			return
		}
		fmt.Fprint(w, "data: second\n\n")
	})
	keys := auth.NewMemoryAPIKeys(auth.APIKey{ID: "k", Consumer: "acme", Hash: auth.HashAPIKey("acme")})
	srv := serve(t, middleware.Chain(
		auth.New(auth.Config{Authenticators: []auth.Authenticator{auth.NewAPIKeyAuth(auth.APIKeyConfig{Keys: keys, Consumers: testConsumers()})}}),
		auth.Authorize(auth.AuthzConfig{Scopes: []string{"orders:read"}}),
		auth.IdentityHeaders(auth.IdentityConfig{}),
		ratelimit.New(ratelimit.Config{Limit: ratelimit.PerSecond(10)}),
		ratelimit.Quota(ratelimit.QuotaConfig{Limit: 10}),
	)(sse))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	req := newRequest(t, http.MethodGet, srv.URL, nil, "X-API-Key", "acme")
	res, err := srv.Client().Do(req.WithContext(ctx))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	rd := bufio.NewReader(res.Body)
	line, err := rd.ReadString('\n')
	if err != nil {
		t.Fatalf("first line: %v; want the first event before the handler finishes", err)
	}
	if want := "data: first\n"; line != want {
		t.Fatalf("first line = %q, want %q", line, want)
	}
	close(release)
	_, _ = rd.ReadString('\n')
	if line, _ = rd.ReadString('\n'); line != "data: second\n" {
		t.Fatalf("second event line = %q", line)
	}
}
