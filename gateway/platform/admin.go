package platform

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/portico-dev/portico/gateway/calllog"
	"github.com/portico-dev/portico/internal/problem"
	"github.com/portico-dev/portico/middleware"
	"github.com/portico-dev/portico/openapi"
)

type actorKey struct{}

// Admin returns the admin handler, for the admin listener. Every request
// needs an admin credential: an admin token ([WithAdminToken]) as a bearer
// token or Basic password, for scripts; the session cookie a person gets
// by signing in at /login with the token (or through a [Platform.LoginLink]);
// or what [WithAdminAuth] accepts. A browser without one is sent to the
// sign-in form; other requests get 401. It serves, relative to where it is
// mounted:
//
//	/               the console's landing page: counts, pending subscriptions, links
//	/login          the sign-in form (GET), signing in (POST), a login link (GET ?code=)
//	/logout         signing out (POST)
//	/api/...        the admin API (JSON), described by /docs/openapi.json
//	/docs/          the admin API's documentation page
//	/apis/<id>/docs/ each API's documentation page ([WithAPIDocs])
//	/catalog        the API catalog (HTML; JSON with Accept: application/json)
//	/dashboard      the call analytics dashboard
//	/assets/...     the pages' scripts and styles, embedded (no credential needed)
//
// Every change made through the admin API is written to the audit log with
// the acting credential's name. Changes sent by a browser from another
// origin are refused (http.CrossOriginProtection), and a change made with
// the session cookie must carry the session's CSRF token (the X-CSRF-Token
// header, or the csrf field of a form). Documents and error messages name
// the real paths, wherever the handler is mounted (see http.StripPrefix).
// It panics when no credential is configured.
func (p *Platform) Admin() http.Handler {
	if len(p.admins) == 0 && p.adminAuth == nil {
		panic("portico/platform: Admin needs WithAdminToken or WithAdminAuth")
	}
	mux := http.NewServeMux()
	p.routes(mux)
	docs := &adminDocs{}
	mux.Handle("GET /docs/", docs)
	for id, spec := range p.docs {
		d, err := p.docsPage(spec)
		if err != nil {
			panic("portico/platform: WithAPIDocs(" + id + "): " + err.Error())
		}
		prefix := "/apis/" + id + "/docs"
		mux.Handle("GET "+prefix+"/", http.StripPrefix(prefix, d))
	}
	if p.docsFunc != nil {
		mux.HandleFunc("GET /apis/{api}/docs/", p.serveAPIDocs)
	}
	mux.HandleFunc("GET /{$}", p.serveHome)
	mux.HandleFunc("POST /logout", p.serveLogout)
	mux.HandleFunc("GET /catalog", p.serveCatalog)
	mux.HandleFunc("GET /dashboard", p.serveDashboard)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		b := base(r)
		problem.Error(w, r, http.StatusNotFound, "no such admin resource; the console is at "+b+"/ and the admin API is described at "+b+"/docs/")
	})
	files := http.FileServerFS(assets)
	csrf := http.NewCrossOriginProtection()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/assets/") && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
			// The pages' static script and styles hold nothing secret.
			w.Header().Set("X-Content-Type-Options", "nosniff")
			files.ServeHTTP(w, r)
			return
		}
		// Browsers keep Basic credentials and cookies: refuse state
		// changes that a page of another origin sends (CSRF).
		if err := csrf.Check(r); err != nil {
			problem.Error(w, r, http.StatusForbidden, "cross-origin requests may not change the platform")
			return
		}
		if r.URL.Path == "/login" && (r.Method == http.MethodGet || r.Method == http.MethodPost) {
			p.serveLogin(w, r)
			return
		}
		actor, token, ok := p.authenticate(w, r)
		if !ok {
			return
		}
		ctx := context.WithValue(r.Context(), actorKey{}, actor)
		mux.ServeHTTP(w, r.WithContext(context.WithValue(ctx, csrfKey{}, token)))
	})
}

// serveAPIDocs serves the documentation page of an API whose document
// [WithAPIDocsFunc] finds.
func (p *Platform) serveAPIDocs(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("api")
	p.serveDocs(w, r, id, "/apis/"+id+"/docs")
}

// serveDocs serves the documentation page of API id under prefix.
func (p *Platform) serveDocs(w http.ResponseWriter, r *http.Request, id, prefix string) {
	spec, ok := p.apiDocs(id)
	if !ok {
		problem.Error(w, r, http.StatusNotFound, "no documentation for API "+id)
		return
	}
	d, err := p.docsPage(spec)
	if err != nil {
		p.reply(w, r, 0, nil, err)
		return
	}
	http.StripPrefix(prefix, d).ServeHTTP(w, r)
}

// docsPage returns the documentation page of spec, built on its first
// view and kept: building one renders the document as YAML.
func (p *Platform) docsPage(spec *openapi.Spec) (*openapi.Docs, error) {
	if d, ok := p.docPages.Load(spec); ok {
		return d.(*openapi.Docs), nil
	}
	d, err := openapi.NewDocs(spec)
	if err != nil {
		return nil, err
	}
	v, _ := p.docPages.LoadOrStore(spec, d)
	return v.(*openapi.Docs), nil
}

type csrfKey struct{}

// authenticate finds the request's admin: by token, by [WithAdminAuth],
// or by session cookie (with the CSRF token on changes). On failure it
// answers (a browser is sent to the sign-in form) and returns false.
func (p *Platform) authenticate(w http.ResponseWriter, r *http.Request) (actor, csrfToken string, ok bool) {
	if actor, ok := p.actor(r); ok {
		return actor, "", true
	}
	actor, csrfToken, found, csrfOK := p.sessionActor(r)
	if found && !csrfOK {
		problem.Error(w, r, http.StatusForbidden, "a change made from the console needs the session's CSRF token in the "+csrfHeader+" header")
		return "", "", false
	}
	if found {
		return actor, csrfToken, true
	}
	if r.Method == http.MethodGet && r.Header.Get("Authorization") == "" && strings.Contains(r.Header.Get("Accept"), "text/html") {
		http.Redirect(w, r, base(r)+"/login?next="+url.QueryEscape(r.RequestURI), http.StatusSeeOther)
		return "", "", false
	}
	w.Header().Add("WWW-Authenticate", `Bearer realm="portico admin"`)
	w.Header().Add("WWW-Authenticate", `Basic realm="portico admin", charset="UTF-8"`)
	problem.Error(w, r, http.StatusUnauthorized, "the admin API needs an admin credential: a bearer token, or sign in at "+base(r)+"/login")
	return "", "", false
}

func csrfOf(r *http.Request) string {
	t, _ := r.Context().Value(csrfKey{}).(string)
	return t
}

func actorOf(r *http.Request) string {
	a, _ := r.Context().Value(actorKey{}).(string)
	return a
}

// routes serves the admin API: tenants and their consumers and keys, APIs,
// subscriptions, the audit log and the call log.
func (p *Platform) routes(mux *http.ServeMux) {
	p.tenantRoutes(mux)
	p.consumerRoutes(mux)
	p.apiRoutes(mux)
	p.subscriptionRoutes(mux)
	mux.HandleFunc("GET /api/audit", func(w http.ResponseWriter, r *http.Request) {
		v, err := p.Audit(r.Context(), r.URL.Query().Get("tenant"))
		p.reply(w, r, http.StatusOK, v, err)
	})
	mux.HandleFunc("GET /api/calls", p.serveCalls)
	mux.HandleFunc("GET /api/stats", p.serveStats)
}

// tenantRoutes serves /api/tenants.
func (p *Platform) tenantRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/tenants", func(w http.ResponseWriter, r *http.Request) {
		v, err := p.Tenants(r.Context())
		p.reply(w, r, http.StatusOK, v, err)
	})
	mux.HandleFunc("POST /api/tenants", func(w http.ResponseWriter, r *http.Request) {
		var t Tenant
		if decode(w, r, &t) {
			v, err := p.CreateTenant(r.Context(), actorOf(r), t)
			p.reply(w, r, http.StatusCreated, v, err)
		}
	})
	mux.HandleFunc("GET /api/tenants/{tenant}", func(w http.ResponseWriter, r *http.Request) {
		v, err := p.Tenant(r.Context(), r.PathValue("tenant"))
		p.reply(w, r, http.StatusOK, v, err)
	})
	mux.HandleFunc("DELETE /api/tenants/{tenant}", func(w http.ResponseWriter, r *http.Request) {
		p.reply(w, r, http.StatusNoContent, nil, p.DeleteTenant(r.Context(), actorOf(r), r.PathValue("tenant")))
	})
}

// consumerRoutes serves a tenant's consumers and their keys.
func (p *Platform) consumerRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/tenants/{tenant}/consumers", func(w http.ResponseWriter, r *http.Request) {
		v, err := p.Consumers(r.Context(), r.PathValue("tenant"))
		p.reply(w, r, http.StatusOK, v, err)
	})
	mux.HandleFunc("POST /api/tenants/{tenant}/consumers", func(w http.ResponseWriter, r *http.Request) {
		var c ConsumerRecord
		if decode(w, r, &c) {
			c.Tenant = r.PathValue("tenant")
			v, err := p.CreateConsumer(r.Context(), actorOf(r), c)
			p.reply(w, r, http.StatusCreated, v, err)
		}
	})
	mux.HandleFunc("GET /api/tenants/{tenant}/consumers/{consumer}", func(w http.ResponseWriter, r *http.Request) {
		v, err := p.Consumer(r.Context(), r.PathValue("tenant"), r.PathValue("consumer"))
		p.reply(w, r, http.StatusOK, v, err)
	})
	mux.HandleFunc("PUT /api/tenants/{tenant}/consumers/{consumer}", func(w http.ResponseWriter, r *http.Request) {
		var c ConsumerRecord
		if decode(w, r, &c) {
			c.Tenant, c.ID = r.PathValue("tenant"), r.PathValue("consumer")
			v, err := p.UpdateConsumer(r.Context(), actorOf(r), c)
			p.reply(w, r, http.StatusOK, v, err)
		}
	})
	mux.HandleFunc("DELETE /api/tenants/{tenant}/consumers/{consumer}", func(w http.ResponseWriter, r *http.Request) {
		err := p.DeleteConsumer(r.Context(), actorOf(r), r.PathValue("tenant"), r.PathValue("consumer"))
		p.reply(w, r, http.StatusNoContent, nil, err)
	})
	mux.HandleFunc("GET /api/tenants/{tenant}/consumers/{consumer}/keys", func(w http.ResponseWriter, r *http.Request) {
		v, err := p.Keys(r.Context(), r.PathValue("tenant"), r.PathValue("consumer"))
		p.reply(w, r, http.StatusOK, v, err)
	})
	mux.HandleFunc("POST /api/tenants/{tenant}/consumers/{consumer}/keys", func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			Expires time.Time `json:"expires"`
		}
		if decode(w, r, &in) {
			k, secret, err := p.CreateKey(r.Context(), actorOf(r), r.PathValue("tenant"), r.PathValue("consumer"), in.Expires)
			p.reply(w, r, http.StatusCreated, map[string]any{"key": k, "secret": secret}, err)
		}
	})
	mux.HandleFunc("DELETE /api/tenants/{tenant}/keys/{key}", func(w http.ResponseWriter, r *http.Request) {
		err := p.DeleteKey(r.Context(), actorOf(r), r.PathValue("tenant"), r.PathValue("key"))
		p.reply(w, r, http.StatusNoContent, nil, err)
	})
}

// apiRoutes serves /api/apis.
func (p *Platform) apiRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/apis", func(w http.ResponseWriter, r *http.Request) {
		v, err := p.APIs(r.Context(), r.URL.Query().Get("tenant"))
		p.reply(w, r, http.StatusOK, v, err)
	})
	mux.HandleFunc("GET /api/apis/{api}", func(w http.ResponseWriter, r *http.Request) {
		v, err := p.API(r.Context(), r.PathValue("api"))
		p.reply(w, r, http.StatusOK, v, err)
	})
	mux.HandleFunc("PUT /api/apis/{api}", func(w http.ResponseWriter, r *http.Request) {
		var a API
		if decode(w, r, &a) {
			a.ID = r.PathValue("api")
			v, err := p.PutAPI(r.Context(), actorOf(r), a)
			p.reply(w, r, http.StatusOK, v, err)
		}
	})
	mux.HandleFunc("POST /api/apis/{api}/state", func(w http.ResponseWriter, r *http.Request) {
		var l Lifecycle
		if decode(w, r, &l) {
			v, err := p.SetState(r.Context(), actorOf(r), r.PathValue("api"), l)
			p.reply(w, r, http.StatusOK, v, err)
		}
	})
}

// subscriptionRoutes serves /api/subscriptions.
func (p *Platform) subscriptionRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/subscriptions", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		v, err := p.Subscriptions(r.Context(), SubFilter{Tenant: q.Get("tenant"), Consumer: q.Get("consumer"),
			API: q.Get("api"), State: SubState(q.Get("state"))})
		p.reply(w, r, http.StatusOK, v, err)
	})
	mux.HandleFunc("POST /api/subscriptions", func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			Tenant   string `json:"tenant"`
			Consumer string `json:"consumer"`
			API      string `json:"api"`
		}
		if decode(w, r, &in) {
			v, err := p.Subscribe(r.Context(), actorOf(r), in.Tenant, in.Consumer, in.API)
			p.reply(w, r, http.StatusOK, v, err)
		}
	})
	mux.HandleFunc("POST /api/subscriptions/{id}/{action}", func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			Reason string `json:"reason"`
		}
		form := isForm(r) // a console button
		if form {
			in.Reason = r.PostFormValue("reason")
		} else if !decode(w, r, &in) {
			return
		}
		v, err := p.Transition(r.Context(), actorOf(r), r.PathValue("id"), r.PathValue("action"), in.Reason)
		if form && err == nil {
			// Act, then show the console again.
			http.Redirect(w, r, base(r)+"/", http.StatusSeeOther)
			return
		}
		p.reply(w, r, http.StatusOK, v, err)
	})
}

func (p *Platform) serveCalls(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit, err := queryInt(q.Get("limit"), 100)
	if err != nil {
		problem.Error(w, r, http.StatusBadRequest, "limit: "+err.Error())
		return
	}
	out := []calllog.Record{}
	if p.ring != nil {
		out = p.ring.Query(calllog.Filter{Tenant: q.Get("tenant"), Consumer: q.Get("consumer"), API: q.Get("api"),
			Failed: q.Get("failed") == "true", Limit: limit})
	}
	p.reply(w, r, http.StatusOK, out, nil)
}

// Stats is the answer of GET /api/stats.
type Stats struct {
	Summary calllog.Point   `json:"summary"`
	Series  []calllog.Point `json:"series"`
}

func (p *Platform) serveStats(w http.ResponseWriter, r *http.Request) {
	q, err := statsQuery(r, p.now())
	if err != nil {
		problem.Error(w, r, http.StatusBadRequest, err.Error())
		return
	}
	out := Stats{Series: []calllog.Point{}}
	if p.agg != nil {
		out.Summary, out.Series = p.agg.Summary(q), p.agg.Series(q)
	}
	p.reply(w, r, http.StatusOK, out, nil)
}

// statsQuery reads by, key, tenant, consumer, api, window and step from
// the query string. A key given empty ("key=") selects the calls with no
// value in the dimension.
func statsQuery(r *http.Request, now time.Time) (calllog.Query, error) {
	v := r.URL.Query()
	q := calllog.Query{By: calllog.Dimension(v.Get("by")), Key: v.Get("key"), Exact: v.Has("key"),
		Tenant: v.Get("tenant"), Consumer: v.Get("consumer"), API: v.Get("api")}
	switch q.By {
	case "":
		q.By = calllog.ByTenant
	case calllog.ByAPI, calllog.ByConsumer, calllog.ByTenant:
	case calllog.ByRoute:
		if q.API == "" {
			return q, errors.New("by route needs api: the routes of one API")
		}
	default:
		return q, fmt.Errorf("by %q: use tenant, consumer, api or route", q.By)
	}
	switch {
	case q.Consumer != "" && q.By != calllog.ByAPI && q.By != calllog.ByRoute:
		return q, fmt.Errorf("consumer %q: drill into a consumer by api or route", q.Consumer)
	case q.API != "" && q.By != calllog.ByRoute:
		return q, fmt.Errorf("api %q: drill into an API by route", q.API)
	}
	window, step := time.Hour, time.Duration(0)
	var err error
	if s := v.Get("window"); s != "" {
		if window, err = time.ParseDuration(s); err != nil || window <= 0 {
			return q, fmt.Errorf("window %q: use a positive Go duration such as 1h or 15m", s)
		}
	}
	if s := v.Get("step"); s != "" {
		if step, err = time.ParseDuration(s); err != nil || step <= 0 {
			return q, fmt.Errorf("step %q: use a positive Go duration such as 1m", s)
		}
	}
	if step > 0 && window/step > 10000 {
		return q, fmt.Errorf("step %s: at most 10000 points per series; use a larger step", step)
	}
	q.From, q.Step = now.Add(-window), step
	return q, nil
}

func queryInt(s string, def int) (int, error) {
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 10000 {
		return 0, fmt.Errorf("%q is not a number from 1 to 10000", s)
	}
	return n, nil
}

// decode reads a JSON body into v; an empty body leaves v as is. It writes
// a 400 problem naming the mistake and returns false on failure.
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil && !errors.Is(err, io.EOF) {
		problem.Error(w, r, http.StatusBadRequest, "the request body is not valid JSON for this operation: "+err.Error())
		return false
	}
	return true
}

// reply writes v as JSON with status, or the problem err maps to.
func (p *Platform) reply(w http.ResponseWriter, r *http.Request, status int, v any, err error) {
	switch {
	case errors.Is(err, ErrNotFound):
		problem.Error(w, r, http.StatusNotFound, trimPrefix(err))
		return
	case errors.Is(err, ErrInvalid):
		problem.Error(w, r, http.StatusBadRequest, trimPrefix(err))
		return
	case errors.Is(err, ErrConflict):
		problem.Error(w, r, http.StatusConflict, trimPrefix(err))
		return
	case err != nil:
		p.log.LogAttrs(r.Context(), slog.LevelError, "platform: admin request failed",
			slog.String("request_id", middleware.RequestIDFrom(r.Context())), slog.Any("error", err))
		problem.Error(w, r, http.StatusServiceUnavailable, "the platform store failed; retry later")
		return
	}
	if status == http.StatusNoContent {
		w.WriteHeader(status)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store") // a created key's secret must not linger in caches
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// trimPrefix drops the package prefix from an error message for clients.
func trimPrefix(err error) string {
	const prefix = "portico/platform: "
	s := err.Error()
	for len(s) >= len(prefix) && s[:len(prefix)] == prefix {
		s = s[len(prefix):]
	}
	return s
}
