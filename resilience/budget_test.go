package resilience_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/portico-dev/portico/resilience"
)

func TestBudgetWindowSlides(t *testing.T) {
	t.Parallel()
	u := newUpstream(t, status(503))
	clk := newClock()
	budget := resilience.NewBudget(resilience.BudgetConfig{
		Ratio:  0.5,
		Min:    1,
		Window: 10 * time.Second,
		Now:    clk.Now,
	})
	tr := resilience.NewTransport(newBase(t), resilience.Retry(resilience.RetryConfig{
		MaxAttempts: 2, BaseDelay: time.Microsecond, Budget: budget,
	}))
	call := func() {
		resp, err := do(t, tr, http.MethodGet, u.URL, nil)
		if err != nil {
			t.Fatal(err)
		}
		readAll(t, resp)
	}
	// 4 failing requests: at most max(1, 0.5*4) = 2 retries.
	for range 4 {
		call()
	}
	if got := u.hits.Load(); got != 6 {
		t.Fatalf("attempts = %d, want 4 + 2 retries", got)
	}
	// Once the window has passed, the spent retries no longer count.
	clk.Advance(11 * time.Second)
	call()
	if got := u.hits.Load(); got != 8 {
		t.Fatalf("attempts = %d, want a retry allowed again in a fresh window", got)
	}
}
