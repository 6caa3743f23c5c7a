package platform

import (
	"context"
	"crypto/subtle"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/portico-dev/portico/internal/problem"
	"github.com/portico-dev/portico/middleware"
	"github.com/portico-dev/portico/middleware/auth"
)

// The portal's pages for people: a consumer signs in with one of its API
// keys (the form at <mount>/login), and the browser then carries an
// HttpOnly, SameSite=Strict cookie naming a session in this replica's
// memory, as the console does.
const portalCookie = "portico_portal"

// portalAPI is one row of the portal's API table.
type portalAPI struct {
	API          API
	Sub          SubState // the consumer's subscription, if any
	Docs         string   // the documentation page, if any
	CanSubscribe bool
}

// portalPage is what the portal page shows.
type portalPage struct {
	Title, Mount, CSRF string
	Consumer           *middleware.Consumer
	APIs               []portalAPI
	Keys               []Key
	Usage              Usage
	Currency           string
	Message, NewKey    string
}

// wantsHTML reports whether r comes from a browser asking for a page.
func wantsHTML(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Accept"), "text/html")
}

// portalSession finds the consumer of r's portal session cookie. A change
// must carry the session's CSRF token (the csrf form field or the
// X-CSRF-Token header); csrfOK reports whether it did.
func (p *Platform) portalSession(r *http.Request) (c *middleware.Consumer, csrf string, csrfOK bool) {
	ck, err := r.Cookie(portalCookie)
	if err != nil {
		return nil, "", false
	}
	s, ok := p.psess.find(ck.Value, p.now())
	if !ok {
		return nil, "", false
	}
	c, err = p.Identities().Consumer(r.Context(), s.actor)
	if err != nil || c == nil {
		return nil, "", false
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return c, s.csrf, true
	}
	got := r.Header.Get(csrfHeader)
	if got == "" && isForm(r) {
		got = r.PostFormValue(csrfField)
	}
	return c, s.csrf, subtle.ConstantTimeCompare([]byte(got), []byte(s.csrf)) == 1
}

// servePortalLogin answers <mount>/login: the form (GET), or a key (POST)
// that starts a session.
func (p *Platform) servePortalLogin(w http.ResponseWriter, r *http.Request, mount string) {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		p.render(w, r, "portal-login.html", map[string]any{"Title": p.title, "Mount": mount})
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "GET, HEAD, POST")
		problem.Error(w, r, http.StatusMethodNotAllowed, "use GET for the sign-in form or POST to sign in")
		return
	}
	k, err := p.Identities().APIKey(r.Context(), auth.HashAPIKey(strings.TrimSpace(r.PostFormValue("key"))))
	if err != nil || k == nil || (!k.Expires.IsZero() && p.now().After(k.Expires)) {
		p.renderStatus(w, r, http.StatusUnauthorized, "portal-login.html",
			map[string]any{"Title": p.title, "Mount": mount, "Error": "That is not a valid API key."})
		return
	}
	id := p.psess.start(k.Consumer, p.now())
	http.SetCookie(w, &http.Cookie{Name: portalCookie, Value: id, Path: mount + "/", HttpOnly: true, Secure: r.TLS != nil,
		SameSite: http.SameSiteStrictMode, MaxAge: int(sessionTTL / time.Second)})
	http.Redirect(w, r, mount+"/", http.StatusSeeOther)
}

// servePortalLogout ends the browser's portal session.
func (p *Platform) servePortalLogout(w http.ResponseWriter, r *http.Request, mount string) {
	if ck, err := r.Cookie(portalCookie); err == nil {
		p.psess.end(ck.Value)
	}
	http.SetCookie(w, &http.Cookie{Name: portalCookie, Value: "", Path: mount + "/", HttpOnly: true,
		Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode, MaxAge: -1})
	http.Redirect(w, r, mount+"/login", http.StatusSeeOther)
}

// servePortalForm acts on a form of the portal page (subscribe, create a
// key, revoke a key) and shows the page again; it reports false for a
// request that is not one of them.
func (p *Platform) servePortalForm(w http.ResponseWriter, r *http.Request, c *middleware.Consumer, mount, rest, csrf string) bool {
	if r.Method != http.MethodPost || !isForm(r) {
		return false
	}
	ctx, actor := r.Context(), "consumer:"+c.ID
	switch {
	case rest == "" || rest == "/":
		api := r.PostFormValue("api")
		s, err := p.Subscribe(ctx, actor, c.Tenant, c.ID, api)
		if err != nil {
			p.reply(w, r, 0, nil, err)
			return true
		}
		msg := "You are subscribed to " + api + "."
		if s.State == Pending {
			msg = "Your subscription to " + api + " waits for an administrator's approval."
		}
		p.renderPortal(w, r, c, mount, csrf, msg, "")
	case rest == "/keys":
		_, secret, err := p.CreateKey(ctx, actor, c.Tenant, c.ID, time.Time{})
		if err != nil {
			p.reply(w, r, 0, nil, err)
			return true
		}
		p.renderPortal(w, r, c, mount, csrf, "", secret)
	case strings.HasPrefix(rest, "/keys/") && strings.HasSuffix(rest, "/revoke"):
		id := strings.TrimSuffix(strings.TrimPrefix(rest, "/keys/"), "/revoke")
		keys, err := p.Keys(ctx, c.Tenant, c.ID)
		if err == nil && !slices.ContainsFunc(keys, func(k Key) bool { return k.ID == id }) {
			problem.Error(w, r, http.StatusNotFound, "you hold no key "+id)
			return true
		}
		if err == nil {
			err = p.DeleteKey(ctx, actor, c.Tenant, id)
		}
		if err != nil {
			p.reply(w, r, 0, nil, err)
			return true
		}
		p.renderPortal(w, r, c, mount, csrf, "Key "+id+" is revoked.", "")
	default:
		return false
	}
	return true
}

// renderPortal shows the portal page of consumer c.
func (p *Platform) renderPortal(w http.ResponseWriter, r *http.Request, c *middleware.Consumer, mount, csrf, msg, newKey string) {
	page, err := p.portalPage(r.Context(), c, mount)
	if err != nil {
		p.reply(w, r, 0, nil, err)
		return
	}
	page.Mount, page.CSRF, page.Message, page.NewKey = mount, csrf, msg, newKey
	p.render(w, r, "portal.html", page)
}

// portalPage gathers what consumer c sees: the APIs open to its tenant
// with its subscriptions, its keys and its usage.
func (p *Platform) portalPage(ctx context.Context, c *middleware.Consumer, mount string) (*portalPage, error) {
	apis, err := p.APIs(ctx, c.Tenant)
	if err != nil {
		return nil, err
	}
	subs, err := p.Subscriptions(ctx, SubFilter{Tenant: c.Tenant, Consumer: c.ID})
	if err != nil {
		return nil, err
	}
	keys, err := p.Keys(ctx, c.Tenant, c.ID)
	if err != nil {
		return nil, err
	}
	page := &portalPage{Title: p.title, Consumer: c, Keys: keys, Usage: p.usage(ctx, c), Currency: p.currency}
	for _, a := range apis {
		if a.State == Draft || a.State == Retired {
			continue
		}
		row := portalAPI{API: a, Docs: a.Docs}
		if _, ok := p.apiDocs(a.ID); ok {
			row.Docs = mount + "/apis/" + a.ID + "/docs/"
		}
		if i := slices.IndexFunc(subs, func(s Subscription) bool { return s.API == a.ID }); i >= 0 {
			row.Sub = subs[i].State
		}
		row.CanSubscribe = a.State == Published && (row.Sub == "" || row.Sub == Rejected || row.Sub == Revoked)
		page.APIs = append(page.APIs, row)
	}
	return page, nil
}

// servePortalDocs serves the documentation page of an API the consumer
// may see (<mount>/apis/<id>/docs/), from its OpenAPI document
// ([WithAPIDocs]).
func (p *Platform) servePortalDocs(w http.ResponseWriter, r *http.Request, c *middleware.Consumer, mount, rest string) {
	id, _, _ := strings.Cut(strings.TrimPrefix(rest, "/apis/"), "/")
	if a, err := p.API(r.Context(), id); err != nil || !a.visibleTo(c.Tenant) {
		problem.Error(w, r, http.StatusNotFound, "no documentation for API "+id)
		return
	}
	p.serveDocs(w, r, id, mount+"/apis/"+id+"/docs")
}
