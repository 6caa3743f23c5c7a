package platform_test

import (
	"net/http"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/portico-dev/portico/gateway/platform"
)

// TestAPersonClicksThroughTheConsoleAndThePortalInHeadlessChromium signs
// in to the console with the admin token, signs in to the portal with a
// consumer's key, subscribes to an API awaiting approval, approves it in
// the console, creates a key in the portal and makes a first call with
// it, then drills down the dashboard and opens the catalog, all by
// clicking in a real browser. Screenshots of the portal go to
// $PORTICO_TEST_ARTIFACTS (docs/screenshots in the README); the console's
// are taken by the tests beside it.
func TestAPersonClicksThroughTheConsoleAndThePortalInHeadlessChromium(t *testing.T) {
	t.Parallel()
	b := newCDP(t)
	dir := artifacts(t)
	g := newGateway(t, platform.NewMemoryStore())
	shop, _ := g.seed(t)
	console, portal := b.open(), b.open()

	// The console: the sign-in form, then the landing page.
	console.visit(g.admin.URL + "/")
	console.loaded(g.admin.URL + "/login")
	console.fill("#token", adminToken)
	console.click("#login button", g.admin.URL+"/")
	if got, want := console.text("document.querySelector('#count-pending').innerText"), "0"; got != want {
		t.Errorf("subscriptions waiting before any request: %s, want %s", got, want)
	}

	// The portal: sign in with the consumer's key, subscribe to orders.
	portal.visit(g.public.URL + "/subscriptions/")
	portal.loaded(g.public.URL + "/subscriptions/login")
	portal.fill("#key", shop)
	portal.click("#portal-login button", g.public.URL+"/subscriptions/")
	portal.click(`tr[data-api="orders"] button.subscribe`, g.public.URL+"/subscriptions/")
	if got, want := portal.text(`document.querySelector('tr[data-api="orders"]').dataset.sub`), "pending"; got != want {
		t.Errorf("the subscription after clicking Subscribe: %q, want %q", got, want)
	}
	portal.screenshot(filepath.Join(dir, "portal-pending.png"))

	// The console approves it.
	console.visit(g.admin.URL + "/")
	console.click(`tr[data-sub="shop.orders"] button.approve`, g.admin.URL+"/")
	if got, want := console.text("document.querySelector('#count-pending').innerText"), "0"; got != want {
		t.Errorf("subscriptions waiting after the approval: %s, want %s", got, want)
	}

	// The portal shows it active; a new key, shown once, makes a call.
	portal.visit(g.public.URL + "/subscriptions/")
	if got, want := portal.text(`document.querySelector('tr[data-api="orders"]').dataset.sub`), "active"; got != want {
		t.Errorf("the subscription after the approval: %q, want %q", got, want)
	}
	portal.click("#create-key button", g.public.URL+"/subscriptions/keys")
	key := portal.text("document.querySelector('#new-secret').innerText")
	portal.screenshot(filepath.Join(dir, "portal-new-key.png"))
	if got, want := g.call(t, http.MethodGet, "/orders/1", key, nil).status, http.StatusOK; got != want {
		t.Fatalf("the first call with the key made in the portal: status %d, want %d", got, want)
	}
	for i := range 10 {
		g.call(t, http.MethodGet, "/orders/"+strconv.Itoa(i), key, nil)
	}
	g.flush(t)
	portal.visit(g.public.URL + "/subscriptions/")
	if got, want := portal.text(`document.querySelector('#usage-apis tr[data-api="orders"] td:nth-child(2)').innerText`), "11"; got != want {
		t.Errorf("the portal's usage of orders: %s calls, want %s", got, want)
	}
	portal.screenshot(filepath.Join(dir, "portal.png"))

	// The dashboard: tenant, then consumer, then API.
	console.visit(g.admin.URL + "/dashboard?refresh=off")
	console.click(`tr[data-key="acme"] a`, g.admin.URL+"/dashboard")
	console.click(`tr[data-key="shop"] a`, g.admin.URL+"/dashboard")
	if !console.contains("consumer shop") {
		t.Errorf("the dashboard after two clicks does not show consumer shop:\n%s", console.text("document.body.innerText"))
	}

	// The catalog lists the API.
	console.click(`nav a[href="catalog"]`, g.admin.URL+"/catalog")
	if got, want := console.text(`document.querySelector('tr[data-api="orders"]').dataset.state`), "published"; got != want {
		t.Errorf("the catalog's orders row: state %q, want %q", got, want)
	}
}
