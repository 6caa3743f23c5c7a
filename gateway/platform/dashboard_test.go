package platform_test

import (
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/portico-dev/portico/gateway/platform"
)

// rowOf returns the breakdown row of key on a dashboard page.
func rowOf(page, key string) string {
	return regexp.MustCompile(`<tr class="row" data-key="` + regexp.QuoteMeta(key) + `">.*</tr>`).FindString(page)
}

func TestTheDashboardDrillsDownFromTenantToConsumerToAPIToRoute(t *testing.T) {
	t.Parallel()
	g := newGateway(t, platform.NewMemoryStore())
	shop, _ := g.seed(t)
	var sub platform.Subscription
	g.call(t, http.MethodPost, "/subscriptions", shop, map[string]string{"api": "orders"}).json(t, &sub)
	g.adm(t, http.MethodPost, "/api/subscriptions/"+sub.ID+"/approve", nil, http.StatusOK)
	for i := range 3 {
		g.call(t, http.MethodGet, "/orders/"+strconv.Itoa(i), shop, nil)
	}
	g.call(t, http.MethodGet, "/orders/fail", shop, nil)
	for range 2 {
		g.call(t, http.MethodGet, "/orders/1", "", nil) // anonymous: refused, attributed to no tenant
	}
	g.flush(t)

	page := func(q string) string {
		t.Helper()
		return string(g.adm(t, http.MethodGet, "/dashboard?"+q, nil, http.StatusOK).body)
	}
	top := page("window=15m")
	if !strings.Contains(top, `<a href="dashboard?by=consumer&amp;tenant=acme&amp;window=15m0s">acme</a>`) {
		t.Errorf("the tenant row does not link acme's consumers:\n%s", rowOf(top, "acme"))
	}
	// The unattributed calls are a row of their own, not the overall total.
	if none := rowOf(top, ""); !strings.Contains(none, "<td>(none)</td><td>2</td>") {
		t.Errorf("the (none) row is not the 2 anonymous calls: %s", none)
	}
	tenant := page("by=consumer&tenant=acme&window=15m")
	if !strings.Contains(tenant, `href="dashboard?by=api&amp;consumer=shop&amp;tenant=acme&amp;window=15m0s"`) {
		t.Errorf("the consumer row does not link shop's APIs:\n%s", rowOf(tenant, "shop"))
	}
	consumer := page("by=api&tenant=acme&consumer=shop&window=15m")
	if got := rowOf(consumer, "orders"); !strings.Contains(got, "<td>4</td>") {
		t.Errorf("shop's orders row does not count its 4 calls: %s", got)
	}
	if !strings.Contains(consumer, `href="dashboard?api=orders&amp;by=route&amp;consumer=shop&amp;tenant=acme&amp;window=15m0s"`) {
		t.Errorf("the API row does not link its routes:\n%s", rowOf(consumer, "orders"))
	}
	routes := page("by=route&tenant=acme&consumer=shop&api=orders&window=15m")
	if !strings.Contains(routes, `class="row" data-key=`) {
		t.Errorf("the route level has no rows:\n%s", routes)
	}
	for name, p := range map[string]string{"tenant": tenant, "consumer": consumer, "route": routes} {
		if !strings.Contains(p, `<tr class="error">`) {
			t.Errorf("the %s level does not show the latest error", name)
		}
		if !regexp.MustCompile(`<td>[0-9.]+ ms</td>`).MatchString(p) {
			t.Errorf("the %s level shows no latency in ms", name)
		}
	}
	if !strings.Contains(routes, `API orders</a>`) {
		t.Error("the route level's breadcrumbs do not lead back to the API")
	}
	for _, bad := range []string{"by=route", "by=consumer&api=orders", "by=tenant&consumer=shop", "by=nope"} {
		if got, want := send(t, http.MethodGet, g.admin.URL+"/dashboard?"+bad, adminToken, nil).status, http.StatusBadRequest; got != want {
			t.Errorf("%s: status %d, want %d", bad, got, want)
		}
	}
}

func TestTheDashboardShowsUpstreamHealth(t *testing.T) {
	t.Parallel()
	g := newGateway(t, platform.NewMemoryStore(), platform.WithUpstreamHealth(func() []platform.UpstreamHealth {
		return []platform.UpstreamHealth{{Name: "orders", Instances: 2, Healthy: 1}, {Name: "ledger", Instances: 1}}
	}))
	page := string(g.adm(t, http.MethodGet, "/dashboard", nil, http.StatusOK).body)
	for _, want := range []string{`class="health degraded" data-upstream="orders">orders 1/2 healthy`, `class="health down" data-upstream="ledger">ledger 0/1 healthy`} {
		if !strings.Contains(page, want) {
			t.Errorf("the dashboard lacks %s", want)
		}
	}
}
