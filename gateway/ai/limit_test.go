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
	"github.com/portico-dev/portico/aiclient/aitest"
	"github.com/portico-dev/portico/aiclient/demo"
	"github.com/portico-dev/portico/aiclient/openai"
	"github.com/portico-dev/portico/gateway/ai"
	"github.com/portico-dev/portico/middleware/ratelimit"
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
	if admitted == 0 {
		t.Errorf("admitted none (refused %d): the burst should fill the limit", refused)
	}
	if refused == 0 {
		t.Errorf("refused none (admitted %d): the burst should fill the limit", admitted)
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
	if got, want := status, 429; got != want {
		t.Errorf("a call larger than the limit: status %d, want %d: %s", got, want, body)
	}
	for key, want := range map[string]any{"code": "rate_limit_exceeded", "type": "tokens"} {
		if got := e[key]; got != want {
			t.Errorf("a call larger than the limit: error %s = %v, want %v", key, got, want)
		}
	}
	if got, want := hdr.Get("Retry-After"), "60"; got != want {
		t.Errorf("a call larger than the limit: Retry-After %q, want %q", got, want)
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
					if got, want := decode(t, body)["error"].(map[string]any)["type"], any("requests"); got != want {
						t.Errorf("429 error type = %v, want %v: %s", got, want, body)
					}
					if hdr.Get("Retry-After") == "" {
						t.Errorf("429 without Retry-After: %s", body)
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

func TestBudgetServesCallsWhileTheirMaximumCostFitsAndRecordsAddUp(t *testing.T) {
	t.Parallel()
	const budget = 0.0005
	rec := &recorder{}
	srv := serve(t, demoClient(), ai.WithAuthenticator(keys()), ai.WithSink(rec), ai.WithClock(fixedClock()),
		ai.WithBudget(ai.Budget{USD: budget, Period: ai.Daily}))
	var last []byte
	for i := 0; ; i++ {
		status, hdr, body := call(t, "POST", srv.URL+"/v1/chat/completions", demoKey, chatBody("demo", "spend some money please", 20))
		if status == 429 {
			last = body
			if hdr.Get("Retry-After") == "" {
				t.Error("no Retry-After on the budget 429")
			}
			break
		}
		if got, want := status, 200; got != want {
			t.Fatalf("call %d: status %d, want %d: %s", i, got, want, body)
		}
		if i > 1000 {
			t.Fatalf("1000 calls and the budget is not spent")
		}
	}
	e := decode(t, last)["error"].(map[string]any)
	if got, want := e["code"], "insufficient_quota"; got != want {
		t.Errorf("code = %v, want %v", got, want)
	}
	if got, want := e["type"], "insufficient_quota"; got != want {
		t.Errorf("type = %v, want %v", got, want)
	}
	var spent float64
	served := 0
	for _, r := range rec.all() {
		if r.Status == 200 {
			spent += r.Cost
			served++
		}
	}
	if spent > budget {
		t.Errorf("served calls cost $%.6f, more than the budget $%.6f", spent, budget)
	}
	// A call reserves at most (6 + 20) tokens' worth: $0.000046 at $2 per
	// million, so the budget is refused only once less than that is left.
	if spent < budget-0.000046 {
		t.Errorf("served calls cost $%.6f (%d calls): the budget of $%.6f refused a call that fitted", spent, served, budget)
	}
	// Another consumer has its own budget.
	if status, _, body := call(t, "POST", srv.URL+"/v1/chat/completions", "test-key-bob", chatBody("other", "x", 5)); status != 200 {
		t.Errorf("bob: status %d: %s", status, body)
	}
}

func TestACallWhoseMaximumCostExceedsTheBudgetIsRefused(t *testing.T) {
	t.Parallel()
	srv := serve(t, demoClient(), ai.WithAuthenticator(keys()), ai.WithClock(fixedClock()),
		ai.WithBudget(ai.Budget{USD: 0.001, Period: ai.Daily}))
	// 1,000 output tokens at $2 per million may cost $0.002.
	status, _, body := call(t, "POST", srv.URL+"/v1/chat/completions", demoKey, chatBody("demo", "hi", 1000))
	if got, want := status, 429; got != want {
		t.Fatalf("status %d, want %d: %s", got, want, body)
	}
	if e := decode(t, body)["error"].(map[string]any); !strings.Contains(e["message"].(string), "may cost up to $0.002") {
		t.Errorf("message = %v, want one naming the call's maximum cost", e["message"])
	}
	if status, _, body := call(t, "POST", srv.URL+"/v1/chat/completions", demoKey, chatBody("demo", "hi", 100)); status != 200 {
		t.Errorf("a call that fits after the refusal: status %d: %s", status, body)
	}
}

// brokenStore fails every call, as Redis does when it is down.
type brokenStore struct{}

func (brokenStore) Add(context.Context, string, int64, int64, time.Time) (int64, bool, error) {
	return 0, false, errors.New("connection refused")
}

// brokenWindows fails every call, as Redis does when it is down.
type brokenWindows struct{}

func (brokenWindows) Add(context.Context, string, int64, int64, time.Duration, time.Time) (ratelimit.Decision, error) {
	return ratelimit.Decision{}, errors.New("connection refused")
}

func (brokenWindows) Adjust(context.Context, string, int64, time.Duration, time.Time) error {
	return errors.New("connection refused")
}

func TestStoreOutagesFailAsConfigured(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		open   bool
		opts   []ai.Option
		status int
	}{
		{
			name:   "fail closed answers 503 when budgets fail",
			open:   false,
			opts:   []ai.Option{ai.WithStore(brokenStore{})},
			status: 503,
		},
		{
			name:   "fail open serves the call when budgets fail",
			open:   true,
			opts:   []ai.Option{ai.WithStore(brokenStore{})},
			status: 200,
		},
		{
			name:   "fail closed answers 503 when limits fail",
			open:   false,
			opts:   []ai.Option{ai.WithWindowStore(brokenWindows{})},
			status: 503,
		},
		{
			name:   "fail open serves the call when limits fail",
			open:   true,
			opts:   []ai.Option{ai.WithWindowStore(brokenWindows{})},
			status: 200,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := serve(t, demoClient(), append(tt.opts, ai.WithFailOpen(tt.open),
				ai.WithLimit(ai.Limit{Tokens: 1000}), ai.WithBudget(ai.Budget{USD: 1}))...)
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
			if err == nil {
				t.Fatalf("error = nil, want one naming %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
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

func TestAStreamCutAfterItsFirstContentKeepsItsReservation(t *testing.T) {
	t.Parallel()
	fake := aitest.NewServer(aitest.OpenAI)
	t.Cleanup(fake.Close)
	client := aiclient.New(
		aiclient.WithRoute("m", aiclient.Candidate{Provider: openai.New(openai.WithBaseURL(fake.URL()), openai.WithAPIKey("sk"), openai.WithPolicies()), Model: "up"}),
		aiclient.WithPrices(aiclient.Prices{"up": {Input: 1000, Output: 1000}})) // $0.001 a token
	srv := serve(t, client, ai.WithAuthenticator(keys()), ai.WithBudget(ai.Budget{USD: 0.1, Period: ai.Daily}))
	// The stream reserves $0.095 and is cut after some text, before the
	// provider reported usage: it may have been billed, so the
	// reservation stays.
	fake.Push(aitest.Reply{Text: "a long answer cut short", Fault: aitest.Cut, FaultAfter: 3})
	status, _, body := call(t, "POST", srv.URL+"/v1/chat/completions", demoKey,
		`{"model":"m","stream":true,"max_tokens":90,"messages":[{"role":"user","content":"hi"}]}`)
	if got, want := status, 200; got != want {
		t.Fatalf("the cut stream: status %d, want %d: %s", got, want, body)
	}
	if !strings.Contains(string(body), `"error"`) {
		t.Fatalf("the cut stream ends without an error event: %s", body)
	}
	// $0.006 more does not fit in the $0.005 left.
	status, _, body = call(t, "POST", srv.URL+"/v1/chat/completions", demoKey, chatBody("m", "hi", 1))
	if got, want := status, 429; got != want {
		t.Errorf("after the cut stream: status %d, want %d: %s", got, want, body)
	}
}
