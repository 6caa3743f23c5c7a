package gateway

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/portico-dev/portico/middleware"
	"github.com/portico-dev/portico/middleware/auth"
	"github.com/portico-dev/portico/middleware/ratelimit"
)

// Part is a piece of a gateway that another package builds beside the
// routes: the AI endpoints, the platform, APIs from OpenAPI documents,
// pools and stores from a config file (see package gateway/config). The
// core links none of them; a part reaches the build through a [Builder].
//
// [New] builds in this order:
//
//	options ─► every part's Prepare ─► authenticators, global chain, routes
//	        ─► every part's Mount ─► one route table
//
// Prepare adds, through [Builder.Apply], what routes refer to: upstreams,
// authenticators, middleware, stores. Mount adds routes and endpoints once
// the authenticators are built. Both return field errors (see
// [FieldError]), joined with errors.Join when there are several.
type Part interface {
	Prepare(b *Builder) error
	Mount(b *Builder) error
}

// Endpoint is a handler a [Part] serves in the gateway's one route table,
// beside the routes: an endpoint overlapping a route is a build error
// naming both, and /routes lists it with its Kind.
type Endpoint struct {
	// Kind is the [RouteInfo].Kind, such as "ai", "prompt" or "portal".
	Kind string
	// Label names the endpoint in overlap errors, such as "the AI endpoint".
	Label string
	// Name is the route name, as [Gateway.Lookup] reports it.
	Name string
	// Method is the method served. If empty, every method.
	Method string
	// Path is a chi pattern, such as "/v1/chat/completions" or "/files/*".
	Path string
	// At is the configuration field the endpoint comes from, for errors.
	At string
	// Chain describes the endpoint's stages for /routes.
	Chain []string
	// Handler serves the endpoint's requests.
	Handler http.Handler
}

// Builder is a build in progress, as a [Part] sees it. It is valid only
// during the Prepare and Mount calls.
type Builder struct {
	g       *Gateway
	mounted bool         // Prepare is over: Apply no longer applies
	failed  map[int]bool // the parts whose Prepare failed, not mounted
}

// Apply applies options to the build, as if they were given to [New],
// except [WithState], which the build reads before its parts; a part
// given with [WithPart] is prepared in turn. It is for Prepare: after
// it, options are ignored.
func (b *Builder) Apply(opts ...Option) {
	if b.mounted {
		return
	}
	for _, o := range opts {
		if o != nil {
			o.apply(&b.g.cfg)
		}
	}
}

// Keep borrows the piece of the build's [State] made of kind and
// settings, making it with mk if the state has none, so that a reload
// with unchanged settings finds the piece the previous build used. A
// piece with a Close() error method is closed, and one with a
// Start(context.Context) method is started (by [Gateway.Start], for the
// life of the state), once for every build that borrows it; such a piece
// given to [WithUpstream] is neither started nor closed by the gateway.
// settings are encoded as JSON to name the piece; a setting that cannot
// be encoded makes the piece the build's own.
func (b *Builder) Keep(kind string, mk func() (any, error), settings ...any) (any, error) {
	return b.g.cfg.lease.borrow(pieceKey(kind, settings...), func() (made, error) {
		v, err := mk()
		if err != nil {
			return made{}, err
		}
		m := made{val: v}
		if c, ok := v.(io.Closer); ok {
			m.close = c.Close
		}
		if s, ok := v.(interface{ Start(context.Context) }); ok {
			m.start = s.Start
		}
		return m, nil
	})
}

// Logger returns the build's logger (see [WithLogger]).
func (b *Builder) Logger() *slog.Logger { return b.g.cfg.logger }

// MeterProvider returns the meter provider of [WithMeterProvider], or nil.
func (b *Builder) MeterProvider() metric.MeterProvider { return b.g.cfg.meter }

// TracerProvider returns the tracer provider of [WithTracerProvider], or nil.
func (b *Builder) TracerProvider() trace.TracerProvider { return b.g.cfg.tracer }

// Clock returns the clock of [WithClock], or nil for time.Now.
func (b *Builder) Clock() func() time.Time { return b.g.cfg.clock }

// Upstreams returns a function describing the upstream pools of the
// gateway being built, as [Gateway.Upstreams] does, for a part to read
// once the gateway serves (a dashboard's health panel). Called during the
// build, it reports the pools added so far.
func (b *Builder) Upstreams() func() []UpstreamInfo { return b.g.Upstreams }

// QuotaLeft returns a function reporting what a consumer has left of the
// quotas of the gateway being built, by route ([Gateway.QuotaLeft]), for
// a part to call once the gateway serves (a consumer portal).
func (b *Builder) QuotaLeft() func(context.Context, *middleware.Consumer) map[string]ratelimit.QuotaState {
	return b.g.QuotaLeft
}

// Stores returns the stores of [WithStores].
func (b *Builder) Stores() Stores { return b.g.cfg.stores }

// Chain returns the names of the global chain (see [WithChain]).
func (b *Builder) Chain() []string { return append([]string(nil), b.g.cfg.chain...) }

// Subscriptions sets what a route's [Policy].Subscription turns into: the
// stage that lets a request through only with an active subscription to
// the API named. Without it, a route asking for a subscription is a build
// error. It is for Prepare.
func (b *Builder) Subscriptions(guard func(api string) func(http.Handler) http.Handler) {
	b.g.guard = guard
}

// Authenticators returns the names of the authenticators, in the order
// they were defined. It is for Mount.
func (b *Builder) Authenticators() []string { return append([]string(nil), b.g.authOrder...) }

// Authenticator returns the authenticator named name. It is for Mount.
func (b *Builder) Authenticator(name string) (auth.Authenticator, bool) {
	a, ok := b.g.auths[name]
	return a, ok
}

// Route compiles r as a route of the gateway, its errors under the field
// path at. validate, if not nil, is the route's validation stage, run
// after its limits and before its cache (see [Policy]). It is for Mount.
func (b *Builder) Route(at string, r Route, validate func(http.Handler) http.Handler) error {
	r.validate = validate
	rt, err := b.g.compileRoute(at, r, b.g.mws)
	if err != nil {
		return err
	}
	b.g.routes = append(b.g.routes, rt)
	return nil
}

// Endpoint adds e to the route table. It is for Mount.
func (b *Builder) Endpoint(e Endpoint) {
	b.g.endpoints = append(b.g.endpoints, e)
}

// NotFound serves with h the requests under prefix that no route or
// endpoint matches, instead of the gateway's 404, for clients that expect
// their own error format. It is for Mount.
func (b *Builder) NotFound(prefix string, h http.Handler) {
	b.g.notFound = append(b.g.notFound, fallback{prefix, h})
}

// Admin serves h on the admin listener ([Admin]) under pattern, a path
// ending in '/' (a subtree, such as "/apis/") or not (one path). A
// pattern mounted twice is an error.
func (b *Builder) Admin(pattern string, h http.Handler) error {
	if !strings.HasPrefix(pattern, "/") {
		return errors.New("portico/gateway: an admin pattern must start with '/'")
	}
	if _, dup := b.g.admin[pattern]; dup {
		return errors.New("portico/gateway: the admin pattern " + pattern + " is mounted twice")
	}
	if b.g.admin == nil {
		b.g.admin = map[string]http.Handler{}
	}
	b.g.admin[pattern] = h
	return nil
}

// AdminHandler returns the handler mounted under pattern with
// [Builder.Admin], or nil.
func (b *Builder) AdminHandler(pattern string) http.Handler { return b.g.admin[pattern] }

// OnStart calls fn when the gateway starts ([Gateway.Start]), with
// Start's context.
func (b *Builder) OnStart(fn func(context.Context)) { b.g.onStart = append(b.g.onStart, fn) }

// OnClose closes c when the gateway is closed, or when the build fails.
func (b *Builder) OnClose(c io.Closer) { b.g.closers = append(b.g.closers, c) }

// fallback serves the unmatched requests under a prefix.
type fallback struct {
	prefix string
	h      http.Handler
}

// prepareParts runs every part's Prepare; parts added by Apply are
// prepared too.
func (g *Gateway) prepareParts(b *Builder) []error {
	var errs []error
	b.failed = map[int]bool{}
	for i := 0; i < len(g.cfg.parts); i++ {
		if p := g.cfg.parts[i]; p != nil {
			if err := p.Prepare(b); err != nil {
				errs = append(errs, err)
				b.failed[i] = true
			}
		}
	}
	b.mounted = true
	return errs
}

// mountParts runs the Mount of every part whose Prepare succeeded.
func (g *Gateway) mountParts(b *Builder) []error {
	var errs []error
	for i, p := range g.cfg.parts {
		if p == nil || b.failed[i] {
			continue
		}
		if err := p.Mount(b); err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}

// adminHandler returns the handler a part mounted for r's path on the
// admin listener: the longest subtree pattern holding it, or the exact
// path; a subtree's root without its slash is redirected.
func (g *Gateway) adminHandler(path string) (http.Handler, string) {
	if h, ok := g.admin[path]; ok {
		return h, path
	}
	if _, ok := g.admin[path+"/"]; ok {
		return http.RedirectHandler(path+"/", http.StatusMovedPermanently), path
	}
	best := ""
	for p := range g.admin {
		if strings.HasSuffix(p, "/") && strings.HasPrefix(path, p) && len(p) > len(best) {
			best = p
		}
	}
	if best == "" {
		return nil, ""
	}
	return g.admin[best], best
}

// Parts returns the parts the gateway was built with, in order.
func (g *Gateway) Parts() []Part { return append([]Part(nil), g.cfg.parts...) }

// Parts returns the parts of the build, in order, for a part to find
// others of its kind.
func (b *Builder) Parts() []Part { return append([]Part(nil), b.g.cfg.parts...) }
