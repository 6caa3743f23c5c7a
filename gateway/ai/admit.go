package ai

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/portico-dev/portico/aiclient"
	"github.com/portico-dev/portico/middleware"
)

// reservation is a counter increment to reconcile or return.
type reservation struct {
	key     string
	n       int64
	expires time.Time
}

// admission holds what a call reserved.
type admission struct {
	tokens  []reservation
	budgets []reservation
	est     int64
}

// admit checks the limits and budgets for a call estimated at est tokens
// and reserves them. On refusal it returns every reservation already made
// and the error to answer with.
func (h *Handler) admit(ctx context.Context, c *middleware.Consumer, alias string, est int64) (*admission, *apiError) {
	a := &admission{est: est}
	now := h.cfg.clock()
	var reqs []reservation
	undo := func() {
		for _, r := range reqs {
			h.add(ctx, r.key, -r.n, r.expires)
		}
		a.release(ctx, h)
	}
	for i, l := range h.cfg.limits {
		start, end := window(now, l.Window)
		base := h.cfg.counters[i] + ":" + l.By.name(c, alias) + ":" + strconv.FormatInt(start.Unix(), 10)
		if l.Requests > 0 {
			key := base + ":req"
			used, ok, err := h.cfg.store.Add(ctx, key, 1, l.Requests, end)
			if err != nil {
				if e := h.storeFailed(err); e != nil {
					undo()
					return nil, e
				}
			} else if !ok {
				undo()
				return nil, rateLimited("requests", fmt.Sprintf(
					"Rate limit reached for %s on requests per %v: Limit %d, Used %d, Requested 1.",
					alias, l.Window, l.Requests, used), end.Sub(now))
			} else {
				reqs = append(reqs, reservation{key, 1, end})
			}
		}
		if l.Tokens > 0 {
			key := base + ":tok"
			used, ok, err := h.cfg.store.Add(ctx, key, est, l.Tokens, end)
			if err != nil {
				if e := h.storeFailed(err); e != nil {
					undo()
					return nil, e
				}
			} else if !ok {
				undo()
				retry := end.Sub(now)
				if est > l.Tokens {
					return nil, &apiError{status: 429, typ: "tokens", code: "rate_limit_exceeded", retryAfter: retry,
						message: fmt.Sprintf("Request too large for %s on tokens per %v: Limit %d, Requested %d. Ask for fewer max_tokens or send a shorter prompt.",
							alias, l.Window, l.Tokens, est)}
				}
				return nil, rateLimited("tokens", fmt.Sprintf(
					"Rate limit reached for %s on tokens per %v: Limit %d, Used %d, Requested %d.",
					alias, l.Window, l.Tokens, used, est), retry)
			} else {
				a.tokens = append(a.tokens, reservation{key, est, end})
			}
		}
	}
	for i, b := range h.cfg.budgets {
		start, end := b.Period.bounds(now)
		key := h.cfg.counters[len(h.cfg.limits)+i] + ":" + b.By.name(c, alias) + ":" + strconv.FormatInt(start.Unix(), 10)
		used, _, err := h.cfg.store.Add(ctx, key, 0, unlimited, end)
		if err != nil {
			if e := h.storeFailed(err); e != nil {
				undo()
				return nil, e
			}
			continue
		}
		if limit := micros(b.USD); used >= limit {
			undo()
			return nil, &apiError{status: 429, typ: "insufficient_quota", code: "insufficient_quota", retryAfter: end.Sub(now),
				message: fmt.Sprintf("You exceeded your budget of $%.2f per %s. It resets at %s.", b.USD, b.Period, end.Format(time.RFC3339))}
		}
		a.budgets = append(a.budgets, reservation{key: key, expires: end})
	}
	return a, nil
}

// settle reconciles the token reservations with the call's real usage and
// charges its cost to the budgets.
func (a *admission) settle(ctx context.Context, h *Handler, u aiclient.Usage, cost float64) {
	if a == nil {
		return
	}
	if d := u.TotalTokens() - a.est; d != 0 {
		for _, r := range a.tokens {
			h.add(ctx, r.key, d, r.expires)
		}
	}
	if m := micros(cost); m > 0 {
		for _, r := range a.budgets {
			h.add(ctx, r.key, m, r.expires)
		}
	}
}

// release returns every token reservation, for a call that used none.
func (a *admission) release(ctx context.Context, h *Handler) {
	a.settle(ctx, h, aiclient.Usage{}, 0)
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
