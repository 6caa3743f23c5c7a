package main

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portico-dev/portico/gateway"
	"github.com/portico-dev/portico/gateway/config"
)

// reloadConfig is a configuration with a platform file and a quota of
// two requests a day per client address; /version answers with its
// version in a header, so a test sees when the gateway has reloaded.
const reloadConfig = `
upstreams:
  - name: orders
    instances: [{url: %q}]
routes:
  - name: orders
    prefix: /orders
    upstream: orders
    policy:
      quota: {limit: 2, key: ip}
  - name: version
    path: /version
    upstream: orders
    response_headers: {set: {X-Config-Version: "%d"}}
platform:
  file: platform.db
  admin_tokens: {root: 0123456789abcdef0123456789abcdef}
`

// Regression test: with a platform file, every reload was rejected with
// "opening platform.db: timeout", because the new build opened the bbolt
// file the running one held; and a reload forgot the quota.
func TestTheGatewayReloadsAConfigWithAPlatformFileAndKeepsItsQuota(t *testing.T) {
	t.Parallel()
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "ok")
	}))
	defer up.Close()
	path := filepath.Join(t.TempDir(), "gateway.yaml")
	write := func(version int) {
		tmp := path + ".tmp"
		if err := os.WriteFile(tmp, fmt.Appendf(nil, reloadConfig, up.URL, version), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, path); err != nil {
			t.Fatal(err)
		}
	}
	write(1)
	proxy, _, logs := start(t, nil, "-config", path, "-addr", "127.0.0.1:0", "-admin-addr", "127.0.0.1:0")
	c := &http.Client{Timeout: 30 * time.Second}
	defer c.CloseIdleConnections()
	get := func(path string) (status int, version string) {
		t.Helper()
		resp, err := c.Get(proxy + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		_, _ = io.Copy(io.Discard, resp.Body)
		return resp.StatusCode, resp.Header.Get("X-Config-Version")
	}
	for i, want := range []int{http.StatusOK, http.StatusOK, http.StatusTooManyRequests} {
		if got, _ := get("/orders/1"); got != want {
			t.Fatalf("request %d before the reload: status %d, want %d", i+1, got, want)
		}
	}

	write(2) // an unrelated change: another route's header, not the quota
	deadline := time.Now().Add(30 * time.Second)
	for {
		if strings.Contains(logs.String(), "configuration rejected") {
			t.Fatalf("the reload was rejected:\n%s", logs)
		}
		if _, v := get("/version"); v == "2" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the gateway did not reload within 30s:\n%s", logs)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if got, want := func() int { s, _ := get("/orders/1"); return s }(), http.StatusTooManyRequests; got != want {
		t.Errorf("status after the reload = %d, want %d: the day's quota is used up", got, want)
	}
}

// demoConfig routes /orders to the demo's orders service, whose address
// only the example's lookup knows; /orders answers with the
// configuration's version in a header.
const demoConfig = `
upstreams:
  - name: orders
    instances: [{url: "${DEMO_ORDERS}"}]
routes:
  - name: orders
    prefix: /orders
    upstream: orders
    response_headers: {set: {X-Config-Version: "%d"}}
`

// countingFS counts the files opened in it.
type countingFS struct {
	fs.FS
	opens atomic.Int64
}

func (c *countingFS) Open(name string) (fs.File, error) {
	c.opens.Add(1)
	return c.FS.Open(name)
}

// Regression test (issue 14): the example set its own load on the
// reloader to resolve its ${DEMO_*} variables, so each reload read the
// file twice, once to parse it and once for the sum Watch compares.
func TestAReloadOfTheExampleReadsItsFileOnceAndResolvesTheDemoVariables(t *testing.T) {
	t.Parallel()
	quiet := slog.New(slog.DiscardHandler)
	dir := t.TempDir()
	write := func(version int) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, "gateway.yaml"), fmt.Appendf(nil, demoConfig, version), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(1)
	services := &lazyDemo{logger: quiet, env: func(string) (string, bool) { return "", false }}
	defer services.close()
	rc := reloaderConfig(&flags{config: "gateway.yaml"}, quiet, []gateway.Option{gateway.WithLogger(quiet)}, services.lookup, nil)
	files := &countingFS{FS: os.DirFS(dir)}
	rc.FS = files
	rl, err := config.NewReloader(rc)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = rl.Close() }()
	if got, want := files.opens.Load(), int64(1); got != want {
		t.Errorf("the first load opened the file %d times, want %d", got, want)
	}

	write(2)
	before := files.opens.Load()
	if err := rl.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got, want := files.opens.Load()-before, int64(1); got != want {
		t.Errorf("the reload opened the file %d times, want %d", got, want)
	}
	w := httptest.NewRecorder()
	rl.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/orders/7", nil))
	if got, want := w.Code, http.StatusOK; got != want {
		t.Fatalf("GET /orders/7 after the reload: status %d, want %d: ${DEMO_ORDERS} did not resolve to the demo service\n%s", got, want, w.Body)
	}
	if got, want := w.Header().Get("X-Config-Version"), "2"; got != want {
		t.Errorf("X-Config-Version after the reload = %q, want %q", got, want)
	}
	if body := w.Body.String(); !strings.Contains(body, `"shipped"`) {
		t.Errorf("GET /orders/7 answered %s, want the demo orders service's order", body)
	}
}
