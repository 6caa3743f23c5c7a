package platform

import (
	"embed"
	"fmt"
	"html/template"
	"net/http"
	"strings"
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
		"ms":      humanLatency,
		"span":    humanSpan,
		"count":   humanCount,
		"rate":    humanRate,
		"money":   humanMoney,
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
		if _, ok := p.apiDocs(apis[i].ID); ok && apis[i].Docs == "" {
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
