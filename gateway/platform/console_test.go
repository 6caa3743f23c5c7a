package platform_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/portico-dev/portico/gateway/platform"
)

// browser is an HTTP client that keeps cookies and does not follow
// redirects, so that a test sees each step a person's browser takes.
type browser struct {
	c    *http.Client
	base string
}

func newBrowser(t *testing.T, base string) *browser {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &browser{base: base, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

// do sends a request as a page of the console would: same origin, HTML
// accepted; form is sent URL-encoded, json as a JSON body.
func (b *browser) do(t *testing.T, method, path string, form url.Values, header map[string]string) response {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(context.Background(), method, b.base+path, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "text/html,application/xhtml+xml")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := b.c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	return response{res.StatusCode, res.Header, raw}
}

var csrfField = regexp.MustCompile(`name="csrf" value="([0-9a-f]+)"`)

// signIn signs b in through the form and returns the session's CSRF token
// read from the landing page.
func (b *browser) signIn(t *testing.T, prefix string) string {
	t.Helper()
	r := b.do(t, http.MethodPost, prefix+"/login", url.Values{"token": {adminToken}, "next": {prefix + "/"}}, nil)
	if got, want := r.status, http.StatusSeeOther; got != want {
		t.Fatalf("signing in: status %d, want %d: %s", got, want, r.body)
	}
	home := b.do(t, http.MethodGet, prefix+"/", nil, nil)
	m := csrfField.FindSubmatch(home.body)
	if m == nil {
		t.Fatalf("the landing page has no CSRF token: %s", home.body)
	}
	return string(m[1])
}

func TestABrowserWithoutASessionIsSentToTheSignInForm(t *testing.T) {
	t.Parallel()
	g := newGateway(t, platform.NewMemoryStore())
	b := newBrowser(t, g.admin.URL)
	r := b.do(t, http.MethodGet, "/dashboard?window=15m", nil, nil)
	if got, want := r.status, http.StatusSeeOther; got != want {
		t.Fatalf("status %d, want %d", got, want)
	}
	if got, want := r.header.Get("Location"), "/login?next="+url.QueryEscape("/dashboard?window=15m"); got != want {
		t.Errorf("Location %q, want %q", got, want)
	}
	if got := r.header.Get("WWW-Authenticate"); got != "" {
		t.Errorf("WWW-Authenticate %q: a browser must not get the bare Basic prompt", got)
	}
	form := b.do(t, http.MethodGet, "/login?next=%2Fdashboard", nil, nil)
	if got, want := form.status, http.StatusOK; got != want {
		t.Errorf("the sign-in form: status %d, want %d", got, want)
	}
	if !strings.Contains(string(form.body), `type="password" id="token" name="token"`) {
		t.Errorf("the sign-in form has no token field: %s", form.body)
	}
}

func TestSigningInSetsAnHttpOnlySameSiteSessionCookie(t *testing.T) {
	t.Parallel()
	g := newGateway(t, platform.NewMemoryStore())
	b := newBrowser(t, g.admin.URL)
	bad := b.do(t, http.MethodPost, "/login", url.Values{"token": {"not-the-admin-token-at-all"}}, nil)
	if got, want := bad.status, http.StatusUnauthorized; got != want {
		t.Errorf("a wrong token: status %d, want %d", got, want)
	}
	if !strings.Contains(string(bad.body), "not an admin token") {
		t.Errorf("a wrong token: the form does not say why: %s", bad.body)
	}
	r := b.do(t, http.MethodPost, "/login", url.Values{"token": {adminToken}, "next": {"/catalog"}}, nil)
	if got, want := r.status, http.StatusSeeOther; got != want {
		t.Fatalf("status %d, want %d: %s", got, want, r.body)
	}
	if got, want := r.header.Get("Location"), "/catalog"; got != want {
		t.Errorf("Location %q, want %q", got, want)
	}
	cookie := r.header.Get("Set-Cookie")
	for _, want := range []string{"portico_admin=", "HttpOnly", "SameSite=Strict", "Path=/"} {
		if !strings.Contains(cookie, want) {
			t.Errorf("Set-Cookie %q lacks %s", cookie, want)
		}
	}
	if got, want := b.do(t, http.MethodGet, "/catalog", nil, nil).status, http.StatusOK; got != want {
		t.Errorf("the catalog with the session: status %d, want %d", got, want)
	}
	if got, want := b.do(t, http.MethodGet, "/api/tenants", nil, nil).status, http.StatusOK; got != want {
		t.Errorf("the admin API with the session: status %d, want %d", got, want)
	}
}

func TestASignInRedirectNeverLeavesTheConsole(t *testing.T) {
	t.Parallel()
	g := newGateway(t, platform.NewMemoryStore())
	for _, next := range []string{"https://evil.example/", "//evil.example/", "/\\evil.example", "/\t/evil.example", "/ /evil.example", ""} {
		b := newBrowser(t, g.admin.URL)
		r := b.do(t, http.MethodPost, "/login", url.Values{"token": {adminToken}, "next": {next}}, nil)
		if got, want := r.header.Get("Location"), "/"; got != want {
			t.Errorf("next %q: Location %q, want %q", next, got, want)
		}
	}
}

func TestAChangeWithTheSessionCookieNeedsTheCSRFToken(t *testing.T) {
	t.Parallel()
	g := newGateway(t, platform.NewMemoryStore())
	b := newBrowser(t, g.admin.URL)
	token := b.signIn(t, "")
	body := url.Values{"ignored": {"x"}}
	if got, want := b.do(t, http.MethodPost, "/api/subscriptions/x.y/approve", body, nil).status, http.StatusForbidden; got != want {
		t.Errorf("a change without the CSRF token: status %d, want %d", got, want)
	}
	if got, want := b.do(t, http.MethodPost, "/api/subscriptions/x.y/approve", nil, map[string]string{"X-CSRF-Token": "00" + token[2:]}).status, http.StatusForbidden; got != want {
		t.Errorf("a change with a wrong CSRF token: status %d, want %d", got, want)
	}
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, g.admin.URL+"/api/tenants", strings.NewReader(`{"id":"made-in-console"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-CSRF-Token", token)
	res, err := b.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = res.Body.Close()
	if got, want := res.StatusCode, http.StatusCreated; got != want {
		t.Errorf("a change with the CSRF token: status %d, want %d", got, want)
	}
	var audit []platform.Entry
	g.adm(t, http.MethodGet, "/api/audit", nil, http.StatusOK).json(t, &audit)
	if len(audit) == 0 {
		t.Fatal("no audit entry")
	}
	if got, want := audit[len(audit)-1].Actor, "root"; got != want {
		t.Errorf("the audit log names %q, want the signed-in admin %q", got, want)
	}
	// Scripts keep using the token without any CSRF token.
	g.adm(t, http.MethodPost, "/api/tenants", map[string]string{"id": "made-by-script"}, http.StatusCreated)
}

func TestTheConsoleApprovesASubscriptionFromItsLandingPage(t *testing.T) {
	t.Parallel()
	g := newGateway(t, platform.NewMemoryStore())
	shop, _ := g.seed(t)
	g.call(t, http.MethodPost, "/subscriptions", shop, map[string]string{"api": "orders"})
	b := newBrowser(t, g.admin.URL)
	token := b.signIn(t, "")
	home := string(b.do(t, http.MethodGet, "/", nil, nil).body)
	for _, want := range []string{`data-sub="shop.orders"`, `href="dashboard"`, `href="catalog"`, `href="docs/"`, `id="count-pending">1<`} {
		if !strings.Contains(home, want) {
			t.Errorf("the landing page lacks %s", want)
		}
	}
	r := b.do(t, http.MethodPost, "/api/subscriptions/shop.orders/approve", url.Values{"csrf": {token}}, nil)
	if got, want := r.status, http.StatusSeeOther; got != want {
		t.Fatalf("approving from the console: status %d, want %d: %s", got, want, r.body)
	}
	if got, want := g.call(t, http.MethodGet, "/orders/1", shop, nil).status, http.StatusOK; got != want {
		t.Errorf("a call after the approval: status %d, want %d", got, want)
	}
	if got, want := b.do(t, http.MethodPost, "/logout", url.Values{"csrf": {token}}, nil).status, http.StatusSeeOther; got != want {
		t.Errorf("signing out: status %d, want %d", got, want)
	}
	if got, want := b.do(t, http.MethodGet, "/", nil, nil).status, http.StatusSeeOther; got != want {
		t.Errorf("the console after signing out: status %d, want %d (to the sign-in form)", got, want)
	}
}

func TestALoginLinkWorksOnce(t *testing.T) {
	t.Parallel()
	g := newGateway(t, platform.NewMemoryStore())
	code := g.p.LoginLink("root")
	first := newBrowser(t, g.admin.URL).do(t, http.MethodGet, "/login?code="+code+"&next=%2Fdashboard", nil, nil)
	if got, want := first.status, http.StatusSeeOther; got != want {
		t.Fatalf("the link: status %d, want %d", got, want)
	}
	if got, want := first.header.Get("Location"), "/dashboard"; got != want {
		t.Errorf("the link: Location %q, want %q", got, want)
	}
	if got, want := newBrowser(t, g.admin.URL).do(t, http.MethodGet, "/login?code="+code, nil, nil).status, http.StatusUnauthorized; got != want {
		t.Errorf("the link used again: status %d, want %d", got, want)
	}
}

func TestTheConsoleNamesItsRealPathsWhereverItIsMounted(t *testing.T) {
	t.Parallel()
	p := platform.New(platform.NewMemoryStore(), platform.WithAdminToken("root", adminToken))
	mux := http.NewServeMux()
	mux.Handle("/platform/", http.StripPrefix("/platform", p.Admin()))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	r := send(t, http.MethodGet, srv.URL+"/platform/nothing-here", adminToken, nil)
	if got, want := r.status, http.StatusNotFound; got != want {
		t.Errorf("status %d, want %d", got, want)
	}
	if got, _ := problemOf(t, r)["detail"].(string); !strings.Contains(got, "/platform/docs/") {
		t.Errorf("the 404 says %q: it must name /platform/docs/", got)
	}
	var doc struct {
		Servers []struct {
			URL string `json:"url"`
		} `json:"servers"`
	}
	if err := json.Unmarshal(send(t, http.MethodGet, srv.URL+"/platform/docs/openapi.json", adminToken, nil).body, &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Servers) != 1 {
		t.Fatalf("servers %+v, want one", doc.Servers)
	}
	if got, want := doc.Servers[0].URL, "/platform"; got != want {
		t.Errorf("the admin API document's server %q, want %q", got, want)
	}
	b := newBrowser(t, srv.URL)
	if got, want := b.do(t, http.MethodGet, "/platform/", nil, nil).header.Get("Location"), "/platform/login?next=%2Fplatform%2F"; got != want {
		t.Errorf("Location %q, want %q", got, want)
	}
	b.signIn(t, "/platform")
	home := b.do(t, http.MethodGet, "/platform/", nil, nil)
	if got, want := home.status, http.StatusOK; got != want {
		t.Errorf("the landing page under /platform: status %d, want %d", got, want)
	}
	if !strings.Contains(string(home.body), `href="../routes"`) {
		t.Error("the landing page under /platform does not link the gateway's routes")
	}
}
