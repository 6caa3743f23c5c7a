package platform_test

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/portico-dev/portico/gateway/platform"
)

// portalBrowser is a cookie-keeping client of the portal that does not
// follow redirects, and sends what a browser sends.
type portalBrowser struct {
	c    *http.Client
	base string
}

func newPortalBrowser(t *testing.T, base string) *portalBrowser {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	t.Cleanup(c.CloseIdleConnections)
	return &portalBrowser{c: c, base: base}
}

func (b *portalBrowser) do(t *testing.T, method, path string, form url.Values) (*http.Response, string) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.base+path, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "text/html")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := b.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp, string(data)
}

// csrfIn returns the CSRF token of a page's forms.
func csrfIn(t *testing.T, page string) string {
	t.Helper()
	m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("the page has no CSRF token:\n%s", page)
	}
	return m[1]
}

func TestABrowserSignsInToThePortalWithAnAPIKey(t *testing.T) {
	t.Parallel()
	g := newGateway(t, platform.NewMemoryStore())
	shop, _ := g.seed(t)
	b := newPortalBrowser(t, g.public.URL)
	resp, _ := b.do(t, http.MethodGet, "/subscriptions/", nil)
	if got, want := resp.Header.Get("Location"), "/subscriptions/login"; got != want {
		t.Errorf("the portal without a session: Location %q, want %q", got, want)
	}
	if resp, _ := b.do(t, http.MethodPost, "/subscriptions/login", url.Values{"key": {"pk_guess"}}); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("signing in with a wrong key: status %d, want 401", resp.StatusCode)
	}
	resp, _ = b.do(t, http.MethodPost, "/subscriptions/login", url.Values{"key": {shop}})
	if got, want := resp.StatusCode, http.StatusSeeOther; got != want {
		t.Fatalf("signing in with the key: status %d, want %d", got, want)
	}
	cookie := resp.Header.Get("Set-Cookie")
	for _, want := range []string{"portico_portal=", "Path=/subscriptions/", "HttpOnly", "SameSite=Strict"} {
		if !strings.Contains(cookie, want) {
			t.Errorf("session cookie %q lacks %s", cookie, want)
		}
	}
	resp, page := b.do(t, http.MethodGet, "/subscriptions/", nil)
	if got, want := resp.StatusCode, http.StatusOK; got != want {
		t.Fatalf("the portal page: status %d, want %d", got, want)
	}
	if !strings.Contains(page, `data-api="orders"`) {
		t.Errorf("the portal page does not list the API orders:\n%s", page)
	}
	if strings.Contains(page, `data-api="reports"`) {
		t.Errorf("the portal page lists another tenant's tenant-only API:\n%s", page)
	}
}

func TestThePortalsFormsNeedTheSessionsCSRFToken(t *testing.T) {
	t.Parallel()
	g := newGateway(t, platform.NewMemoryStore())
	shop, _ := g.seed(t)
	b := newPortalBrowser(t, g.public.URL)
	b.do(t, http.MethodPost, "/subscriptions/login", url.Values{"key": {shop}})
	_, page := b.do(t, http.MethodGet, "/subscriptions/", nil)
	token := csrfIn(t, page)

	if resp, _ := b.do(t, http.MethodPost, "/subscriptions/", url.Values{"api": {"orders"}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("subscribing without the CSRF token: status %d, want 403", resp.StatusCode)
	}
	resp, page := b.do(t, http.MethodPost, "/subscriptions/", url.Values{"api": {"orders"}, "csrf": {token}})
	if got, want := resp.StatusCode, http.StatusOK; got != want {
		t.Fatalf("subscribing with the CSRF token: status %d, want %d", got, want)
	}
	if !strings.Contains(page, `data-api="orders" data-sub="pending"`) {
		t.Errorf("the page after subscribing does not show the pending subscription:\n%s", page)
	}
}

func TestAKeyCreatedInThePortalIsShownOnceAndRevokedThere(t *testing.T) {
	t.Parallel()
	g := newGateway(t, platform.NewMemoryStore())
	shop, _ := g.seed(t)
	b := newPortalBrowser(t, g.public.URL)
	b.do(t, http.MethodPost, "/subscriptions/login", url.Values{"key": {shop}})
	_, page := b.do(t, http.MethodGet, "/subscriptions/", nil)
	token := csrfIn(t, page)

	_, page = b.do(t, http.MethodPost, "/subscriptions/keys", url.Values{"csrf": {token}})
	m := regexp.MustCompile(`<code id="new-secret">([^<]+)</code>`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("the page after creating a key does not show it:\n%s", page)
	}
	secret := m[1]
	if _, again := b.do(t, http.MethodGet, "/subscriptions/", nil); strings.Contains(again, secret) {
		t.Error("the portal shows the key's secret a second time")
	}
	var keys []platform.Key
	g.call(t, http.MethodGet, "/subscriptions/keys", secret, nil).json(t, &keys)
	if got, want := len(keys), 2; got != want {
		t.Fatalf("keys = %d, want %d", got, want)
	}
	var made string
	for _, k := range keys {
		if strings.HasPrefix(secret, k.Prefix) {
			made = k.ID
		}
	}
	if resp, _ := b.do(t, http.MethodPost, "/subscriptions/keys/"+made+"/revoke", url.Values{"csrf": {token}}); resp.StatusCode != http.StatusOK {
		t.Errorf("revoking the key: status %d, want 200", resp.StatusCode)
	}
	if got, want := g.call(t, http.MethodGet, "/subscriptions/keys", secret, nil).status, http.StatusUnauthorized; got != want {
		t.Errorf("the revoked key: status %d, want %d", got, want)
	}
}
