package main

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// startup is what a person reads in the demo's start-up lines.
type startup struct {
	console, key, dashboard string
	commands                []string // the three to paste
	then                    string   // the call that works once approved
}

// readStartup finds the console link, the demo key and the commands in
// the demo's plain start-up lines.
func readStartup(t *testing.T, out string) startup {
	t.Helper()
	var s startup
	for line := range strings.Lines(out) {
		line = strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(line, "console "):
			s.console = strings.TrimSpace(strings.TrimPrefix(line, "console "))
		case strings.HasPrefix(line, "demo key "):
			s.key = strings.Fields(line)[2]
		case strings.HasPrefix(line, "curl ") && len(s.commands) < 3:
			s.commands = append(s.commands, line)
		case strings.HasPrefix(line, "curl "):
			s.then = line
		}
	}
	if m := regexp.MustCompile(`\((http://[^)]+/platform/dashboard)\)`).FindStringSubmatch(out); m != nil {
		s.dashboard = m[1]
	}
	for name, v := range map[string]string{"console": s.console, "key": s.key, "then": s.then, "dashboard": s.dashboard} {
		if v == "" {
			t.Fatalf("the start-up lines lack the %s: %+v\n%s", name, s, out)
		}
	}
	if got, want := len(s.commands), 3; got != want {
		t.Fatalf("the start-up lines hold %d commands, want %d: %+v\n%s", got, want, s, out)
	}
	return s
}

// shells are the shells the printed commands are run in: bash, and zsh
// when it is installed.
func shells(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, sh := range []string{"bash", "zsh"} {
		if _, err := exec.LookPath(sh); err == nil {
			out = append(out, sh)
		}
	}
	if len(out) == 0 {
		t.Skip("neither bash nor zsh is installed")
	}
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl is not installed")
	}
	return out
}

// paste runs a printed command as a person pasting it into sh would.
func paste(t *testing.T, sh, command string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, sh, "-c", command).CombinedOutput()
	if err != nil {
		t.Fatalf("%s -c %s: %v\n%s", sh, command, err, out)
	}
	return string(out)
}

func TestTheStartupLinesLeadToADashboardWithDataAnApprovedSubscriptionAndAWorkingKey(t *testing.T) {
	t.Parallel()
	sh := shells(t)
	_, _, logs := start(t, nil, "-addr", "127.0.0.1:0", "-admin-addr", "127.0.0.1:0", "-log-level", "error")
	s := readStartup(t, logs.String())
	if !strings.HasPrefix(s.console, "http://127.0.0.1:") {
		t.Errorf("console link %q, want it on http://127.0.0.1", s.console)
	}

	// The three commands, pasted into each shell.
	for _, shell := range sh {
		for i, want := range []string{`"name":"Ada"`, `"api":"orders"`, `"content":"You said: Hello!"`} {
			if got := paste(t, shell, s.commands[i]); !strings.Contains(got, want) {
				t.Errorf("%s, command %d: %s\nwant %s in the answer", shell, i+1, got, want)
			}
		}
	}
	if got := paste(t, sh[0], s.then); !strings.Contains(got, `"subscription":"pending"`) {
		t.Errorf("the orders call before the approval: %s, want a refusal naming the pending subscription", got)
	}

	// The console: the one-time link signs the browser in; its first page
	// approves the subscription the second command asked for.
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	defer browser.CloseIdleConnections()
	home := get(t, browser, s.console)
	if !strings.Contains(home, `data-sub="demo-app.orders"`) {
		t.Fatalf("the console's first page lacks the pending subscription:\n%s", home)
	}
	csrf := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(home)
	if csrf == nil {
		t.Fatalf("the console's first page has no CSRF token:\n%s", home)
	}
	approve := strings.Replace(s.console, "login?", "api/subscriptions/demo-app.orders/approve?", 1)
	approve = approve[:strings.Index(approve, "?")]
	resp, err := browser.PostForm(approve, url.Values{"csrf": {csrf[1]}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got, want := resp.StatusCode, http.StatusOK; got != want {
		t.Errorf("approving: status %d after the redirect, want %d", got, want)
	}
	if got := paste(t, sh[0], s.then); !strings.Contains(got, `"status":"shipped"`) {
		t.Errorf("the orders call after the approval: %s, want the order", got)
	}

	// The dashboard counts the calls (the recorder writes them off the
	// request path, so the test waits for them).
	waitForCalls(t, browser, s.dashboard, 1)
}

// waitForCalls reloads the dashboard until it counts at least n calls,
// for up to a minute.
func waitForCalls(t *testing.T, browser *http.Client, dashboard string, n int) {
	t.Helper()
	count := regexp.MustCompile(`requests <strong>(\d+)</strong>`)
	deadline := time.Now().Add(time.Minute)
	for {
		page := get(t, browser, dashboard)
		if m := count.FindStringSubmatch(page); m != nil {
			if got, _ := strconv.Atoi(m[1]); got >= n {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the dashboard counts fewer than %d calls after a minute:\n%s", n, page)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// get fetches u with c and wants 200.
func get(t *testing.T, c *http.Client, u string) string {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", u, resp.StatusCode, b)
	}
	return string(b)
}

func TestDemoTrafficFillsTheDashboard(t *testing.T) {
	t.Parallel()
	_, _, logs := start(t, nil, "-addr", "127.0.0.1:0", "-admin-addr", "127.0.0.1:0", "-log-level", "error", "-demo-traffic")
	s := readStartup(t, logs.String())
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	defer browser.CloseIdleConnections()
	get(t, browser, s.console)
	waitForCalls(t, browser, s.dashboard, 5)
}

// TestTheREADMEsSetUpCommandsWorkInOrder runs the curl commands of the
// README's set-up section, top to bottom, against the demo, through bash:
// each must succeed (curl -f fails on an HTTP error).
func TestTheREADMEsSetUpCommandsWorkInOrder(t *testing.T) {
	t.Parallel()
	sh := shells(t)
	data, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Skipf("the README is not beside the module: %v", err)
	}
	text := string(data)
	from, to := strings.Index(text, "## Set-up"), strings.Index(text, "## Quick start")
	if from < 0 {
		t.Fatal("the README has no set-up section")
	}
	if to < from {
		t.Fatal("the README's set-up section does not come before its quick start")
	}
	proxy, admin, _ := start(t, nil, "-addr", "127.0.0.1:0", "-admin-addr", "127.0.0.1:0", "-log-level", "error")
	var commands []string
	inSh := false
	for line := range strings.Lines(text[from:to]) {
		line = strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(line, "```"):
			inSh = line == "```sh"
		case inSh && strings.HasPrefix(line, "curl "):
			line = strings.NewReplacer("localhost:8080", strings.TrimPrefix(proxy, "http://"),
				"127.0.0.1:9090", strings.TrimPrefix(admin, "http://")).Replace(line)
			commands = append(commands, "curl -f -o /dev/null --max-time 20 "+strings.TrimPrefix(line, "curl "))
		}
	}
	if len(commands) < 5 {
		t.Fatalf("found %d curl commands in the set-up section, want at least 5", len(commands))
	}
	for _, c := range commands {
		paste(t, sh[0], c)
	}
}
