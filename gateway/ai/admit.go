package ai

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/portico-dev/portico/aiclient"
	"github.com/portico-dev/portico/middleware"
)

// hold is one reservation in a limit's sliding window.
type hold struct {
	key    string
	n      int64
	window time.Duration
}

// charge is one reservation against a budget's counter.
type charge struct {
	key     string
	n       int64 // micro-dollars reserved
	expires time.Time
}

// admission holds what a call reserved, to reconcile after it.
type admission struct {
	at       time.Time // when the windows were added to
	est      int64     // the tokens each token hold reserved
	requests []hold
	tokens   []hold
	budgets  []charge
}

// admit checks the limits and budgets for a call of an estimated in
// input tokens and at most out output tokens, and reserves them: a
// request and in+out tokens in each limit's sliding window, and the
// call's maximum cost in each budget. On refusal it returns every
// reservation already made and the error to answer with.
func (h *Handler) admit(ctx context.Context, c *middleware.Consumer, alias string, in, out int64) (*admission, *apiError) {
	now := h.cfg.clock()
	a := &admission{at: now, est: in + out}
	for i, l := range h.cfg.limits {
		base := h.cfg.counters[i] + ":" + l.By.name(c, alias)
		if l.Requests > 0 {
			if e := a.take(ctx, h, &a.requests, hold{base + ":req", 1, l.Window}, l.Requests, alias, "requests"); e != nil {
				return nil, e
			}
		}
		if l.Tokens > 0 {
			if a.est > l.Tokens {
				a.cancel(ctx, h)
				return nil, &apiError{status: 429, typ: "tokens", code: "rate_limit_exceeded", retryAfter: l.Window,
					message: fmt.Sprintf("Request too large for %s on tokens per %v: Limit %d, Requested %d. Ask for fewer max_tokens or send a shorter prompt.",
						alias, l.Window, l.Tokens, a.est)}
			}
			if e := a.take(ctx, h, &a.tokens, hold{base + ":tok", a.est, l.Window}, l.Tokens, alias, "tokens"); e != nil {
				return nil, e
			}
		}
	}
	if len(h.cfg.budgets) == 0 {
		return a, nil
	}
	most, _ := h.client.MaxCost(alias, in, out)
	reserve := micros(most)
	for i, b := range h.cfg.budgets {
		start, end := b.Period.bounds(now)
		key := h.cfg.counters[len(h.cfg.limits)+i] + ":" + b.By.name(c, alias) + ":" + strconv.FormatInt(start.Unix(), 10)
		limit := micros(b.USD)
		used, ok, err := h.cfg.store.Add(ctx, key, reserve, limit, end)
		if err != nil {
			if e := h.storeFailed(err); e != nil {
				a.cancel(ctx, h)
				return nil, e
			}
			continue
		}
		if ok && (reserve > 0 || used < limit) {
			a.budgets = append(a.budgets, charge{key, reserve, end})
			continue
		}
		if ok {
			// A free call that fitted in a spent budget: nothing to return.
			used = limit
		}
		a.cancel(ctx, h)
		return nil, overBudget(b, used, limit, reserve, end, now)
	}
	return a, nil
}

// take adds r to its limit's sliding window and, if it fits, to held; if
// it does not, it returns every reservation made so far and the 429.
func (a *admission) take(ctx context.Context, h *Handler, held *[]hold, r hold, limit int64, alias, typ string) *apiError {
	d, err := h.cfg.windows.Add(ctx, r.key, r.n, limit, r.window, a.at)
	switch {
	case err != nil:
		if e := h.storeFailed(err); e != nil {
			a.cancel(ctx, h)
			return e
		}
	case !d.Allowed:
		a.cancel(ctx, h)
		return rateLimited(typ, fmt.Sprintf("Rate limit reached for %s on %s per %v: Limit %d, Used %d, Requested %d.",
			alias, typ, r.window, limit, limit-int64(d.Remaining), r.n), d.RetryAfter)
	default:
		*held = append(*held, r)
	}
	return nil
}

// overBudget is the 429 of a budget that cannot take a call's reservation.
func overBudget(b Budget, used, limit, reserve int64, end, now time.Time) *apiError {
	e := &apiError{status: 429, typ: "insufficient_quota", code: "insufficient_quota", retryAfter: end.Sub(now)}
	if used >= limit {
		e.message = fmt.Sprintf("You exceeded your budget of $%.2f per %s. It resets at %s.", b.USD, b.Period, end.Format(time.RFC3339))
	} else {
		e.message = fmt.Sprintf("This call may cost up to $%.6f, more than the $%.6f left of your budget of $%.2f per %s, counting calls in flight. "+
			"Ask for fewer max_tokens, send a shorter prompt or retry when calls in flight have finished.",
			float64(reserve)/1e6, float64(limit-used)/1e6, b.USD, b.Period)
	}
	return e
}

// end reconciles the reservations of a call that ended with e and resp:
// a call served, or failed after its stream started, whose usage is
// known is counted at its usage and cost; a call that failed before a
// response started returns every token and dollar it reserved (its
// request stays counted); a call that failed after its stream started
// without reporting usage keeps its reservations, since the provider may
// bill what it generated.
func (a *admission) end(ctx context.Context, h *Handler, e *apiError, resp *aiclient.Response, cost float64) {
	switch {
	case a == nil:
	case resp == nil:
		a.settle(ctx, h, 0, 0)
	case e != nil && resp.Usage.TotalTokens() == 0:
	default:
		a.settle(ctx, h, resp.Usage.TotalTokens(), micros(cost))
	}
}

// settle reconciles the token holds with tokens used and the budget
// reservations with the micro-dollars spent.
func (a *admission) settle(ctx context.Context, h *Handler, tokens, spent int64) {
	if d := tokens - a.est; d != 0 {
		for _, r := range a.tokens {
			h.adjust(ctx, r, d, a.at)
		}
	}
	for _, r := range a.budgets {
		if d := spent - r.n; d != 0 {
			h.add(ctx, r.key, d, r.expires)
		}
	}
}

// cancel returns every reservation, requests included, for a call
// refused before it was made.
func (a *admission) cancel(ctx context.Context, h *Handler) {
	for _, r := range a.requests {
		h.adjust(ctx, r, -r.n, a.at)
	}
	a.settle(ctx, h, 0, 0)
}

// adjust changes a window's reservation, logging a store failure.
func (h *Handler) adjust(ctx context.Context, r hold, delta int64, at time.Time) {
	if err := h.cfg.windows.Adjust(context.WithoutCancel(ctx), r.key, delta, r.window, at); err != nil && h.cfg.logger != nil {
		h.cfg.logger.WarnContext(ctx, "portico/ai: window store update failed", "key", r.key, "error", err)
	}
}

// add changes a counter unconditionally, logging a store failure.
func (h *Handler) add(ctx context.Context, key string, n int64, expires time.Time) {
	if _, _, err := h.cfg.store.Add(context.WithoutCancel(ctx), key, n, unlimited, expires); err != nil && h.cfg.logger != nil {
		h.cfg.logger.WarnContext(ctx, "portico/ai: store update failed", "key", key, "error", err)
	}
}

// storeFailed decides what a store failure means: nil to serve the call
// uncounted (fail open), or the 503 to answer.
func (h *Handler) storeFailed(err error) *apiError {
	if h.cfg.logger != nil {
		h.cfg.logger.Warn("portico/ai: limit store unavailable", "error", err, "fail_open", h.cfg.failOpen)
	}
	if h.cfg.failOpen {
		return nil
	}
	return &apiError{status: 503, typ: "server_error", code: "limits_unavailable",
		message: "The gateway cannot check rate limits right now. Please retry shortly.", retryAfter: time.Second}
}

func rateLimited(typ, msg string, retry time.Duration) *apiError {
	return &apiError{status: 429, typ: typ, code: "rate_limit_exceeded", retryAfter: retry,
		message: msg + " Please try again in " + retry.Round(time.Millisecond).String() + "."}
}
