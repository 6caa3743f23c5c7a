package ai

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/portico-dev/portico/middleware"
)

// Key says which calls share a limit or a budget.
type Key string

// The keys of limits and budgets.
const (
	// ByConsumer gives each consumer its own counter.
	ByConsumer Key = "consumer"
	// ByTenant gives each tenant one counter shared by its consumers.
	ByTenant Key = "tenant"
	// ByAlias gives each model alias one counter shared by every caller.
	ByAlias Key = "alias"
	// ByConsumerAlias gives each consumer a counter per alias.
	ByConsumerAlias Key = "consumer_alias"
	// Global is one counter for every call.
	Global Key = "global"
)

// Limit is a rate limit on calls or on tokens in a sliding window: no
// span of Window ever admits more than Requests calls or Tokens tokens,
// whatever the clock says, so there is no double burst at the edge of a
// window as with fixed windows (see ratelimit.WindowSlots for how the
// window is counted).
//
// A token limit reserves an estimate of each call before it is made (the
// prompt's size in tokens plus its max_tokens, or the output estimate of
// [WithOutputEstimate]) and refuses the call if the reservation does not
// fit in what the window has left; after the call, the reservation is
// reconciled with the real usage, returning what was not used, and a call
// that fails before its response starts returns all of it. Calls
// admitted together therefore never use more than the limit plus what
// they wrote beyond their estimates. A request limit counts every call
// admitted, failed or not.
type Limit struct {
	// By says which calls share the limit. By default, [ByConsumer].
	By Key `json:"by,omitempty"`
	// Requests is the number of calls per window; zero means no request
	// limit.
	Requests int64 `json:"requests,omitempty"`
	// Tokens is the number of tokens (input and output) per window; zero
	// means no token limit.
	Tokens int64 `json:"tokens,omitempty"`
	// Window is the window's length. By default, a minute.
	Window time.Duration `json:"window,omitempty"`
}

// Period is the length of a budget period, in calendar terms (UTC).
type Period string

// The budget periods.
const (
	Hourly  Period = "hour"
	Daily   Period = "day"
	Monthly Period = "month"
)

// Budget is a spending limit, in US dollars per calendar period, at the
// prices of the client's price table (aiclient.WithPrices).
//
// Before a call, a budget reserves the most the call can cost
// (aiclient.Client.MaxCost: its input estimate and its max_tokens, or the
// output estimate of [WithOutputEstimate], at the highest prices of the
// alias's candidates) and refuses it with a 429 insufficient_quota if
// the reservation does not fit in what the period has left, counting the
// reservations of calls in flight. After the call the reservation is
// reconciled with the real cost; a call that fails before its response
// starts returns all of it. Concurrent calls therefore cannot spend more
// than the budget between them, unless a provider reports more tokens
// than were reserved (a prompt longer than its estimate, or output
// beyond the output estimate of a call without max_tokens), which is
// counted in full.
type Budget struct {
	// By says which calls share the budget. By default, [ByConsumer].
	By Key `json:"by,omitempty"`
	// USD is the budget per period.
	USD float64 `json:"usd"`
	// Period is the budget period. By default, [Monthly].
	Period Period `json:"period,omitempty"`
}

// Store keeps the counters of budgets. It is the method set of
// ratelimit.QuotaStore, so ratelimit.MemoryCounters (in memory, the
// default) and the Quotas of package middleware/redisstore (shared by
// replicas) serve here too. Implementations must be safe for concurrent
// use.
type Store interface {
	// Add adds n to the counter named key if the sum stays at or under
	// limit, and reports the counter's value afterwards (or, if refused,
	// its current value). A negative n, which returns an unused
	// reservation, is always applied. A new counter expires at expires.
	Add(ctx context.Context, key string, n, limit int64, expires time.Time) (used int64, ok bool, err error)
}

// unlimited is the limit given to the store for unconditional additions.
const unlimited = math.MaxInt64 / 2

// validate checks a limit once, at construction.
func (l *Limit) validate(i int) error {
	if l.By == "" {
		l.By = ByConsumer
	}
	if l.Window == 0 {
		l.Window = time.Minute
	}
	switch {
	case !l.By.valid():
		return fmt.Errorf("limits[%d].by: unknown key %q; use consumer, tenant, alias, consumer_alias or global", i, l.By)
	case l.Requests < 0 || l.Tokens < 0:
		return fmt.Errorf("limits[%d]: requests and tokens must not be negative", i)
	case l.Requests == 0 && l.Tokens == 0:
		return fmt.Errorf("limits[%d]: set requests, tokens or both", i)
	case l.Window < time.Second:
		return fmt.Errorf("limits[%d].window: %v is too short; use at least 1s", i, l.Window)
	}
	return nil
}

// validate checks a budget once, at construction.
func (b *Budget) validate(i int) error {
	if b.By == "" {
		b.By = ByConsumer
	}
	if b.Period == "" {
		b.Period = Monthly
	}
	switch {
	case !b.By.valid():
		return fmt.Errorf("budgets[%d].by: unknown key %q; use consumer, tenant, alias, consumer_alias or global", i, b.By)
	case !(b.USD > 0) || math.IsInf(b.USD, 0):
		return fmt.Errorf("budgets[%d].usd: must be a positive amount of dollars", i)
	case b.Period != Hourly && b.Period != Daily && b.Period != Monthly:
		return fmt.Errorf("budgets[%d].period: unknown period %q; use hour, day or month", i, b.Period)
	}
	return nil
}

// counterNames names the counters of each limit, then of each budget,
// by their settings rather than their place in the list: a limit or
// budget whose settings are unchanged keeps counting in the same
// counters, in a store that outlives the handler, when the list is
// reordered or another one is added; one whose settings changed starts
// afresh. A repeated one gets counters of its own.
func counterNames(limits []Limit, budgets []Budget) []string {
	names := make([]string, 0, len(limits)+len(budgets))
	seen := map[string]int{}
	add := func(name string) {
		if n := seen[name]; n > 0 {
			name += "#" + strconv.Itoa(n)
		}
		seen[name]++
		names = append(names, name)
	}
	for _, l := range limits {
		add(fmt.Sprintf("ai:%s:r%d:t%d:%s", l.By, l.Requests, l.Tokens, l.Window))
	}
	for _, b := range budgets {
		add(fmt.Sprintf("ai:usd:%s:%s:%s", b.By, strconv.FormatFloat(b.USD, 'g', -1, 64), b.Period))
	}
	return names
}

func (k Key) valid() bool {
	switch k {
	case ByConsumer, ByTenant, ByAlias, ByConsumerAlias, Global:
		return true
	}
	return false
}

// name returns the counter name of k for a call.
func (k Key) name(c *middleware.Consumer, alias string) string {
	var id, tenant string
	if c != nil {
		id, tenant = c.ID, c.Tenant
	}
	switch k {
	case ByTenant:
		return "t:" + tenant
	case ByAlias:
		return "a:" + alias
	case ByConsumerAlias:
		return "ca:" + id + "\x00" + alias
	case Global:
		return "g"
	default:
		return "c:" + id
	}
}

// period returns the start and end of the calendar period holding now.
func (p Period) bounds(now time.Time) (time.Time, time.Time) {
	now = now.UTC()
	switch p {
	case Hourly:
		s := now.Truncate(time.Hour)
		return s, s.Add(time.Hour)
	case Daily:
		s := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
		return s, s.AddDate(0, 0, 1)
	default:
		s := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
		return s, s.AddDate(0, 1, 0)
	}
}

// micros converts dollars to the integer micro-dollars budgets count in,
// rounding up so that a priced call never counts as free.
func micros(usd float64) int64 {
	if !(usd > 0) {
		return 0
	}
	return int64(math.Ceil(usd * 1e6))
}
