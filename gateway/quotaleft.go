package gateway

import (
	"context"
	"net/http"
	"time"

	"github.com/portico-dev/portico/middleware"
)

// QuotaLeft is what a consumer has left of one route's quota (see
// [Quota]) in the current period.
type QuotaLeft struct {
	// Route is the route's name; API its [Policy].Subscription, if any.
	Route string `json:"route"`
	API   string `json:"api,omitempty"`
	// Quota is the quota's name in the RateLimit headers.
	Quota string `json:"quota"`
	// Period is "day" or "month"; Resets is when it ends.
	Period string    `json:"period"`
	Resets time.Time `json:"resets"`
	// Limit is what the consumer's plan allows per period, Used what it
	// has used and Left what remains.
	Limit int64 `json:"limit"`
	Used  int64 `json:"used"`
	Left  int64 `json:"left"`
}

// routeQuota is one route's quota, as built.
type routeQuota struct {
	route, api, period string
	cfg                middleware.QuotaConfig
}

// QuotaLeft reports, for every route with a quota counted by a key c has
// (the consumer, its tenant...), what c has left in the current period,
// without counting anything. A quota whose store fails is left out.
func (g *Gateway) QuotaLeft(ctx context.Context, c *middleware.Consumer) []QuotaLeft {
	r, err := http.NewRequestWithContext(middleware.WithConsumer(ctx, c), http.MethodGet, "/", nil)
	if err != nil || c == nil {
		return nil
	}
	var out []QuotaLeft
	for _, q := range g.quotas {
		used, limit, resets, ok, err := middleware.QuotaLeft(q.cfg, r)
		if err != nil || !ok {
			continue
		}
		out = append(out, QuotaLeft{Route: q.route, API: q.api, Quota: q.cfg.Name, Period: q.period, Resets: resets,
			Limit: limit, Used: used, Left: max(0, limit-used)})
	}
	return out
}
