package platform

import (
	"net/http"
	"net/url"
	"time"

	"github.com/portico-dev/portico/gateway/calllog"
	"github.com/portico-dev/portico/internal/problem"
)

// UpstreamHealth is how one upstream pool fares, for the dashboard's
// health panel (see [WithUpstreamHealth]).
type UpstreamHealth struct {
	Name string `json:"name"`
	// Instances is the number of instances in the pool; Healthy the number
	// able to take traffic now.
	Instances int `json:"instances"`
	Healthy   int `json:"healthy"`
}

// WithUpstreamHealth gives the dashboard the health of the gateway's
// upstream pools, read on every page view. By default the dashboard shows
// no health panel.
func WithUpstreamHealth(f func() []UpstreamHealth) Option {
	return optionFunc(func(p *Platform) { p.health = f })
}

// WithCurrency names the currency of AI call costs on the dashboard (the
// currency of the AI price table). By default, "USD".
func WithCurrency(code string) Option {
	return optionFunc(func(p *Platform) { p.currency = code })
}

// ranges are the dashboard's time-range picker.
var ranges = []time.Duration{15 * time.Minute, time.Hour, 6 * time.Hour, 24 * time.Hour}

type dashRow struct {
	Key  string
	Link string // the next level down; empty at the last level
	P    calllog.Point
}

type crumb struct{ Label, Link string }

// dashData is what the dashboard's script reads: the series and the span
// of the time axis, in Unix seconds, so the axis fits the picked range.
type dashData struct {
	Stats
	From    int64 `json:"from"`
	To      int64 `json:"to"`
	Refresh int   `json:"refresh"` // seconds between reloads; 0 for none
}

// dashLink builds a dashboard URL relative to the page.
func dashLink(by calllog.Dimension, tenant, consumer, api string, window time.Duration, refresh bool) string {
	v := url.Values{"by": {string(by)}, "window": {window.String()}}
	for k, s := range map[string]string{"tenant": tenant, "consumer": consumer, "api": api} {
		if s != "" {
			v.Set(k, s)
		}
	}
	if !refresh {
		v.Set("refresh", "off")
	}
	return "dashboard?" + v.Encode()
}

// next returns the level below a row of q: tenant → consumer → API →
// route. Rows without a value (anonymous calls, calls outside any API)
// and routes have none.
func next(q calllog.Query, key string, window time.Duration, refresh bool) string {
	if key == "" {
		return ""
	}
	switch q.By {
	case calllog.ByTenant:
		return dashLink(calllog.ByConsumer, key, "", "", window, refresh)
	case calllog.ByConsumer:
		return dashLink(calllog.ByAPI, q.Tenant, key, "", window, refresh)
	case calllog.ByAPI:
		return dashLink(calllog.ByRoute, q.Tenant, q.Consumer, key, window, refresh)
	}
	return ""
}

// crumbs names the levels above q, each linking its own breakdown.
func crumbs(q calllog.Query, window time.Duration, refresh bool) []crumb {
	out := []crumb{{"all tenants", dashLink(calllog.ByTenant, "", "", "", window, refresh)}}
	if q.Tenant != "" {
		out = append(out, crumb{"tenant " + q.Tenant, dashLink(calllog.ByConsumer, q.Tenant, "", "", window, refresh)})
	}
	if q.Consumer != "" {
		out = append(out, crumb{"consumer " + q.Consumer, dashLink(calllog.ByAPI, q.Tenant, q.Consumer, "", window, refresh)})
	}
	if q.API != "" {
		out = append(out, crumb{"API " + q.API, dashLink(calllog.ByRoute, q.Tenant, q.Consumer, q.API, window, refresh)})
	}
	return out
}

func (p *Platform) serveDashboard(w http.ResponseWriter, r *http.Request) {
	now := p.now()
	q, err := statsQuery(r, now)
	if err != nil {
		problem.Error(w, r, http.StatusBadRequest, err.Error())
		return
	}
	window := now.Sub(q.From).Round(time.Second)
	if q.Step == 0 {
		q.Step = max(window/60, time.Second)
	}
	refresh := r.URL.Query().Get("refresh") != "off"
	data := dashData{Stats: Stats{Series: []calllog.Point{}}, From: q.From.Unix(), To: now.Unix()}
	if refresh {
		data.Refresh = int(max(window/60, 15*time.Second) / time.Second)
	}
	var rows []dashRow
	var picks []crumb
	if p.agg != nil {
		data.Summary, data.Series = p.agg.Summary(q), p.agg.Series(q)
		all := q
		all.Key, all.Exact = "", false
		for _, k := range p.agg.KeysOf(all) {
			kq := all
			kq.Key, kq.Exact = k, true
			rows = append(rows, dashRow{Key: k, Link: next(q, k, window, refresh), P: p.agg.Summary(kq)})
		}
		for _, d := range ranges {
			if d <= p.agg.Retention() {
				picks = append(picks, crumb{humanSpan(d), dashLink(q.By, q.Tenant, q.Consumer, q.API, d, refresh)})
			}
		}
	}
	var health []UpstreamHealth
	if p.health != nil {
		health = p.health()
	}
	p.render(w, r, "dashboard.html", map[string]any{
		"Title": p.title, "Query": q, "Window": window, "Currency": p.currency,
		"Crumbs": crumbs(q, window, refresh), "Ranges": picks, "Refresh": refresh,
		"RefreshToggle": dashToggle(r, refresh),
		"Summary":       data.Summary, "Rows": rows, "Errors": p.latestErrors(q), "Data": data, "Health": health,
	})
}

// dashToggle is the page's own URL with auto-refresh switched.
func dashToggle(r *http.Request, on bool) string {
	v := r.URL.Query()
	if on {
		v.Set("refresh", "off")
	} else {
		v.Del("refresh")
	}
	return "dashboard?" + v.Encode()
}

// latestErrors returns the latest failed calls in q's scope.
func (p *Platform) latestErrors(q calllog.Query) []calllog.Record {
	if p.ring == nil {
		return nil
	}
	f := calllog.Filter{Tenant: q.Tenant, Consumer: q.Consumer, API: q.API, Failed: true, Limit: 20}
	if q.Key != "" {
		switch q.By {
		case calllog.ByAPI:
			f.API = q.Key
		case calllog.ByConsumer:
			f.Consumer = q.Key
		case calllog.ByRoute:
			f.Route = q.Key
		case calllog.ByTenant:
			f.Tenant = q.Key
		}
	}
	return p.ring.Query(f)
}
