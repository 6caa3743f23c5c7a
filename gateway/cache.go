package gateway

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/portico-dev/portico/gateway/internal/fields"
	"github.com/portico-dev/portico/middleware"
	"github.com/portico-dev/portico/middleware/cache"
)

// Cache stores a route's responses as HTTP caching allows (RFC 9111):
// responses with max-age, s-maxage or Expires, or TTL for those without.
// Responses carry a Cache-Status header.
type Cache struct {
	// TTL is the freshness given to cacheable responses that carry no
	// lifetime of their own. If zero, such responses are not stored.
	TTL time.Duration `yaml:"ttl"`
	// Scope separates callers: "consumer" (each consumer its own entries),
	// "tenant" (shared within a tenant) or "" (shared by all callers).
	// Scope responses that depend on who asks.
	Scope string `yaml:"scope"`
	// StaleIfError serves a stale entry for this long when the upstream
	// fails with 5xx. If zero, only the response's own directive allows it.
	StaleIfError time.Duration `yaml:"stale_if_error"`
	// MaxBody is the largest body stored, in bytes. If zero, 1 MiB.
	MaxBody int64 `yaml:"max_body"`
	// Namespace lets routes share their entries on purpose: routes with
	// the same Namespace answer from each other's stored responses for
	// the same host, path, query, scope and API version. By default, each
	// route has entries of its own, which no other route sees, and a
	// reload keeps them while the route keeps its name, what it matches
	// (hosts, methods, path or prefix, headers) and its cache settings.
	Namespace string `yaml:"namespace"`
}

// Idempotency replays the stored response to a retried request that
// carries the same Idempotency-Key, and answers 409 while the first one
// is still in flight; a key reused with another body gets 422. Keys
// belong to the consumer.
type Idempotency struct {
	// Header carries the key. If empty, "Idempotency-Key".
	Header string `yaml:"header"`
	// Methods are protected. If empty, POST and PATCH
	// (cache.DefaultIdempotencyMethods).
	Methods []string `yaml:"methods"`
	// Required answers 400 to a protected request without a key.
	Required bool `yaml:"required"`
	// TTL is how long a key is remembered. If zero, 24h.
	TTL time.Duration `yaml:"ttl"`
}

// Transform reshapes requests and responses. Header values are templates
// that may use {consumer.id}, {consumer.tenant}, {path.<param>},
// {query.<name>}, {header.<Name>} and the like (see middleware.Transform).
type Transform struct {
	// Request changes the request's headers.
	Request middleware.HeaderRules `yaml:"request"`
	// Response changes the response's headers.
	Response middleware.HeaderRules `yaml:"response"`
	// RequestBody reshapes a JSON request body.
	RequestBody middleware.JSONRules `yaml:"request_body"`
	// ResponseBody reshapes a JSON response body.
	ResponseBody middleware.JSONRules `yaml:"response_body"`
}

// Lifecycle announces a route's deprecation and retirement: responses
// carry Deprecation, Sunset and Link headers, and from Sunset on the route
// answers 410 Gone naming its successor.
type Lifecycle struct {
	// Deprecated is when the route is, or will be, deprecated.
	Deprecated time.Time `yaml:"deprecated"`
	// Sunset is when the route is retired.
	Sunset time.Time `yaml:"sunset"`
	// Link is the URL of the migration guide.
	Link string `yaml:"link"`
	// Successor is the URL or path of the replacement API.
	Successor string `yaml:"successor"`
}

// cacheStage builds the response cache of the route spec, called name.
// Every route's cache uses the one store; the namespace keeps their
// entries apart.
func (g *Gateway) cacheStage(spec Route, name string) stage {
	c := *spec.Policy.Cache
	cfg := cache.Config{Store: g.cacheStore(), Namespace: cacheNamespace(spec, name), TTL: c.TTL,
		StaleIfError: c.StaleIfError, MaxBody: c.MaxBody, Now: g.cfg.clock, Logger: g.cfg.logger}
	switch c.Scope {
	case "consumer":
		cfg.Scope, cfg.AllowAuthorization = cache.ConsumerScope, true
	case "tenant":
		cfg.Scope, cfg.AllowAuthorization = cache.TenantScope, true
	}
	stageName := "cache(ttl=" + c.TTL.String()
	if c.Scope != "" {
		stageName += ", scope=" + c.Scope
	}
	if c.Namespace != "" {
		stageName += ", namespace=" + c.Namespace
	}
	return stage{stageName + ")", cache.New(cfg)}
}

// cacheNamespace is the namespace of a route's cache entries: the shared
// one the route names, or one of its own made of its identity (see
// routeIdentity) and its cache settings, so that routes that match
// different requests never share an entry, whatever their names, and a
// build of the same route with the same cache settings finds the entries
// of the build before.
func cacheNamespace(spec Route, name string) string {
	c := *spec.Policy.Cache
	if c.Namespace != "" {
		return "shared:" + c.Namespace
	}
	sum := sha256.Sum256([]byte(pieceKey("cache", c)))
	return "route:" + routeIdentity(spec, name) + ":" + hex.EncodeToString(sum[:4])
}

// routeIdentity names a route for the state it keeps across builds: its
// name and a digest of its matchers in the form the route table compiles
// them. A route keeps its identity while it keeps its name and what it
// matches (hosts, methods, path or prefix, headers).
func routeIdentity(spec Route, name string) string {
	var b []byte
	list := func(label string, items []string) {
		b = append(b, label...)
		for _, it := range items {
			b = strconv.AppendQuote(b, it)
		}
	}
	hosts := make([]string, len(spec.Hosts))
	for i, h := range spec.Hosts {
		hosts[i] = strings.ToLower(h)
	}
	methods := make([]string, len(spec.Methods))
	for i, m := range spec.Methods {
		methods[i] = strings.ToUpper(m)
	}
	headers := make([]string, 0, len(spec.Headers))
	for k, v := range spec.Headers {
		headers = append(headers, strconv.Quote(http.CanonicalHeaderKey(k))+"="+strconv.Quote(v))
	}
	slices.Sort(hosts)
	slices.Sort(methods)
	slices.Sort(headers)
	list("name", []string{spec.Name})
	list("path", []string{spec.Path, spec.Prefix})
	list("hosts", hosts)
	list("methods", methods)
	list("headers", headers)
	sum := sha256.Sum256(b)
	return name + ":" + hex.EncodeToString(sum[:8])
}

// cacheStore is the gateway's cache store: the shared one of [Stores],
// or the state's in-memory one, which every route and every build of the
// state uses, each route in its own namespace.
func (g *Gateway) cacheStore() cache.Store {
	if g.cfg.stores.Cache != nil {
		return g.cfg.stores.Cache
	}
	return keep(g, "memory_cache", func() *cache.Memory {
		return cache.NewMemory(cache.MemoryConfig{Now: g.cfg.clock})
	})
}

// idempotencyStage builds a route's idempotency stage. Without a shared
// store, the records are kept in the state's in-memory store, which every
// route and every build of the state uses: forgetting a record would run
// a retried request twice, so no reload starts them afresh.
func (g *Gateway) idempotencyStage(p Idempotency) stage {
	store := g.cfg.stores.Idempotency
	if store == nil {
		store = keep(g, "memory_idempotency", func() *cache.MemoryIdempotency {
			return cache.NewMemoryIdempotency(cache.MemoryIdempotencyConfig{Now: g.cfg.clock})
		})
	}
	methods := p.Methods
	if len(methods) == 0 {
		methods = nil // empty means the default, as nil does for cache.Idempotency
	}
	return stage{"idempotency", cache.Idempotency(cache.IdempotencyConfig{Store: store, Header: p.Header,
		Methods: methods, Required: p.Required, TTL: p.TTL, Logger: g.cfg.logger})}
}

func (g *Gateway) transformStage(t Transform) stage {
	return stage{"transform", middleware.Transform(middleware.TransformConfig{
		Request: t.Request, Response: t.Response, RequestBody: t.RequestBody, ResponseBody: t.ResponseBody,
	})}
}

func (g *Gateway) lifecycleStage(l Lifecycle) stage {
	var parts []string
	if !l.Deprecated.IsZero() {
		parts = append(parts, "deprecated="+l.Deprecated.UTC().Format(time.DateOnly))
	}
	if !l.Sunset.IsZero() {
		parts = append(parts, "sunset="+l.Sunset.UTC().Format(time.DateOnly))
	}
	return stage{"lifecycle(" + strings.Join(parts, ", ") + ")", middleware.Lifecycle(middleware.LifecycleConfig{
		Deprecated: l.Deprecated, Sunset: l.Sunset, Link: l.Link, Successor: l.Successor, Now: g.cfg.clock})}
}

func checkCaching(errs fields.Collector, p Policy) {
	if c := p.Cache; c != nil {
		if c.TTL < 0 {
			errs.Addf("cache.ttl", "must not be negative, got %s", c.TTL)
		}
		if c.StaleIfError < 0 {
			errs.Addf("cache.stale_if_error", "must not be negative")
		}
		if c.MaxBody < 0 {
			errs.Addf("cache.max_body", "must not be negative")
		}
		if c.Scope != "" && c.Scope != "consumer" && c.Scope != "tenant" {
			errs.Addf("cache.scope", "%q is not a scope; use \"consumer\", \"tenant\" or leave it empty to share", c.Scope)
		}
		if c.Namespace != "" && !validNamespace(c.Namespace) {
			errs.Addf("cache.namespace", "%q is not a namespace; use 1 to 64 letters, digits, '-', '_' or '.'", c.Namespace)
		}
	}
	if i := p.Idempotency; i != nil {
		if i.Header != "" && !fields.ValidHeaderName(i.Header) {
			errs.Addf("idempotency.header", "%q is not a valid header name", i.Header)
		}
		if i.TTL < 0 {
			errs.Addf("idempotency.ttl", "must not be negative")
		}
	}
	if t := p.Transform; t != nil {
		for _, h := range []struct {
			name string
			t    middleware.HeaderRules
		}{{"request", t.Request}, {"response", t.Response}} {
			for _, k := range append(append(append(append([]string(nil), h.t.Remove...), fields.SortedKeys(h.t.Rename)...), fields.SortedKeys(h.t.Set)...), fields.SortedKeys(h.t.Add)...) {
				if !fields.ValidHeaderName(k) {
					errs.Addf("transform."+h.name, "%q is not a valid header name", k)
				}
			}
			for _, k := range fields.SortedKeys(h.t.Rename) {
				if !fields.ValidHeaderName(h.t.Rename[k]) {
					errs.Addf("transform."+h.name+".rename."+k, "%q is not a valid header name", h.t.Rename[k])
				}
			}
		}
	}
	if l := p.Lifecycle; l != nil {
		if l.Deprecated.IsZero() && l.Sunset.IsZero() {
			errs.Addf("lifecycle", "set deprecated, sunset or both")
		}
		if !l.Deprecated.IsZero() && !l.Sunset.IsZero() && l.Sunset.Before(l.Deprecated) {
			errs.Addf("lifecycle.sunset", "is before deprecated; a route is deprecated first, retired later")
		}
	}
}

// validNamespace reports whether ns is a cache namespace: 1 to 64
// letters, digits, '-', '_' or '.'.
func validNamespace(ns string) bool {
	ok := len(ns) > 0 && len(ns) <= 64
	for i := 0; ok && i < len(ns); i++ {
		c := ns[i]
		ok = 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.'
	}
	return ok
}
