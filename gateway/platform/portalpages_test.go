package platform_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/portico-dev/portico/gateway/platform"
)

// signInToPortal signs a browser in to g's portal with key and returns
// it with the CSRF token of the portal's forms.
func signInToPortal(t *testing.T, g *gateway, key string) (*browser, string) {
	t.Helper()
	b := newBrowser(t, g.public.URL)
	if got, want := b.do(t, http.MethodPost, "/subscriptions/login", url.Values{"key": {key}}, nil).status, http.StatusSeeOther; got != want {
		t.Fatalf("signing in to the portal: status %d, want %d", got, want)
	}
	return b, csrfIn(t, string(b.do(t, http.MethodGet, "/subscriptions/", nil, nil).body))
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
	b := newBrowser(t, g.public.URL)
	if got, want := b.do(t, http.MethodGet, "/subscriptions/", nil, nil).header.Get("Location"), "/subscriptions/login"; got != want {
		t.Errorf("the portal without a session: Location %q, want %q", got, want)
	}
	if got, want := b.do(t, http.MethodPost, "/subscriptions/login", url.Values{"key": {"pk_guess"}}, nil).status, http.StatusUnauthorized; got != want {
		t.Errorf("signing in with a wrong key: status %d, want %d", got, want)
	}
	resp := b.do(t, http.MethodPost, "/subscriptions/login", url.Values{"key": {shop}}, nil)
	if got, want := resp.status, http.StatusSeeOther; got != want {
		t.Fatalf("signing in with the key: status %d, want %d", got, want)
	}
	cookie := resp.header.Get("Set-Cookie")
	for _, want := range []string{"portico_portal=", "Path=/subscriptions/", "HttpOnly", "SameSite=Strict"} {
		if !strings.Contains(cookie, want) {
			t.Errorf("session cookie %q lacks %s", cookie, want)
		}
	}
	resp = b.do(t, http.MethodGet, "/subscriptions/", nil, nil)
	if got, want := resp.status, http.StatusOK; got != want {
		t.Fatalf("the portal page: status %d, want %d", got, want)
	}
	page := string(resp.body)
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
	b, token := signInToPortal(t, g, shop)
	if got, want := b.do(t, http.MethodPost, "/subscriptions/", url.Values{"api": {"orders"}}, nil).status, http.StatusForbidden; got != want {
		t.Errorf("subscribing without the CSRF token: status %d, want %d", got, want)
	}
	resp := b.do(t, http.MethodPost, "/subscriptions/", url.Values{"api": {"orders"}, "csrf": {token}}, nil)
	if got, want := resp.status, http.StatusOK; got != want {
		t.Fatalf("subscribing with the CSRF token: status %d, want %d", got, want)
	}
	if page := string(resp.body); !strings.Contains(page, `data-api="orders" data-sub="pending"`) {
		t.Errorf("the page after subscribing does not show the pending subscription:\n%s", page)
	}
}

func TestAKeyCreatedInThePortalIsShownOnceAndRevokedThere(t *testing.T) {
	t.Parallel()
	g := newGateway(t, platform.NewMemoryStore())
	shop, _ := g.seed(t)
	b, token := signInToPortal(t, g, shop)
	page := string(b.do(t, http.MethodPost, "/subscriptions/keys", url.Values{"csrf": {token}}, nil).body)
	m := regexp.MustCompile(`<code id="new-secret">([^<]+)</code>`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("the page after creating a key does not show it:\n%s", page)
	}
	secret := m[1]
	if again := string(b.do(t, http.MethodGet, "/subscriptions/", nil, nil).body); strings.Contains(again, secret) {
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
	if got, want := b.do(t, http.MethodPost, "/subscriptions/keys/"+made+"/revoke", url.Values{"csrf": {token}}, nil).status, http.StatusOK; got != want {
		t.Errorf("revoking the key: status %d, want %d", got, want)
	}
	if got, want := g.call(t, http.MethodGet, "/subscriptions/keys", secret, nil).status, http.StatusUnauthorized; got != want {
		t.Errorf("the revoked key: status %d, want %d", got, want)
	}
}
