package platform

import (
	"net/http"
	"strings"
)

// serveHome is the console's landing page: what the platform holds, the
// subscriptions waiting for approval (approved or rejected right there),
// and links to every page.
func (p *Platform) serveHome(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	tenants, err := p.Tenants(ctx)
	if err != nil {
		p.reply(w, r, 0, nil, err)
		return
	}
	apis, err := p.APIs(ctx, "")
	if err != nil {
		p.reply(w, r, 0, nil, err)
		return
	}
	subs, err := p.Subscriptions(ctx, SubFilter{})
	if err != nil {
		p.reply(w, r, 0, nil, err)
		return
	}
	var pending []Subscription
	active := 0
	for _, s := range subs {
		switch s.State {
		case Pending:
			pending = append(pending, s)
		case Active:
			active++
		}
	}
	p.render(w, r, "home.html", map[string]any{
		"Title": p.title, "Actor": actorOf(r), "CSRF": csrfOf(r), "Base": base(r),
		"Tenants": tenants, "APIs": apis, "Active": active, "Pending": pending,
		"Mounted": base(r) != "",
	})
}

// isForm reports whether r carries an HTML form, which the console's
// buttons send; the admin API answers those with a redirect back to the
// page instead of JSON.
func isForm(r *http.Request) bool {
	return strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded")
}
