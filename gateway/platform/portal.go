package platform

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/portico-dev/portico/gateway/calllog"
	"github.com/portico-dev/portico/internal/problem"
	"github.com/portico-dev/portico/middleware"
)

// Portal returns the handler through which consumers serve themselves, for
// the public listener behind authentication (it reads
// middleware.ConsumerFrom). Mount it where [WithSubscribeURL] points, for
// that path and everything under it; relative to it:
//
//	POST  {"api":"<id>"}   requests a subscription for the calling consumer
//	GET                    lists the calling consumer's subscriptions and their states
//	GET   /apis            lists the APIs the consumer may see and subscribe to
//	GET   /keys            lists the consumer's own keys (never their secrets)
//	POST  /keys            creates a key; the answer holds its secret, shown this once
//	DELETE /keys/<id>      revokes one of the consumer's own keys
//	GET   /usage           the consumer's calls in the last 24 hours, in total and per API
//
// People use the same paths in a browser: GET of the mount point is the
// portal page (the APIs with the consumer's subscriptions and their
// states, a Subscribe button, the consumer's keys with Create and Revoke,
// a new key's secret shown once, and its usage), signed in with one of
// the consumer's API keys at <mount>/login (an HttpOnly, SameSite=Strict
// session cookie; every form carries the session's CSRF token). An API
// with an OpenAPI document ([WithAPIDocs]) has its documentation page at
// <mount>/apis/<id>/docs/. Mount the portal behind authentication that
// lets requests without a credential through (auth.Config's
// Anonymous), so that browsers reach the sign-in form.
//
// A consumer sees only APIs its tenant may see, and only its own
// subscriptions and keys. Changes are written to the audit log with the
// actor "consumer:<id>".
func (p *Platform) Portal() http.Handler {
	mount, _, _ := strings.Cut(p.subURL, "?")
	mount, _, _ = strings.Cut(mount, "#")
	if u, err := url.Parse(mount); err == nil {
		mount = u.Path // an absolute URL names its path on this listener
	}
	mount = strings.TrimSuffix(mount, "/")
	files := http.StripPrefix(mount, http.FileServerFS(assets))
	csrf := http.NewCrossOriginProtection()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rest, under := strings.CutPrefix(r.URL.Path, mount)
		if !under {
			rest = "" // mounted elsewhere: the subscriptions, as before
		}
		switch {
		case strings.HasPrefix(rest, "/assets/") && (r.Method == http.MethodGet || r.Method == http.MethodHead):
			w.Header().Set("X-Content-Type-Options", "nosniff")
			files.ServeHTTP(w, r)
			return
		case csrf.Check(r) != nil:
			problem.Error(w, r, http.StatusForbidden, "cross-origin requests may not change subscriptions or keys")
			return
		case rest == "/login":
			p.servePortalLogin(w, r, mount)
			return
		}
		c, token, ok := p.portalConsumer(w, r, mount)
		if !ok {
			return
		}
		if rec := calllog.FromContext(r.Context()); rec != nil {
			rec.Tenant, rec.Consumer = c.Tenant, c.ID
		}
		p.servePortal(w, r, c, mount, rest, token)
	})
}

// portalConsumer finds the calling consumer: the one authentication put
// in the context (an API key), or the one of the browser's portal
// session. On failure it answers (a browser is sent to the sign-in form)
// and returns false.
func (p *Platform) portalConsumer(w http.ResponseWriter, r *http.Request, mount string) (c *middleware.Consumer, csrf string, ok bool) {
	if c := middleware.ConsumerFrom(r.Context()); c != nil {
		return c, "", true
	}
	c, csrf, csrfOK := p.portalSession(r)
	switch {
	case c != nil && !csrfOK:
		problem.Error(w, r, http.StatusForbidden, "a change made from the portal's pages needs the session's CSRF token")
		return nil, "", false
	case c != nil:
		return c, csrf, true
	case r.Method == http.MethodGet && wantsHTML(r):
		http.Redirect(w, r, mount+"/login", http.StatusSeeOther)
		return nil, "", false
	}
	w.Header().Set("WWW-Authenticate", `Bearer realm="api"`)
	problem.Error(w, r, http.StatusUnauthorized, "authenticate with your API key to manage subscriptions, or sign in at "+mount+"/login")
	return nil, "", false
}

// servePortal answers a consumer's request to the portal: its pages and
// forms for people, JSON for programs.
func (p *Platform) servePortal(w http.ResponseWriter, r *http.Request, c *middleware.Consumer, mount, rest, csrf string) {
	switch {
	case rest == "/logout" && r.Method == http.MethodPost:
		p.servePortalLogout(w, r, mount)
	case csrf != "" && p.servePortalForm(w, r, c, mount, rest, csrf):
		// A form of the portal's pages, from a signed-in browser; a
		// program's body is JSON whatever its Content-Type (curl -d).
	case (rest == "" || rest == "/") && r.Method == http.MethodGet && wantsHTML(r):
		p.renderPortal(w, r, c, mount, csrf, "", "")
	case strings.HasPrefix(rest, "/apis/") && strings.Contains(rest, "/docs/"):
		p.servePortalDocs(w, r, c, mount, rest)
	case rest == "" || rest == "/":
		p.portalSubscriptions(w, r, c)
	case rest == "/apis":
		if onlyGet(w, r, "use GET to list the APIs you may subscribe to") {
			v, err := p.APIs(r.Context(), c.Tenant)
			v = slices.DeleteFunc(v, func(a API) bool { return a.State == Draft || a.State == Retired })
			p.reply(w, r, http.StatusOK, v, err)
		}
	case rest == "/keys":
		p.portalKeys(w, r, c)
	case strings.HasPrefix(rest, "/keys/") && r.Method == http.MethodDelete:
		p.portalRevoke(w, r, c, strings.TrimPrefix(rest, "/keys/"))
	case rest == "/usage":
		if onlyGet(w, r, "use GET to read your usage") {
			p.reply(w, r, http.StatusOK, p.usage(r.Context(), c), nil)
		}
	default:
		problem.Error(w, r, http.StatusNotFound, "the portal serves "+mount+", "+mount+"/apis, "+mount+"/keys and "+mount+"/usage")
	}
}

func onlyGet(w http.ResponseWriter, r *http.Request, hint string) bool {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return true
	}
	w.Header().Set("Allow", "GET, HEAD")
	problem.Error(w, r, http.StatusMethodNotAllowed, hint)
	return false
}

func (p *Platform) portalSubscriptions(w http.ResponseWriter, r *http.Request, c *middleware.Consumer) {
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		v, err := p.Subscriptions(r.Context(), SubFilter{Tenant: c.Tenant, Consumer: c.ID})
		p.reply(w, r, http.StatusOK, v, err)
	case http.MethodPost:
		var in struct {
			API string `json:"api"`
		}
		if !decode(w, r, &in) {
			return
		}
		if in.API == "" {
			problem.Error(w, r, http.StatusBadRequest, `the body needs the API to subscribe to: {"api":"<id>"}`)
			return
		}
		v, err := p.Subscribe(r.Context(), "consumer:"+c.ID, c.Tenant, c.ID, in.API)
		status := http.StatusOK
		if err == nil && v.State == Pending {
			status = http.StatusAccepted
		}
		p.reply(w, r, status, v, err)
	default:
		w.Header().Set("Allow", "GET, HEAD, POST")
		problem.Error(w, r, http.StatusMethodNotAllowed, "use GET to list your subscriptions or POST to request one")
	}
}

func (p *Platform) portalKeys(w http.ResponseWriter, r *http.Request, c *middleware.Consumer) {
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		v, err := p.Keys(r.Context(), c.Tenant, c.ID)
		p.reply(w, r, http.StatusOK, v, err)
	case http.MethodPost:
		var in struct {
			Expires time.Time `json:"expires"`
		}
		if decode(w, r, &in) {
			k, secret, err := p.CreateKey(r.Context(), "consumer:"+c.ID, c.Tenant, c.ID, in.Expires)
			p.reply(w, r, http.StatusCreated, map[string]any{"key": k, "secret": secret}, err)
		}
	default:
		w.Header().Set("Allow", "GET, HEAD, POST")
		problem.Error(w, r, http.StatusMethodNotAllowed, "use GET to list your keys or POST to create one")
	}
}

// portalRevoke deletes one of the consumer's own keys; another's key is
// not found, whoever holds it.
func (p *Platform) portalRevoke(w http.ResponseWriter, r *http.Request, c *middleware.Consumer, id string) {
	keys, err := p.Keys(r.Context(), c.Tenant, c.ID)
	if err != nil {
		p.reply(w, r, 0, nil, err)
		return
	}
	if !slices.ContainsFunc(keys, func(k Key) bool { return k.ID == id }) {
		problem.Error(w, r, http.StatusNotFound, "you hold no key "+id)
		return
	}
	p.reply(w, r, http.StatusNoContent, nil, p.DeleteKey(r.Context(), "consumer:"+c.ID, c.Tenant, id))
}

// Usage is a consumer's calls over a span, in total and per API: the
// answer of the portal's /usage.
type Usage struct {
	Window time.Duration            `json:"window_ns"`
	Total  calllog.Point            `json:"total"`
	APIs   map[string]calllog.Point `json:"apis"`
	// Quotas is what the consumer has left of each quota in its current
	// period ([WithQuotaLeft]).
	Quotas []QuotaLeft `json:"quotas,omitempty"`
}

// QuotaLeft is what a consumer has left of one route's quota in the
// current period.
type QuotaLeft struct {
	Route  string    `json:"route"`
	API    string    `json:"api,omitempty"`
	Period string    `json:"period"` // "day" or "month"
	Resets time.Time `json:"resets"`
	Limit  int64     `json:"limit"`
	Used   int64     `json:"used"`
	Left   int64     `json:"left"`
}

// WithQuotaLeft gives the portal what a consumer has left of the
// gateway's quotas, read on every view of its usage. By default the
// portal shows no quotas.
func WithQuotaLeft(f func(context.Context, *middleware.Consumer) []QuotaLeft) Option {
	return optionFunc(func(p *Platform) { p.quotaLeft = f })
}

func (p *Platform) usage(ctx context.Context, c *middleware.Consumer) Usage {
	u := Usage{Window: 24 * time.Hour, APIs: map[string]calllog.Point{}}
	if p.quotaLeft != nil {
		u.Quotas = p.quotaLeft(ctx, c)
	}
	if p.agg == nil {
		return u
	}
	u.Window = min(u.Window, p.agg.Retention())
	q := calllog.Query{By: calllog.ByConsumer, Key: c.ID, Exact: true, Tenant: c.Tenant, From: p.now().Add(-u.Window)}
	u.Total = p.agg.Summary(q)
	aq := calllog.Query{By: calllog.ByAPI, Tenant: c.Tenant, Consumer: c.ID, From: q.From}
	for _, api := range p.agg.KeysOf(aq) {
		aq.Key, aq.Exact = api, true
		u.APIs[api] = p.agg.Summary(aq)
	}
	return u
}
