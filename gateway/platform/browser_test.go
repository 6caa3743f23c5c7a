package platform_test

import (
	"context"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/gateway/calllog"
	"github.com/portico-dev/portico/gateway/platform"
)

const chromiumPath = "/usr/bin/chromium"

// chromium runs headless Chromium on u and returns the DOM after the
// page's scripts ran, or, with extra flags (a screenshot), its output. It skips the test when Chromium is not installed.
func chromium(t *testing.T, u string, flags ...string) string {
	t.Helper()
	bin := chromiumPath
	if _, err := os.Stat(bin); err != nil {
		if bin, err = exec.LookPath("chromium"); err != nil {
			t.Skip("headless Chromium is not installed (apt-get install chromium); skipping the page rendering test")
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	args := append([]string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir=" + t.TempDir(), "--virtual-time-budget=5000"}, flags...)
	if len(flags) == 0 {
		args = append(args, "--dump-dom")
	}
	var stderr strings.Builder
	cmd := exec.CommandContext(ctx, bin, append(args, u)...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium %s: %v\n%s", u, err, stderr.String())
	}
	if len(out) == 0 && len(flags) == 0 {
		t.Logf("chromium printed nothing; its log:\n%s", stderr.String())
	}
	return string(out)
}

// artifacts returns the directory for test artifacts: $PORTICO_TEST_ARTIFACTS
// if set, else a temporary directory.
func artifacts(t *testing.T) string {
	if d := os.Getenv("PORTICO_TEST_ARTIFACTS"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	return t.TempDir()
}

// signedIn returns a one-time login link of g's console that lands on
// path, as a person opens the link a gateway prints at startup.
func (g *gateway) signedIn(path string) string {
	return g.admin.URL + "/login?code=" + g.p.LoginLink("root") + "&next=" + url.QueryEscape(path)
}

func TestTheDashboardAndTheCatalogRenderInHeadlessChromium(t *testing.T) {
	t.Parallel()
	g := newGateway(t, platform.NewMemoryStore())
	shop, ledger := g.seed(t)
	g.call(t, http.MethodPost, "/subscriptions", ledger, map[string]string{"api": "reports"})
	var sub platform.Subscription
	g.call(t, http.MethodPost, "/subscriptions", shop, map[string]string{"api": "orders"}).json(t, &sub)
	g.adm(t, http.MethodPost, "/api/subscriptions/"+sub.ID+"/approve", nil, http.StatusOK)
	for i := range 20 {
		g.call(t, http.MethodGet, "/orders/"+strconv.Itoa(i), shop, nil)
		g.call(t, http.MethodGet, "/reports/"+strconv.Itoa(i), ledger, nil)
	}
	last := g.call(t, http.MethodGet, "/orders/fail", shop, nil)
	if last.status != http.StatusBadGateway {
		t.Fatalf("the failing call: status %d, want the upstream's 502", last.status)
	}
	latestErrorID := ""
	g.flush(t)
	if calls := g.ring.Query(calllog.Filter{Failed: true, Limit: 1}); len(calls) == 1 {
		latestErrorID = calls[0].RequestID
	}
	if latestErrorID == "" {
		t.Fatal("the failing call has no record with a request ID")
	}
	g.adm(t, http.MethodPost, "/api/apis/reports/state", map[string]any{"state": "deprecated", "sunset": "2999-01-01T00:00:00Z"}, http.StatusOK)

	dir := artifacts(t)
	dom := chromium(t, g.signedIn("/dashboard?window=30m&step=1m"))
	if !strings.Contains(dom, `data-charts="ready"`) {
		t.Fatalf("the dashboard's script did not run; DOM:\n%s", dom)
	}
	for _, chart := range []string{"requests", "errors", "latency", "tokens"} {
		m := regexp.MustCompile(`id="chart-` + chart + `"[^>]*data-points="(\d+)"`).FindStringSubmatch(dom)
		if m == nil {
			t.Errorf("chart %s has no data-points in the DOM", chart)
			continue
		}
		if m[1] == "0" {
			t.Errorf("chart %s has 0 data points in the DOM", chart)
		}
	}
	if !strings.Contains(dom, "uplot") {
		t.Error("no uPlot chart in the DOM")
	}
	if n := strings.Count(dom, `class="point"`); n == 0 {
		t.Error("the charts' point tables are empty")
	}
	if !strings.Contains(dom, `href="dashboard?by=consumer&amp;tenant=acme&amp;window=30m0s"`) {
		t.Error("the breakdown does not link each tenant's consumers")
	}
	// The time axis spans the picked range, not only the minutes with data.
	m := regexp.MustCompile(`id="chart-requests"[^>]*data-from="(\d+)" data-to="(\d+)"`).FindStringSubmatch(dom)
	if m == nil {
		t.Fatalf("the requests chart has no axis range in the DOM: %s", regexp.MustCompile(`id="chart-requests"[^>]*>`).FindString(dom))
	}
	from, _ := strconv.Atoi(m[1])
	to, _ := strconv.Atoi(m[2])
	if got, want := to-from, 1800; got != want {
		t.Errorf("the time axis spans %d s, want the picked 30 min (%d s)", got, want)
	}
	if !strings.Contains(dom, latestErrorID) {
		t.Errorf("the latest error's request ID %s is not on the dashboard", latestErrorID)
	}
	shot := filepath.Join(dir, "dashboard.png")
	chromium(t, g.signedIn("/dashboard?window=30m&step=1m"), "--screenshot="+shot, "--window-size=1280,900")
	if st, err := os.Stat(shot); err != nil {
		t.Errorf("no dashboard screenshot at %s: %v", shot, err)
	} else if st.Size() == 0 {
		t.Errorf("the dashboard screenshot at %s is empty", shot)
	}
	t.Logf("dashboard screenshot: %s", shot)

	catalog := chromium(t, g.signedIn("/catalog?tenant=globex"))
	for _, want := range []string{`data-api="orders" data-state="published"`, `data-api="reports" data-state="deprecated"`, `{"api":"orders"}`} {
		if !strings.Contains(catalog, want) {
			t.Errorf("the catalog for globex lacks %s", want)
		}
	}
	if strings.Contains(chromium(t, g.signedIn("/catalog?tenant=acme")), `data-api="reports"`) {
		t.Error("acme's catalog lists globex's tenant-only API")
	}
	chromium(t, g.signedIn("/catalog?tenant=globex"), "--screenshot="+filepath.Join(dir, "catalog.png"), "--window-size=1280,900")
}

func TestTheConsoleRendersInHeadlessChromium(t *testing.T) {
	t.Parallel()
	g := newGateway(t, platform.NewMemoryStore())
	shop, ledger := g.seed(t)
	g.call(t, http.MethodPost, "/subscriptions", shop, map[string]string{"api": "orders"})
	g.call(t, http.MethodPost, "/subscriptions", ledger, map[string]string{"api": "reports"})
	for i := range 10 {
		g.call(t, http.MethodGet, "/reports/"+strconv.Itoa(i), ledger, nil)
	}
	g.call(t, http.MethodGet, "/reports/fail", ledger, nil)
	g.flush(t)
	dir := artifacts(t)

	login := chromium(t, g.admin.URL+"/dashboard")
	if !strings.Contains(login, `id="login"`) {
		t.Errorf("a browser without a session does not land on the sign-in form; DOM:\n%s", login)
	}
	chromium(t, g.admin.URL+"/login", "--screenshot="+filepath.Join(dir, "console-login.png"), "--window-size=1280,600")

	home := chromium(t, g.signedIn("/"))
	for _, want := range []string{`data-sub="shop.orders"`, `class="approve"`, `id="count-pending">1<`} {
		if !strings.Contains(home, want) {
			t.Errorf("the signed-in landing page lacks %s", want)
		}
	}
	chromium(t, g.signedIn("/"), "--screenshot="+filepath.Join(dir, "console-home.png"), "--window-size=1280,700")

	drill := "/dashboard?by=route&tenant=globex&consumer=ledger&api=reports&window=15m"
	routes := chromium(t, g.signedIn(drill))
	if !strings.Contains(routes, `data-charts="ready"`) {
		t.Fatalf("the route level's charts did not draw; DOM:\n%s", routes)
	}
	if !strings.Contains(routes, `class="row" data-key=`) {
		t.Error("the route level has no breakdown rows")
	}
	if !strings.Contains(routes, `<tr class="error">`) {
		t.Error("the route level does not show the latest error")
	}
	chromium(t, g.signedIn(drill), "--screenshot="+filepath.Join(dir, "dashboard-routes.png"), "--window-size=1280,1100")
}
