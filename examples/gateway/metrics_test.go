package main

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
)

// exposition is what /metrics exports: each sample name with the label
// names seen on it, and each family's type.
type exposition struct {
	types  map[string]string          // family -> counter, gauge, histogram, …
	labels map[string]map[string]bool // sample name -> label names
}

// labelName matches a label and its value; a label whose value is empty
// is no label to Prometheus (a sum by it groups such series under none).
var labelName = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"`)

func parseExposition(t *testing.T, body string) exposition {
	t.Helper()
	e := exposition{types: map[string]string{}, labels: map[string]map[string]bool{}}
	sc := bufio.NewScanner(strings.NewReader(body))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if f, ok := strings.CutPrefix(line, "# TYPE "); ok {
			name, typ, _ := strings.Cut(f, " ")
			e.types[name] = typ
			continue
		}
		if line == "" || line[0] == '#' {
			continue
		}
		name, rest, _ := strings.Cut(line, "{")
		name, _, _ = strings.Cut(name, " ")
		if e.labels[name] == nil {
			e.labels[name] = map[string]bool{}
		}
		labels, _, _ := strings.Cut(rest, "}")
		for _, m := range labelName.FindAllStringSubmatch(labels, -1) {
			if m[2] != "" {
				e.labels[name][m[1]] = true
			}
		}
	}
	return e
}

// scrape runs the demo gateway, sends requests to routes and the AI
// endpoint, and returns its /metrics.
func scrape(t *testing.T) (exposition, string, string) {
	t.Helper()
	proxy, admin, _ := start(t, nil, "-addr", "127.0.0.1:0", "-admin-addr", "127.0.0.1:0", "-log-level", "error")
	c := &http.Client{Timeout: 30 * time.Second}
	t.Cleanup(c.CloseIdleConnections)
	do := func(req *http.Request) string {
		t.Helper()
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	for _, path := range []string{"/api/users", "/api/orders/1", "/api/nowhere"} {
		req, _ := http.NewRequest(http.MethodGet, proxy+path, nil)
		do(req)
	}
	req, _ := http.NewRequest(http.MethodPost, proxy+"/v1/chat/completions",
		strings.NewReader(`{"model":"demo","messages":[{"role":"user","content":"hi"}]}`))
	req.Header.Set("Authorization", "Bearer portico-demo-key")
	req.Header.Set("Content-Type", "application/json")
	do(req)
	req, _ = http.NewRequest(http.MethodGet, admin+"/metrics", nil)
	return parseExposition(t, do(req)), proxy, admin
}

var promName = regexp.MustCompile(`^[a-z_:][a-z0-9_:]*$`)

func TestMetricsFollowThePrometheusConventions(t *testing.T) {
	t.Parallel()
	e, _, _ := scrape(t)
	if len(e.types) == 0 {
		t.Fatal("/metrics exported no family")
	}
	for name, typ := range e.types {
		if !promName.MatchString(name) {
			t.Errorf("%s: not lower-case snake case", name)
		}
		if typ == "counter" && !strings.HasSuffix(name, "_total") {
			t.Errorf("counter %s does not end in _total", name)
		}
		if strings.Contains(name, "duration") && !strings.HasSuffix(name, "_seconds") {
			t.Errorf("duration %s does not end in _seconds", name)
		}
	}
	for _, want := range []string{"portico_ai_cost_usd_total", "portico_ai_tokens_total", "http_server_request_duration_seconds"} {
		if _, ok := e.types[want]; !ok {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

// promQL's words that are not metric names.
var promWords = map[string]bool{"by": true, "without": true, "on": true, "ignoring": true, "group_left": true,
	"group_right": true, "and": true, "or": true, "unless": true, "bool": true, "offset": true}

var (
	quoted     = regexp.MustCompile(`"[^"]*"`)
	grouping   = regexp.MustCompile(`\b(by|without)\s*\(([^)]*)\)`)
	matchers   = regexp.MustCompile(`\{([^}]*)\}`)
	ranges     = regexp.MustCompile(`\[[^\]]*\]`)
	identifier = regexp.MustCompile(`[a-zA-Z_:][a-zA-Z0-9_:]*(\s*\()?`)
)

// exprRefs returns the metric names and the label names an expression uses.
func exprRefs(expr string) (metrics, labels []string) {
	expr = quoted.ReplaceAllString(expr, `""`)
	for _, m := range grouping.FindAllStringSubmatch(expr, -1) {
		for l := range strings.SplitSeq(m[2], ",") {
			labels = append(labels, strings.TrimSpace(l))
		}
	}
	expr = grouping.ReplaceAllString(expr, " ")
	for _, m := range matchers.FindAllStringSubmatch(expr, -1) {
		for _, l := range labelName.FindAllStringSubmatch(strings.ReplaceAll(m[1], `=~""`, `=""`), -1) {
			labels = append(labels, l[1])
		}
		for _, l := range regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!=|!~|=)`).FindAllStringSubmatch(m[1], -1) {
			labels = append(labels, l[1])
		}
	}
	expr = ranges.ReplaceAllString(matchers.ReplaceAllString(expr, " "), " ")
	for _, id := range identifier.FindAllString(expr, -1) {
		if strings.HasSuffix(id, "(") || promWords[id] {
			continue // a function or a keyword
		}
		metrics = append(metrics, id)
	}
	return metrics, labels
}

func TestGrafanaDashboardQueriesTheExportedMetrics(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("deploy/grafana-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatal(err)
	}
	e, _, _ := scrape(t)
	var exprs int
	for _, p := range dash.Panels {
		for _, tg := range p.Targets {
			exprs++
			metrics, labels := exprRefs(tg.Expr)
			if len(metrics) == 0 {
				t.Errorf("%s: no metric in %q", p.Title, tg.Expr)
			}
			for _, m := range metrics {
				seen, ok := e.labels[m]
				if !ok {
					t.Errorf("%s: %s is not exported", p.Title, m)
					continue
				}
				for _, l := range labels {
					if !seen[l] {
						t.Errorf("%s: %s has no label %s", p.Title, m, l)
					}
				}
			}
		}
	}
	if exprs < 10 {
		t.Errorf("the dashboard has %d queries, want the dozen it was written with", exprs)
	}
}
