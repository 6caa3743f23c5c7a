package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/portico-dev/portico/gateway/config"
	"github.com/portico-dev/portico/gateway/platform"
	"github.com/portico-dev/portico/middleware"
)

// The demo platform's names: one tenant, its consumer, the administrator
// and two APIs (routes under /shop in default.yaml).
const (
	demoTenant   = "demo"
	demoConsumer = "demo-app"
	demoAdmin    = "admin"
	adminKeyVar  = "PORTICO_ADMIN_TOKEN" // the console's admin token
)

// seedPlatform fills a fresh demo platform: the tenant "demo", its
// consumer "demo-app" with a key and an active subscription to the API
// "users" (automatic approval), and the API "orders", whose subscriptions
// an administrator approves in the console. It returns the consumer's key,
// shown this once.
func seedPlatform(ctx context.Context, p *platform.Platform) (string, error) {
	if p == nil {
		return "", errors.New("the demo configuration has no platform")
	}
	const actor = "demo-setup"
	if _, err := p.CreateTenant(ctx, actor, platform.Tenant{ID: demoTenant, Name: "Demo tenant"}); err != nil {
		return "", err
	}
	c := platform.ConsumerRecord{Name: "Demo application", Consumer: middleware.Consumer{
		ID: demoConsumer, Tenant: demoTenant, Plan: "free",
		// Of the AI models, the demo consumer may use the offline one only.
		Metadata: map[string]string{"ai.models": "demo"},
	}}
	if _, err := p.CreateConsumer(ctx, actor, c); err != nil {
		return "", err
	}
	for _, a := range []platform.API{
		{ID: "users", Name: "Users", Description: "The people of the demo: GET /shop/users and /shop/users/{id}.", Approval: platform.Auto},
		{ID: "orders", Name: "Orders", Description: "Order status: GET /shop/orders/{id}. Subscriptions need an administrator's approval.", Approval: platform.Manual},
	} {
		a.Tenant, a.Visibility, a.State = demoTenant, platform.Public, platform.Published
		if _, err := p.PutAPI(ctx, actor, a); err != nil {
			return "", err
		}
	}
	if _, err := p.Subscribe(ctx, actor, demoTenant, demoConsumer, "users"); err != nil {
		return "", err
	}
	_, secret, err := p.CreateKey(ctx, actor, demoTenant, demoConsumer, time.Time{})
	if err != nil {
		return "", err
	}
	return secret, nil
}

// parse parses the embedded demo configuration with the demo's
// variables.
func (d *demo) parse() (*config.File, error) {
	return config.Parse("default.yaml", defaultConfig, d.env)
}

// open seeds the demo platform, prints the start-up lines for people
// and, with -demo-traffic, starts the traffic; stop ends the traffic.
func (d *demo) open(ctx context.Context, f *flags, lg *logs, rl *config.Reloader, proxy, admin net.Addr) (stop func(), err error) {
	p := config.PlatformOf(rl.Current())
	key, err := seedPlatform(ctx, p)
	if err != nil {
		return nil, fmt.Errorf("seeding the demo platform: %w", err)
	}
	warnBeyondLoopback(lg.Logger, proxy)
	b := banner{
		proxy: httpURL(proxy), admin: httpURL(admin), loginCode: p.LoginLink(demoAdmin),
		adminToken: d.vars[adminKeyVar], adminGen: d.adminGenerated, key: key,
		dataDir: d.dataDir, traffic: f.demoTraffic,
	}
	if d.generated {
		b.operatorKey = d.vars[operatorKeyVar]
	}
	if f.logFormat == "json" {
		lg.Info("demo ready", "proxy", b.proxy, "admin", b.admin, "console", b.console(),
			"api_key", b.key, "admin_token_generated", b.adminGen, "try", b.commands())
		if b.operatorKey != "" {
			lg.Info("operator key, generated for this run: it reaches every model", "api_key", b.operatorKey)
		}
	} else {
		lg.flush()
		b.write(lg.stderr)
	}
	if !f.demoTraffic {
		return func() {}, nil
	}
	tctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		demoTraffic(tctx, b.proxy, key, 300*time.Millisecond)
	}()
	return func() { cancel(); <-done }, nil
}

// httpURL is the URL people type for a listener: a wildcard address is
// written as 127.0.0.1, never [::] or 0.0.0.0.
func httpURL(a net.Addr) string {
	host, port, err := net.SplitHostPort(a.String())
	if err != nil {
		return "http://" + a.String()
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// banner is what the demo prints at start-up, for people.
type banner struct {
	proxy, admin string // base URLs
	loginCode    string // a one-time console sign-in code
	adminToken   string
	adminGen     bool // the admin token was generated for this run
	key          string
	operatorKey  string // set when generated for this run
	dataDir      string
	traffic      bool
}

// console is the one-time sign-in link to the console.
func (b banner) console() string { return b.admin + "/platform/login?code=" + b.loginCode }

// commands are the three commands the banner suggests, each working when
// pasted into bash or zsh: a call to the subscribed API, a subscription
// request that waits for approval, and a chat completion.
func (b banner) commands() []string {
	h := shellQuote("X-API-Key: " + b.key)
	return []string{
		"curl -s -H " + h + " " + b.proxy + "/shop/users",
		"curl -s -H " + h + " " + b.proxy + "/subscriptions -d " + shellQuote(`{"api":"orders"}`),
		"curl -s -H " + h + " " + b.proxy + "/v1/chat/completions -d " +
			shellQuote(`{"model":"demo","messages":[{"role":"user","content":"Hello!"}]}`),
	}
}

// write prints the banner.
func (b banner) write(w io.Writer) {
	var s strings.Builder
	line := func(format string, a ...any) { fmt.Fprintf(&s, format+"\n", a...) }
	line("")
	line("Portico demo gateway is running. Stop it with Ctrl-C.")
	line("  proxy      %s", b.proxy)
	line("  admin      %s", b.admin)
	line("  console    %s", b.console())
	line("             (a one-time sign-in link, valid 15 minutes; afterwards sign in with the admin token)")
	if b.adminGen {
		line("  admin token %s  (generated for this run; set %s to choose it)", b.adminToken, adminKeyVar)
	} else {
		line("  admin token from %s", adminKeyVar)
	}
	line("  demo key   %s  (consumer %s of tenant %s, subscribed to the API users)", b.key, demoConsumer, demoTenant)
	line("")
	line("Try these (bash or zsh):")
	for _, c := range b.commands() {
		line("  %s", c)
	}
	line("")
	line("The second asks for the API orders: approve it on the console's first page, then")
	line("  curl -s -H %s %s/shop/orders/42", shellQuote("X-API-Key: "+b.key), b.proxy)
	line("works. The dashboard (%s/platform/dashboard) shows every call.", b.admin)
	if !b.traffic {
		line("Run with -demo-traffic for a gentle stream of calls, so the dashboard fills by itself.")
	}
	if b.operatorKey != "" {
		line("Operator key (every AI model, the real ones OPENAI_API_KEY, ANTHROPIC_API_KEY and GEMINI_API_KEY add too): %s", b.operatorKey)
	}
	line("The platform's state is in %s, removed when the program stops.", b.dataDir)
	line("")
	_, _ = io.WriteString(w, s.String())
}

// shellQuote quotes s for bash and zsh alike: single quotes, with each
// single quote inside written as '\”.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
