package gateway

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"sync"

	"github.com/portico-dev/portico/gateway/calllog"
	"github.com/portico-dev/portico/gateway/platform"
	"github.com/portico-dev/portico/internal/problem"
	"github.com/portico-dev/portico/middleware"
)

// The names under which [WithPlatform] registers its parts.
const (
	// PlatformAuth is the authenticator name of the platform's API keys,
	// for [Auth].Methods.
	PlatformAuth = "platform"
	// CallLogMiddleware is the middleware name of the call log.
	CallLogMiddleware = "calllog"
)

// WithPlatform wires a platform (tenants, consumers, keys, APIs and
// subscriptions) and, if rec is not nil, its call log into the gateway:
//
//   - the platform's API keys become the authenticator "platform"
//     ([PlatformAuth]), for [Auth].Methods;
//   - with rec, the call-log middleware "calllog" ([CallLogMiddleware])
//     joins the global chain right after request_id (first if the chain
//     has no request_id), unless the chain names it already;
//   - a route whose [Policy].Subscription names an API lets a request
//     through only with an active subscription to it ([platform.Platform.Guard]);
//   - [Gateway.Start] runs the platform's change feed
//     ([platform.Platform.Run]) until [Gateway.Close] or Start's context ends;
//   - [Admin] serves the platform's admin API, catalog and dashboard under
//     /platform/;
//   - when the platform's subscribe URL is a path ("/subscriptions" by
//     default), the gateway serves the consumer portal there
//     ([platform.Platform.Portal]), behind the platform's API keys, so
//     consumers request and list their own subscriptions; the portal is a
//     route of the table, of kind "portal", and a route overlapping it is
//     a build error.
//
// The caller keeps owning p and rec: a platform and a recorder outlive the
// gateways a [Reloader] swaps.
func WithPlatform(p *platform.Platform, rec *calllog.Recorder) Option {
	return optionFunc(func(c *config) {
		if p == nil {
			c.errs = append(c.errs, fieldErr("platform", "WithPlatform needs a platform, not nil"))
			return
		}
		keys := p.KeyAuth(middleware.APIKeyConfig{})
		c.platform = &platformRun{p: p, rec: rec}
		if u := p.SubscribeURL(); strings.HasPrefix(u, "/") {
			c.platform.portalPath = u
			c.platform.portal = middleware.Authenticate(middleware.AuthConfig{
				Authenticators: []middleware.Authenticator{keys},
			})(p.Portal())
		}
		c.authCustom = append(c.authCustom, namedAuth{PlatformAuth, keys})
		if rec != nil {
			if c.middleware == nil {
				c.middleware = map[string]func(http.Handler) http.Handler{}
			}
			c.middleware[CallLogMiddleware] = calllog.Middleware(calllog.MiddlewareConfig{Recorder: rec})
		}
		c.closers = append(c.closers, c.platform)
	})
}

// Platform returns the platform the gateway was built with, or nil.
func (g *Gateway) Platform() *platform.Platform {
	if g.cfg.platform == nil {
		return nil
	}
	return g.cfg.platform.p
}

// platformRun runs a platform's change feed for the life of one gateway.
type platformRun struct {
	p   *platform.Platform
	rec *calllog.Recorder
	// portal serves the consumer portal at portalPath on the public
	// listener; nil when the subscribe URL is not a path of this gateway.
	portal     http.Handler
	portalPath string

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

// platformChain puts the call log into the global chain, right after
// request_id so that its records carry the request ID.
func platformChain(c *config) {
	if c.platform == nil || c.platform.rec == nil || slices.Contains(c.chain, CallLogMiddleware) {
		return
	}
	at := slices.Index(c.chain, MiddlewareRequestID) + 1
	c.chain = slices.Insert(slices.Clone(c.chain), at, CallLogMiddleware)
}

// subscriptionStage checks the policy's subscription, if any.
func (g *Gateway) subscriptionStage(at string, p Policy) (*stage, error) {
	if p.Subscription == "" {
		return nil, nil
	}
	if g.cfg.platform == nil {
		return nil, fieldErr(at+".subscription", "needs a platform: add a platform section (or WithPlatform)")
	}
	if p.Auth == nil {
		return nil, fieldErr(at+".subscription", "needs auth to know the consumer: add auth with methods [%s]", PlatformAuth)
	}
	if !validAPIID(p.Subscription) {
		return nil, fieldErr(at+".subscription", "%q is not an API ID: use 1 to 64 letters, digits, '-' or '_', starting with a letter or digit", p.Subscription)
	}
	return &stage{"subscription(" + p.Subscription + ")", g.cfg.platform.p.Guard(p.Subscription)}, nil
}

// validAPIID checks an API ID as platform.Guard does, without its panic.
func validAPIID(id string) bool {
	ok := len(id) > 0 && len(id) <= 64
	for i := 0; ok && i < len(id); i++ {
		c := id[i]
		ok = 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || i > 0 && (c == '-' || c == '_')
	}
	return ok
}

// platformAdmin serves the platform's admin handler under /platform/: the
// configured platform's, or the current gateway's. The handler is built
// once per platform, which outlives reloads.
func platformAdmin(cfg AdminConfig) http.Handler {
	var mu sync.Mutex
	var last *platform.Platform
	var h http.Handler
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := cfg.Platform
		if p == nil {
			p = cfg.Gateway().Platform()
		}
		if p == nil {
			problem.Error(w, r, http.StatusNotFound, "the gateway has no platform: add a platform section (or WithPlatform)")
			return
		}
		mu.Lock()
		if p != last {
			last, h = p, http.StripPrefix("/platform", p.Admin())
		}
		ph := h
		mu.Unlock()
		ph.ServeHTTP(w, r)
	})
}
