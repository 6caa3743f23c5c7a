package config

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"sync"

	"github.com/portico-dev/portico/gateway"
	"github.com/portico-dev/portico/gateway/calllog"
	"github.com/portico-dev/portico/gateway/platform"
	"github.com/portico-dev/portico/middleware/auth"
	"github.com/portico-dev/portico/openapi"
)

// The names under which [WithPlatform] registers its parts.
const (
	// PlatformAuth is the authenticator name of the platform's API keys,
	// for gateway.Auth.Methods.
	PlatformAuth = "platform"
	// CallLogMiddleware is the middleware name of the call log.
	CallLogMiddleware = "calllog"
)

// WithPlatform wires a platform (tenants, consumers, keys, APIs and
// subscriptions) and, if rec is not nil, its call log into the gateway:
//
//   - the platform's API keys become the authenticator "platform"
//     ([PlatformAuth]), for gateway.Auth.Methods;
//   - with rec, the call-log middleware "calllog" ([CallLogMiddleware])
//     joins the global chain right after request_id (first if the chain
//     has no request_id), unless the chain names it already;
//   - a route whose gateway.Policy.Subscription names an API lets a
//     request through only with an active subscription to it
//     ([platform.Platform.Guard]);
//   - gateway.Gateway.Start runs the platform's change feed
//     ([platform.Platform.Run]) until the gateway is closed or Start's
//     context ends;
//   - gateway.Admin serves the platform's admin API, catalog and
//     dashboard under /platform/;
//   - when the platform's subscribe URL is a path ("/subscriptions" by
//     default), the gateway serves the consumer portal there
//     ([platform.Platform.Portal]), behind the platform's API keys, so
//     consumers request and list their own subscriptions; the portal is a
//     route of the table, of kind "portal", and a route overlapping it is
//     a build error.
//
// The caller keeps owning p and rec: a platform and a recorder outlive the
// gateways a [Reloader] swaps. [PlatformOf] returns a gateway's platform.
func WithPlatform(p *platform.Platform, rec *calllog.Recorder) gateway.Option {
	return gateway.WithPart(&platformPart{p: p, rec: rec})
}

// platformPart wires a platform into one build.
type platformPart struct {
	p   *platform.Platform
	rec *calllog.Recorder
	// docs, for a config file's platform, receives the documents of the
	// file's APIs that name a subscription, for the catalog and the portal.
	docs *apiDocs
}

// apiDocs holds the documents of platform APIs, as the gateway serves
// them, by API ID. It is safe for concurrent use.
type apiDocs struct {
	mu sync.RWMutex
	m  map[string]*openapi.Spec
}

func (d *apiDocs) set(api string, spec *openapi.Spec) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.m == nil {
		d.m = map[string]*openapi.Spec{}
	}
	d.m[api] = spec
}

func (d *apiDocs) get(api string) (*openapi.Spec, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	s, ok := d.m[api]
	return s, ok
}

// documentAPI gives the platform of b, if the config file made one, the
// document of the platform API api.
func documentAPI(b *gateway.Builder, api string, spec *openapi.Spec) {
	for _, p := range b.Parts() {
		if pp, ok := p.(*platformPart); ok && pp.docs != nil {
			pp.docs.set(api, spec)
		}
	}
}

func (pp *platformPart) Prepare(b *gateway.Builder) error {
	if pp.p == nil {
		return fieldErr("platform", "WithPlatform needs a platform, not nil")
	}
	b.Apply(gateway.WithAuthenticator(PlatformAuth, pp.p.KeyAuth(auth.APIKeyConfig{})))
	if pp.rec != nil {
		b.Apply(gateway.WithMiddleware(CallLogMiddleware, calllog.Middleware(calllog.MiddlewareConfig{Recorder: pp.rec})))
		// The call log goes right after request_id, so that its records
		// carry the request ID.
		if chain := b.Chain(); !slices.Contains(chain, CallLogMiddleware) {
			at := slices.Index(chain, "request_id") + 1
			b.Apply(gateway.WithChain(slices.Insert(chain, at, CallLogMiddleware)...))
		}
	}
	b.Subscriptions(pp.p.Guard)
	run := &platformRun{p: pp.p}
	b.OnStart(run.start)
	b.OnClose(run)
	return nil
}

func (pp *platformPart) Mount(b *gateway.Builder) error {
	// The admin handler is made on first use: Admin panics on a platform
	// without administrators, whose /platform/ then never answers.
	admin := sync.OnceValue(func() http.Handler { return http.StripPrefix("/platform", pp.p.Admin()) })
	if err := b.Admin("/platform/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		admin().ServeHTTP(w, r)
	})); err != nil {
		return fieldErr("platform", "%v", err)
	}
	u := pp.p.SubscribeURL()
	if !strings.HasPrefix(u, "/") {
		return nil
	}
	path, _, _ := strings.Cut(u, "?")
	path, _, _ = strings.Cut(path, "#")
	if strings.ContainsAny(path, "{}*") {
		return fieldErr("platform.subscribe_url", "%q holds '{', '}' or '*'; use a plain path, like \"/subscriptions\"", path)
	}
	// Without a key, the portal sends browsers to its sign-in form and
	// answers programs 401; a key presented and wrong is refused here.
	portal := auth.New(auth.Config{
		Authenticators: []auth.Authenticator{pp.p.KeyAuth(auth.APIKeyConfig{})}, Anonymous: true,
	})(pp.p.Portal())
	// The portal owns its path and everything under it (keys, APIs, usage).
	for _, p := range []string{path, strings.TrimSuffix(path, "/") + "/*"} {
		b.Endpoint(gateway.Endpoint{Kind: "portal", Label: "the consumer portal", Name: "portal " + p, Path: p,
			At: "platform.subscribe_url", Chain: []string{"auth(" + PlatformAuth + ")", "portal"}, Handler: portal})
	}
	return nil
}

// PlatformOf returns the platform g was built with ([WithPlatform], or a
// config file's platform section), or nil.
func PlatformOf(g *gateway.Gateway) *platform.Platform {
	for _, p := range g.Parts() {
		if pp, ok := p.(*platformPart); ok {
			return pp.p
		}
	}
	return nil
}

// platformRun runs a platform's change feed for the life of one gateway.
type platformRun struct {
	p *platform.Platform

	mu     sync.Mutex
	cancel context.CancelFunc
	done   chan struct{}
	closed bool
}

func (pr *platformRun) start(ctx context.Context) {
	pr.mu.Lock()
	defer pr.mu.Unlock()
	if pr.closed || pr.cancel != nil {
		return
	}
	ctx, pr.cancel = context.WithCancel(ctx)
	pr.done = make(chan struct{})
	go func() {
		defer close(pr.done)
		_ = pr.p.Run(ctx)
	}()
}

// Close stops the change feed and waits for it to return.
func (pr *platformRun) Close() error {
	pr.mu.Lock()
	pr.closed = true
	cancel, done := pr.cancel, pr.done
	pr.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
	return nil
}
