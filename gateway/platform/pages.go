package platform

import (
	"embed"
	"fmt"
	"html/template"
	"net/http"
	"strings"
	"time"

	"github.com/portico-dev/portico/gateway/calllog"
	"github.com/portico-dev/portico/internal/problem"
)

//go:embed templates/*.html
var templateFS embed.FS

// assets holds the pages' stylesheet and script, and uPlot (MIT licence in
// assets/uplot.LICENSE), so the pages work with no network access.
//
//go:embed assets
var assets embed.FS

// parsePages parses the page templates; they are embedded, so a failure is
// a bug caught by the tests.
func parsePages() *template.Template {
	return template.Must(template.New("").Funcs(template.FuncMap{
		"percent": func(f float64) string { return fmt.Sprintf("%.1f%%", 100*f) },
	}).ParseFS(templateFS, "templates/*.html"))
}

// securityHeaders keeps the pages to their own scripts and styles.
func securityHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
}

func (p *Platform) serveCatalog(w http.ResponseWriter, r *http.Request) {
	tenant := r.URL.Query().Get("tenant")
	apis, err := p.APIs(r.Context(), tenant)
	if err != nil {
		p.reply(w, r, 0, nil, err)
		return
	}
	for i := range apis {
		if _, ok := p.docs[apis[i].ID]; ok && apis[i].Docs == "" {
			apis[i].Docs = "apis/" + apis[i].ID + "/docs/"
		}
	}
	if strings.Contains(r.Header.Get("Accept"), "application/json") {
		p.reply(w, r, http.StatusOK, apis, nil)
		return
	}
	p.render(w, r, "catalog.html", map[string]any{
		"Title": p.title, "Tenant": tenant, "APIs": apis, "SubscribeURL": p.subURL,
	})
}

type dashRow struct {
	Key string
	P   calllog.Point
}

func (p *Platform) serveDashboard(w http.ResponseWriter, r *http.Request) {
	q, err := statsQuery(r, p.now())
	if err != nil {
		problem.Error(w, r, http.StatusBadRequest, err.Error())
		return
	}
	window := p.now().Sub(q.From).Round(time.Second)
	if q.Step == 0 {
		q.Step = max(window/60, time.Second)
	}
	data := Stats{Series: []calllog.Point{}}
	var rows []dashRow
	if p.agg != nil {
		data.Summary, data.Series = p.agg.Summary(q), p.agg.Series(q)
		for _, k := range p.agg.Keys(q.By, q.Tenant) {
			kq := q
			kq.Key = k
			rows = append(rows, dashRow{Key: k, P: p.agg.Summary(kq)})
		}
	}
	var errs []calllog.Record
	if p.ring != nil {
		f := calllog.Filter{Tenant: q.Tenant, Failed: true, Limit: 20}
		switch q.By {
		case calllog.ByAPI:
			f.API = q.Key
		case calllog.ByConsumer:
			f.Consumer = q.Key
		}
		errs = p.ring.Query(f)
	}
	p.render(w, r, "dashboard.html", map[string]any{
		"Title": p.title, "Tenant": q.Tenant, "By": q.By, "Key": q.Key, "Window": window,
		"Summary": data.Summary, "Rows": rows, "Errors": errs, "Data": data,
	})
}

func (p *Platform) render(w http.ResponseWriter, r *http.Request, name string, data any) {
	p.renderStatus(w, r, http.StatusOK, name, data)
}

func (p *Platform) renderStatus(w http.ResponseWriter, r *http.Request, status int, name string, data any) {
	var b strings.Builder
	if err := p.pages.ExecuteTemplate(&b, name, data); err != nil {
		p.reply(w, r, 0, nil, err)
		return
	}
	securityHeaders(w)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(b.String()))
}
