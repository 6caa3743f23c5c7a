package resilience_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/metric/noop"

	"github.com/portico-dev/portico/resilience"
)

// contexts answers every attempt in memory, with a body or with an
// error, and keeps each attempt's context.
type contexts struct {
	fail bool
	mu   sync.Mutex
	seen []context.Context
}

func (c *contexts) RoundTrip(r *http.Request) (*http.Response, error) {
	c.mu.Lock()
	c.seen = append(c.seen, r.Context())
	c.mu.Unlock()
	if c.fail {
		return nil, errors.New("connection refused")
	}
	return &http.Response{StatusCode: http.StatusOK, Body: io.NopCloser(strings.NewReader("ok")), Request: r}, nil
}

// newCaller returns a caller's context, and a function that counts the
// contexts derived from it that are still live: a cancellable context
// keeps its live children in a map of the standard library's, read here
// by reflection.
func newCaller(t *testing.T) (context.Context, func() int) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	children := reflect.ValueOf(ctx).Elem().FieldByName("children")
	if !children.IsValid() || children.Kind() != reflect.Map {
		t.Skip("this Go's cancellable context keeps no map of its children")
	}
	return ctx, children.Len
}

func (c *contexts) all() []context.Context {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]context.Context(nil), c.seen...)
}

// contextPolicies are the policies that make contexts of their own, alone
// and together. (Retry alone makes none: its attempts run under the
// caller's context.)
func contextPolicies() map[string][]resilience.Option {
	retry := func() resilience.Policy {
		return resilience.Retry(resilience.RetryConfig{BaseDelay: time.Millisecond, MaxDelay: time.Millisecond})
	}
	return map[string][]resilience.Option{
		"timeout":                         {resilience.Timeout(time.Hour)},
		"overall timeout":                 {resilience.OverallTimeout(time.Hour)},
		"retry and timeout":               {retry(), resilience.Timeout(time.Hour)},
		"overall timeout, retry, timeout": {resilience.OverallTimeout(time.Hour), retry(), resilience.Timeout(time.Hour)},
		"hedge":                           {resilience.Hedge(resilience.HedgeConfig{Delay: time.Hour})},
		"hedge and timeout":               {resilience.Hedge(resilience.HedgeConfig{Delay: time.Hour}), resilience.Timeout(time.Hour)},
		"fallback and overall timeout": {resilience.Fallback(resilience.FallbackConfig{When: func(*http.Response, error) bool { return false }, Status: 503}),
			resilience.OverallTimeout(time.Hour)},
	}
}

func TestAnAnswersContextLastsUntilItsBodyIsClosed(t *testing.T) {
	t.Parallel()
	for name, policies := range contextPolicies() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			next := &contexts{}
			tr := resilience.NewTransport(next, append(policies, resilience.WithMeterProvider(noop.NewMeterProvider()))...)
			caller, live := newCaller(t)
			req, _ := http.NewRequestWithContext(caller, http.MethodGet, "http://upstream.test/", nil)
			resp, err := tr.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			seen := next.all()
			if got, want := len(seen), 1; got != want {
				t.Fatalf("attempts = %d, want %d", got, want)
			}
			if err := seen[0].Err(); err != nil {
				t.Errorf("the attempt's context ended before its body was read: %v", err)
			}
			resp.Body.Close()
			if seen[0].Err() == nil {
				t.Error("the attempt's context is still live after its body was closed")
			}
			if got := live(); got != 0 {
				t.Errorf("%d contexts derived from the caller's are still live after the body was closed", got)
			}
		})
	}
}

func TestEveryAttemptsContextEndsWhenTheCallFails(t *testing.T) {
	t.Parallel()
	for name, policies := range contextPolicies() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			next := &contexts{fail: true}
			tr := resilience.NewTransport(next, append(policies, resilience.WithMeterProvider(noop.NewMeterProvider()))...)
			caller, live := newCaller(t)
			req, _ := http.NewRequestWithContext(caller, http.MethodGet, "http://upstream.test/", nil)
			if _, err := tr.RoundTrip(req); err == nil {
				t.Fatal("a failing upstream was answered")
			}
			for i, ctx := range next.all() {
				if ctx.Err() == nil {
					t.Errorf("attempt %d's context is still live after the call failed", i+1)
				}
			}
			if got := live(); got != 0 {
				t.Errorf("%d contexts derived from the caller's are still live after the call failed", got)
			}
		})
	}
}
