package gateway

import (
	"cmp"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/portico-dev/portico/gateway/internal/fields"
	"github.com/portico-dev/portico/middleware/auth"
	"github.com/portico-dev/portico/middleware/ratelimit"
)

// stage is one named step of a route's chain.
type stage struct {
	name string
	mw   func(http.Handler) http.Handler
}

func joinNames(names []string) string { return strings.Join(names, ", ") }

// routeStages validates the built-in stages of a route's policy and
// builds them in the order [Policy] documents, outermost first.
func (g *Gateway) routeStages(errs fields.Collector, spec Route) []stage {
	p := spec.Policy
	n := errs.Len()
	checkLimits(errs, p, g.cfg.keys)
	checkCaching(errs, p)
	authn := g.authStages(errs, p.Auth)
	sub := g.subscriptionStage(errs, p)
	if errs.Len() > n {
		return nil
	}
	name := stateName(spec)
	rid := routeIdentity(spec, name)
	var out []stage
	if p.Lifecycle != nil {
		out = append(out, g.lifecycleStage(*p.Lifecycle))
	}
	out = append(out, authn...)
	if sub != nil {
		out = append(out, *sub)
	}
	out = append(out, g.identityStage())
	if p.RateLimit != nil {
		out = append(out, stage{rateName(*p.RateLimit), g.rateLimit(name, rid, *p.RateLimit)})
	}
	if p.Quota != nil {
		qc := g.quota(name, rid, *p.Quota)
		g.quotas = append(g.quotas, routeQuota{route: spec.Name, cfg: qc})
		out = append(out, stage{"quota(" + cmp.Or(p.Quota.Period, "day") + ")", ratelimit.Quota(qc)})
	}
	if spec.validate != nil {
		out = append(out, stage{"validate", spec.validate})
	}
	if v := spec.Versions; v != nil && validVersions(v) {
		out = append(out, g.versionStage(*v))
	}
	if p.Cache != nil {
		out = append(out, g.cacheStage(spec, name))
	}
	if p.Idempotency != nil {
		out = append(out, g.idempotencyStage(*p.Idempotency))
	}
	if p.Transform != nil {
		out = append(out, g.transformStage(*p.Transform))
	}
	return out
}

// subscriptionStage checks the policy's subscription, if any, with the
// guard a part set (see Builder.Subscriptions). errs is at the policy; it
// returns nil if there is no subscription or it added an error.
func (g *Gateway) subscriptionStage(errs fields.Collector, p Policy) *stage {
	switch {
	case p.Subscription == "":
		return nil
	case g.guard == nil:
		errs.Addf("subscription", "needs a platform: add a platform section (or config.WithPlatform)")
		return nil
	case p.Auth == nil:
		errs.Addf("subscription", "needs auth to know the consumer: add auth with methods [platform]")
		return nil
	case !fields.ValidID(p.Subscription):
		errs.Addf("subscription", "%q is not an API ID: use 1 to 64 letters, digits, '-' or '_', starting with a letter or digit", p.Subscription)
		return nil
	}
	return &stage{"subscription(" + p.Subscription + ")", g.guard(p.Subscription)}
}

// stateName is the name of a route in its stages' settings and state:
// its Name, else its methods and path.
func stateName(spec Route) string {
	if spec.Name != "" {
		return spec.Name
	}
	return strings.Join(spec.Methods, ",") + " " + spec.Path + spec.Prefix
}

func rateName(l RateLimit) string {
	s := "rate_limit(" + strconv.Itoa(l.Requests) + "/" + cmp.Or(l.Per, time.Second).String()
	if l.Key != "" {
		s += ", key=" + l.Key
	}
	if len(l.Plans) > 0 {
		s += ", plans=" + joinNames(fields.SortedKeys(l.Plans))
	}
	return s + ")"
}

// identityStage strips the identity headers from the request and sets
// them from the verified consumer. It is shared by every route.
func (g *Gateway) identityStage() stage {
	if g.identity == nil {
		id := g.cfg.identity
		g.identity = auth.IdentityHeaders(auth.IdentityConfig{ConsumerHeader: id.Consumer,
			TenantHeader: id.Tenant, PlanHeader: id.Plan, ScopesHeader: id.Scopes, RolesHeader: id.Roles, Strip: id.Strip})
	}
	return stage{"identity", g.identity}
}
