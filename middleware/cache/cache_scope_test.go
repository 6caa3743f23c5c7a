package cache_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/portico-dev/portico/middleware"
	"github.com/portico-dev/portico/middleware/cache"
	"github.com/portico-dev/portico/middleware/internal/mwtest"
)

// asConsumer stands in for an authenticator (see mwtest.AsConsumer).
var asConsumer = mwtest.AsConsumer

func TestScopesSeparateConsumersAndTenants(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		scope     func(*http.Request) string
		callers   [][2]string // consumer, tenant
		wantCalls int64
	}{
		{
			name:      "ConsumerScope gives each consumer its own entries",
			scope:     cache.ConsumerScope,
			callers:   [][2]string{{"alice", "acme"}, {"bob", "acme"}, {"alice", "acme"}},
			wantCalls: 2,
		},
		{
			name:      "TenantScope shares entries within a tenant",
			scope:     cache.TenantScope,
			callers:   [][2]string{{"alice", "acme"}, {"bob", "acme"}, {"carol", "globex"}},
			wantCalls: 2,
		},
		{
			name:      "TenantScope falls back to the consumer without a tenant",
			scope:     cache.TenantScope,
			callers:   [][2]string{{"alice", ""}, {"bob", ""}},
			wantCalls: 2,
		},
		{
			name:      "anonymous callers share one scope",
			scope:     cache.ConsumerScope,
			callers:   [][2]string{{"", ""}, {"", ""}},
			wantCalls: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			o := newCountingOrigin(t, func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Cache-Control", "max-age=60")
				fmt.Fprint(w, "data")
			})
			caching := cache.New(cache.Config{Scope: tt.scope})
			gw := frontFor(t, o, func(h http.Handler) http.Handler { return asConsumer(caching(h)) })
			for _, c := range tt.callers {
				fetch(t, http.MethodGet, gw.URL+"/report", map[string]string{"X-Test-Consumer": c[0], "X-Test-Tenant": c[1]}, nil)
			}
			if n := o.Calls.Load(); n != tt.wantCalls {
				t.Errorf("upstream calls = %d, want %d", n, tt.wantCalls)
			}
		})
	}
}

func TestIdempotencyKeysBelongToTheConsumerByDefault(t *testing.T) {
	t.Parallel()
	o := orderOrigin(t)
	idem := cache.Idempotency(cache.IdempotencyConfig{})
	gw := frontFor(t, o, func(h http.Handler) http.Handler { return asConsumer(idem(h)) })
	alice := fetch(t, http.MethodPost, gw.URL+"/orders", map[string]string{"Idempotency-Key": "k", "X-Test-Consumer": "alice"}, strings.NewReader("x"))
	bob := fetch(t, http.MethodPost, gw.URL+"/orders", map[string]string{"Idempotency-Key": "k", "X-Test-Consumer": "bob"}, strings.NewReader("x"))
	again := fetch(t, http.MethodPost, gw.URL+"/orders", map[string]string{"Idempotency-Key": "k", "X-Test-Consumer": "alice"}, strings.NewReader("x"))
	if bob.body == alice.body {
		t.Errorf("bob got alice's response: %q", bob.body)
	}
	if got := bob.header.Get("Idempotent-Replayed"); got != "" {
		t.Errorf("bob's response: Idempotent-Replayed = %q, want none", got)
	}
	if got, want := again.body, alice.body; got != want {
		t.Errorf("alice's retry = %q, want her first response %q", got, want)
	}
	if got, want := again.header.Get("Idempotent-Replayed"), "true"; got != want {
		t.Errorf("alice's retry: Idempotent-Replayed = %q, want %q", got, want)
	}
	if n := o.Calls.Load(); n != 2 {
		t.Errorf("upstream calls = %d, want 2", n)
	}
}

func TestTransformTemplatesReadTheConsumer(t *testing.T) {
	t.Parallel()
	o := echoHeaders(t)
	tr := middleware.Transform(middleware.TransformConfig{Request: middleware.HeaderRules{
		Set: map[string]string{"X-Consumer-Id": "{consumer.id}", "X-Tenant": "{consumer.tenant}/{consumer.plan}"},
	}})
	gw := frontFor(t, o, func(h http.Handler) http.Handler { return asConsumer(tr(h)) })
	got := fetch(t, http.MethodGet, gw.URL+"/", map[string]string{"X-Test-Consumer": "c-7", "X-Test-Tenant": "acme"}, nil)
	for _, want := range []string{`"X-Consumer-Id":["c-7"]`, `"X-Tenant":["acme/gold"]`} {
		if !strings.Contains(got.body, want) {
			t.Errorf("upstream saw %s, want %s", got.body, want)
		}
	}
}
