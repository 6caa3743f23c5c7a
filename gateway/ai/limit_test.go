package ai_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portico-dev/portico/aiclient"
	"github.com/portico-dev/portico/aiclient/demo"
	"github.com/portico-dev/portico/gateway/ai"
)

// fixedClock is a clock that stays at one instant inside a window.
func fixedClock() func() time.Time {
	t0 := time.Date(2026, 3, 10, 12, 0, 5, 0, time.UTC)
	return func() time.Time { return t0 }
}

func chatBody(model, text string, maxTokens int) string {
	return fmt.Sprintf(`{"model":%q,"max_tokens":%d,"messages":[{"role":"user","content":%q}]}`, model, maxTokens, text)
}

func TestTokenLimitNeverAdmitsMoreThanTheLimitUnderABurst(t *testing.T) {
	t.Parallel()
	const limit = 600
	rec := &recorder{}
	srv := serve(t, demoClient(), ai.WithAuthenticator(keys()), ai.WithSink(rec), ai.WithClock(fixedClock()),
		ai.WithLimit(ai.Limit{Tokens: limit}))
	var wg sync.WaitGroup
	for i := range 60 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			call(t, "POST", srv.URL+"/v1/chat/completions", demoKey, chatBody("demo", "burst call number "+strconv.Itoa(i), 40))
		}()
	}
	wg.Wait()
	var used, biggest int64
	admitted, refused := 0, 0
	for _, r := range rec.all() {
		switch r.Status {
		case 200:
			admitted++
			used += r.Usage.TotalTokens()
			biggest = max(biggest, r.Usage.TotalTokens())
		case 429:
			refused++
		default:
			t.Errorf("unexpected record %+v", r)
		}
	}
	if used > limit+biggest {
		t.Errorf("admitted calls used %d tokens, more than the limit %d plus one call (%d)", used, limit, biggest)
	}
	if admitted == 0 || refused == 0 {
		t.Errorf("admitted %d, refused %d: the burst should fill the limit", admitted, refused)
	}
}

func TestTokenReservationsAreReconciledWithUsage(t *testing.T) {
	t.Parallel()
	// Each call reserves about 500 tokens and uses about 20, so without
	// reconciliation the second call would not fit in 700.
	srv := serve(t, demoClient(), ai.WithAuthenticator(keys()), ai.WithClock(fixedClock()),
		ai.WithLimit(ai.Limit{Tokens: 700}))
	for i := range 5 {
		status, _, body := call(t, "POST", srv.URL+"/v1/chat/completions", demoKey, chatBody("demo", "hi", 500))
		if status != 200 {
			t.Fatalf("call %d: status %d: %s", i, status, body)
		}
	}
	status, hdr, body := call(t, "POST", srv.URL+"/v1/chat/completions", demoKey, chatBody("demo", "hi", 800))
	v := decode(t, body)
	e := v["error"].(map[string]any)
	if status != 429 || e["code"] != "rate_limit_exceeded" || e["type"] != "tokens" || hdr.Get("Retry-After") != "55" {
		t.Errorf("a call larger than the limit: status %d, Retry-After %q: %s", status, hdr.Get("Retry-After"), body)
	}
}

func TestRequestLimitsByKey(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		limit ai.Limit
		// calls alternate alice and bob on "other"; want is the number served.
		want int
	}{
		{"a consumer limit counts each consumer apart", ai.Limit{Requests: 2, By: ai.ByConsumer}, 4},
		{"a tenant limit is shared by its consumers", ai.Limit{Requests: 2, By: ai.ByTenant}, 2},
		{"a global limit is shared by everyone", ai.Limit{Requests: 3, By: ai.Global}, 3},
		{"an alias limit is shared by the alias's callers", ai.Limit{Requests: 1, By: ai.ByAlias}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := serve(t, demoClient(), ai.WithAuthenticator(keys()), ai.WithClock(fixedClock()), ai.WithLimit(tt.limit))
			served := 0
			for i := range 6 {
				key := demoKey
				if i%2 == 1 {
					key = "test-key-bob"
				}
				status, hdr, body := call(t, "POST", srv.URL+"/v1/chat/completions", key, chatBody("other", "x", 5))
				switch status {
				case 200:
					served++
				case 429:
					if v := decode(t, body)["error"].(map[string]any); v["type"] != "requests" || hdr.Get("Retry-After") == "" {
						t.Errorf("429 = %s", body)
					}
				default:
					t.Fatalf("status %d: %s", status, body)
				}
			}
			if served != tt.want {
				t.Errorf("served %d calls, want %d", served, tt.want)
			}
		})
	}
}

func TestBudgetStopsAtTheBudgetAndRecordsAddUp(t *testing.T) {
	t.Parallel()
	const budget = 0.0005
	rec := &recorder{}
	srv := serve(t, demoClient(), ai.WithAuthenticator(keys()), ai.WithSink(rec), ai.WithClock(fixedClock()),
		ai.WithBudget(ai.Budget{USD: budget, Period: ai.Daily}))
	var last []byte
	for i := 0; ; i++ {
		status, hdr, body := call(t, "POST", srv.URL+"/v1/chat/completions", demoKey, chatBody("demo", "spend some money please", 0))
		if status == 429 {
			last = body
			if hdr.Get("Retry-After") == "" {
				t.Error("no Retry-After on the budget 429")
			}
			break
		}
		if status != 200 || i > 1000 {
			t.Fatalf("call %d: status %d: %s", i, status, body)
		}
	}
	if e := decode(t, last)["error"].(map[string]any); e["code"] != "insufficient_quota" || e["type"] != "insufficient_quota" {
		t.Errorf("refusal = %s", last)
	}
	var spent, lastCost float64
	for _, r := range rec.all() {
		if r.Status == 200 {
			spent += r.Cost
			lastCost = r.Cost
		}
	}
	if spent < budget || spent-lastCost >= budget {
		t.Errorf("served calls cost $%.6f (last $%.6f); the budget is $%.6f", spent, lastCost, budget)
	}
	// Another consumer has its own budget.
	if status, _, body := call(t, "POST", srv.URL+"/v1/chat/completions", "test-key-bob", chatBody("other", "x", 5)); status != 200 {
		t.Errorf("bob: status %d: %s", status, body)
	}
}

// brokenStore fails every call, as Redis does when it is down.
type brokenStore struct{}

func (brokenStore) Add(context.Context, string, int64, int64, time.Time) (int64, bool, error) {
	return 0, false, errors.New("connection refused")
}

func TestStoreOutagesFailAsConfigured(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		open   bool
		status int
	}{
		{"fail closed answers 503", false, 503},
		{"fail open serves the call", true, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := serve(t, demoClient(), ai.WithStore(brokenStore{}), ai.WithFailOpen(tt.open),
				ai.WithLimit(ai.Limit{Tokens: 1000}), ai.WithBudget(ai.Budget{USD: 1}))
			status, _, body := call(t, "POST", srv.URL+"/v1/chat/completions", "", chatBody("demo", "x", 5))
			if status != tt.status {
				t.Errorf("status %d, want %d: %s", status, tt.status, body)
			}
		})
	}
}

func TestInvalidLimitsNameTheField(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		opt  ai.Option
		want string
	}{
		{"a limit without requests or tokens", ai.WithLimit(ai.Limit{}), "limits[0]: set requests, tokens or both"},
		{"an unknown key", ai.WithLimit(ai.Limit{Tokens: 1, By: "planet"}), "limits[0].by"},
		{"a budget of nothing", ai.WithBudget(ai.Budget{USD: math.NaN()}), "budgets[0].usd"},
		{"an unknown period", ai.WithBudget(ai.Budget{USD: 1, Period: "fortnight"}), "budgets[0].period"},
		{"a prefix with a trailing slash", ai.WithPrefix("/v1/"), "prefix"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := ai.New(demoClient(), tt.opt)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v, want one naming %q", err, tt.want)
			}
		})
	}
}

// Regression: a budget silently never counted calls to a model without a
// price.
func TestABudgetWarnsOnceAboutAModelWithoutAPrice(t *testing.T) {
	t.Parallel()
	logs := &syncBuffer{}
	client := aiclient.New(aiclient.WithRoute("demo", aiclient.Candidate{Provider: demo.New()})) // no prices
	srv := serve(t, client, ai.WithBudget(ai.Budget{USD: 1}),
		ai.WithLogger(slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelWarn}))))
	for range 3 {
		if status, _, body := call(t, "POST", srv.URL+"/v1/chat/completions", "", chatBody("demo", "hi", 5)); status != 200 {
			t.Fatalf("status %d: %s", status, body)
		}
	}
	text := logs.String()
	if got, want := strings.Count(text, "budgets do not count its cost"), 1; got != want {
		t.Errorf("%d warnings, want %d:\n%s", got, want, text)
	}
	if !strings.Contains(text, "model=demo") {
		t.Errorf("the warning does not name the model:\n%s", text)
	}
}
