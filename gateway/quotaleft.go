package gateway

import (
	"context"
	"net/http"

	"github.com/portico-dev/portico/middleware"
	"github.com/portico-dev/portico/middleware/ratelimit"
)

// routeQuota is one route's quota, as built.
type routeQuota struct {
	route string
	cfg   ratelimit.QuotaConfig
}

// QuotaLeft reports, by route name, what c has left of every route's
// quota counted by a key c has (the consumer, its tenant...), without
// counting anything. A quota whose store fails is left out.
func (g *Gateway) QuotaLeft(ctx context.Context, c *middleware.Consumer) map[string]ratelimit.QuotaState {
	if c == nil {
		return nil
	}
	r, err := http.NewRequestWithContext(middleware.WithConsumer(ctx, c), http.MethodGet, "/", nil)
	if err != nil {
		return nil
	}
	out := map[string]ratelimit.QuotaState{}
	for _, q := range g.quotas {
		if s, ok, err := ratelimit.QuotaLeft(q.cfg, r); ok && err == nil {
			out[q.route] = s
		}
	}
	return out
}
