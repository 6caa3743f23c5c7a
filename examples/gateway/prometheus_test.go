package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestPrometheusScrapesTheAdminListener runs a real prometheus (Debian's
// package) against the demo gateway's admin /metrics and asks it, in
// PromQL, for the request rate by route.
func TestPrometheusScrapesTheAdminListener(t *testing.T) {
	t.Parallel()
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		t.Skip("prometheus is not installed (apt-get install prometheus); skipping the real scrape")
	}
	_, proxy, admin := scrape(t)
	dir := t.TempDir()
	cfg := fmt.Sprintf("global: {scrape_interval: 1s, evaluation_interval: 1s}\nscrape_configs:\n  - job_name: portico\n    static_configs: [{targets: [%q]}]\n", strings.TrimPrefix(admin, "http://"))
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "--config.file="+filepath.Join(dir, "prometheus.yml"),
		"--storage.tsdb.path="+filepath.Join(dir, "data"), "--web.listen-address="+addr, "--log.level=error")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); _ = cmd.Wait() })

	c := &http.Client{Timeout: 10 * time.Second}
	defer c.CloseIdleConnections()
	query := `sum by (http_route) (rate(http_server_request_duration_seconds_count[30s]))`
	// Traffic keeps flowing while Prometheus takes its first scrapes; a
	// rate needs two. Bounded by a count, generous for a loaded machine.
	for range 120 {
		if resp, err := c.Get(proxy + "/api/users"); err == nil {
			_ = resp.Body.Close()
		}
		if routes := promQuery(c, "http://"+addr, query); routes["/api/users"] > 0 {
			return
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Errorf("prometheus never returned a rate for http_route=/api/users from %q", query)
}

// promQuery runs an instant query and returns each series' http_route and
// value; nil while Prometheus is not answering yet.
func promQuery(c *http.Client, base, q string) map[string]float64 {
	resp, err := c.Get(base + "/api/v1/query?query=" + url.QueryEscape(q))
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	var out struct {
		Data struct {
			Result []struct {
				Metric map[string]string `json:"metric"`
				Value  [2]any            `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if json.NewDecoder(resp.Body).Decode(&out) != nil {
		return nil
	}
	routes := map[string]float64{}
	for _, r := range out.Data.Result {
		var v float64
		if s, ok := r.Value[1].(string); ok {
			_, _ = fmt.Sscan(s, &v)
		}
		routes[r.Metric["http_route"]] = v
	}
	return routes
}
