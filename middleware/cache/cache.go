package cache

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/portico-dev/portico/internal/problem"
	"github.com/portico-dev/portico/middleware/internal/store"
)

// Config configures [New]. The zero value is a shared in-memory
// cache of 64 MiB that stores only responses whose headers allow it.
type Config struct {
	// Store holds the entries. If nil, a [Memory] with a 64 MiB
	// budget is used.
	Store Store
	// TTL is the freshness lifetime given to cacheable responses that carry
	// no explicit one (no s-maxage, max-age or Expires): the route-level
	// override for upstreams that send no caching headers. If zero, such
	// responses are not stored.
	TTL time.Duration
	// Keep is how long a stale entry that has a validator (ETag or
	// Last-Modified) stays in the store, so it can be revalidated with a
	// conditional request instead of fetched again. If zero, 10 minutes.
	Keep time.Duration
	// StaleIfError is how long past its freshness a stored response may
	// still be served when the upstream answers 5xx (or the proxy in front
	// of it does, for a refused connection), as with the stale-if-error
	// directive of RFC 5861, which a response may also carry. Responses
	// marked must-revalidate, proxy-revalidate or s-maxage are never served
	// stale. If zero, only the directive allows it.
	StaleIfError time.Duration
	// MaxBody is the largest body stored, in bytes. Larger responses pass
	// through unbuffered and are not stored. If zero, 1 MiB.
	MaxBody int64
	// Namespace separates the entries of caches that share one Store: a
	// cache finds only the entries stored under its own Namespace. Give
	// each cache in front of a different resource its own (the gateway
	// gives each route one), and the same one to caches meant to share
	// their entries. By default, the namespace is empty, shared by every
	// cache without one.
	Namespace string
	// Scope returns the part of the cache key that separates callers, so
	// one caller never receives a response stored for another: use
	// [ConsumerScope] or [TenantScope] for responses that depend on who
	// asks. If nil, the cache is shared by all callers.
	Scope func(*http.Request) string
	// AllowAuthorization stores responses to requests that carry an
	// Authorization header even when the response does not say public,
	// s-maxage or must-revalidate. Set it only together with a Scope that
	// identifies the caller.
	AllowAuthorization bool
	// Name identifies this cache in the Cache-Status header. If empty,
	// "portico".
	Name string
	// Now is the clock. If nil, time.Now is used.
	Now func() time.Time
	// Logger receives store errors. If nil, they are discarded.
	Logger *slog.Logger
}

type httpCache struct {
	store     Store
	ns        string // the namespace as the first key field
	ttl       time.Duration
	keep      time.Duration
	staleErr  time.Duration
	maxBody   int64
	scope     func(*http.Request) string
	allowAuth bool
	name      string
	now       func() time.Time
	log       *slog.Logger

	mu      sync.Mutex
	flights map[string]chan struct{}
}

// New returns a middleware that stores responses to GET requests and
// serves them while they are fresh, following RFC 9111 for shared caches:
//
//   - it stores 200, 203, 204, 300, 301, 308, 404, 410, 414 and 501
//     responses that allow it (s-maxage, max-age, Expires, or
//     [Config].TTL when they say nothing), never those marked private
//     or no-store, carrying Set-Cookie or Vary: *, answering a request with
//     Authorization (unless allowed), streamed (text/event-stream, or
//     flushed) or larger than [Config].MaxBody;
//   - it keys entries on the [Config].Namespace and Scope, the API
//     version of the request ([middleware.VersionFrom], set by [middleware.Version] in front of
//     the cache), its host, path and query, and the request fields named
//     by the response's Vary;
//   - it revalidates stale entries with If-None-Match / If-Modified-Since
//     and answers 304 itself to matching client conditionals;
//   - concurrent misses for one key make a single upstream call;
//   - within [Config].StaleIfError (or a stale-if-error directive) a
//     stale response answers in place of an upstream 5xx;
//   - it sets Age on stored responses and Cache-Status (RFC 9211) on all;
//   - successful unsafe requests (POST, PUT, PATCH, DELETE) invalidate the
//     stored response for their URL.
//
// HEAD requests are answered from stored GET responses. Requests with
// Range or Upgrade, and request directives no-store, no-cache, max-age
// and only-if-cached are honoured.
//
// Cache-Status says what happened: "portico; hit; ttl=42" for a stored
// response; otherwise "fwd=" names why the request went upstream
// (uri-miss, vary-miss, stale, request, method, bypass, or miss after a
// store error), "fwd-status=" the upstream status, "stored" that the
// response is being stored, and "detail=" why it is not: status, no-store,
// private, set-cookie, vary, streaming, authorization, too-large,
// no-freshness or stale. A response announced as stored whose body turns
// out larger than MaxBody, or that the handler flushes, is dropped.
func New(cfg Config) func(http.Handler) http.Handler {
	c := newCache(cfg)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c.serve(w, r, next)
		})
	}
}

func newCache(cfg Config) *httpCache {
	if cfg.TTL < 0 || cfg.Keep < 0 || cfg.MaxBody < 0 || cfg.StaleIfError < 0 {
		panic("portico/cache: Config TTL, Keep, StaleIfError and MaxBody must not be negative")
	}
	c := &httpCache{
		store: cfg.Store, ns: string(appendField(nil, cfg.Namespace)), ttl: cfg.TTL, keep: cfg.Keep, staleErr: cfg.StaleIfError, maxBody: cfg.MaxBody,
		scope: cfg.Scope, allowAuth: cfg.AllowAuthorization, name: cfg.Name,
		now: cfg.Now, log: cfg.Logger, flights: make(map[string]chan struct{}),
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.store == nil {
		c.store = NewMemory(MemoryConfig{Now: c.now})
	}
	if c.keep == 0 {
		c.keep = 10 * time.Minute
	}
	if c.maxBody == 0 {
		c.maxBody = 1 << 20
	}
	if c.name == "" {
		c.name = "portico"
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	return c
}

func (c *httpCache) serve(w http.ResponseWriter, r *http.Request, next http.Handler) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		c.passUnsafe(w, r, next)
		return
	}
	if len(r.Header["Upgrade"]) > 0 || len(r.Header["Range"]) > 0 {
		w.Header().Add("Cache-Status", c.name+"; fwd=bypass")
		next.ServeHTTP(w, r)
		return
	}
	rcc := parseCacheControl(r.Header["Cache-Control"])
	if rcc.has("no-store") {
		c.forward(w, r, next, "", nil, "request", false, nil)
		return
	}
	force := rcc.has("no-cache") || (rcc == nil && len(r.Header["Pragma"]) > 0 && strings.Contains(r.Header["Pragma"][0], "no-cache"))
	maxAge, hasMaxAge := rcc.seconds("max-age")
	key := c.key(r)
	e, reason := c.lookup(r.Context(), key, r)
	now := c.now()
	usable := func(e *Entry) bool {
		age := e.age(now)
		return age < e.Lifetime && (!hasMaxAge || age <= maxAge)
	}
	if e != nil && !force && usable(e) {
		c.serveEntry(w, r, e, now, "hit")
		return
	}
	if e == nil && rcc.has("only-if-cached") {
		w.Header().Add("Cache-Status", c.name+"; fwd=uri-miss")
		problem.Error(w, r, http.StatusGatewayTimeout, "no stored response for this request and only-if-cached was asked")
		return
	}
	if force {
		c.forward(w, r, next, key, e, "request", true, nil)
		return
	}
	if r.Method == http.MethodHead {
		c.forward(w, r, next, key, e, reason, false, nil)
		return
	}
	done, leader := c.join(key)
	if !leader {
		select {
		case <-done:
		case <-r.Context().Done():
			return
		}
		e, reason = c.lookup(r.Context(), key, r)
		now = c.now()
		if e != nil && usable(e) {
			c.serveEntry(w, r, e, now, "hit")
			return
		}
		c.forward(w, r, next, key, e, reason, true, nil)
		return
	}
	// Followers are released as soon as it is clear the response will not
	// be stored (so concurrent streams never wait on each other), or once
	// it is.
	release := sync.OnceFunc(func() { c.leave(key, done) })
	defer release()
	if e == nil {
		// A leader that finished between our lookup and join may just
		// have stored the response.
		if e, reason = c.lookup(r.Context(), key, r); e != nil && usable(e) {
			c.serveEntry(w, r, e, c.now(), "hit")
			return
		}
	}
	if e != nil {
		reason = "stale"
	}
	c.forward(w, r, next, key, e, reason, true, release)
}

// join makes the caller the leader for key, or returns the leader's done
// channel.
func (c *httpCache) join(key string) (done chan struct{}, leader bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if ch, ok := c.flights[key]; ok {
		return ch, false
	}
	ch := make(chan struct{})
	c.flights[key] = ch
	return ch, true
}

func (c *httpCache) leave(key string, done chan struct{}) {
	c.mu.Lock()
	delete(c.flights, key)
	c.mu.Unlock()
	close(done)
}

// lookup returns the entry for r, following a variant index. reason is
// the Cache-Status fwd value to use on a miss.
func (c *httpCache) lookup(ctx context.Context, key string, r *http.Request) (*Entry, string) {
	e, err := c.store.Get(ctx, key)
	if err != nil {
		store.LogError(ctx, c.log, slog.LevelWarn, "cache store get failed", err)
		return nil, "miss"
	}
	if e == nil {
		return nil, "uri-miss"
	}
	if e.Status != 0 {
		return e, ""
	}
	ve, err := c.store.Get(ctx, variantKey(key, e.Vary, r))
	if err != nil {
		store.LogError(ctx, c.log, slog.LevelWarn, "cache store get failed", err)
		return nil, "miss"
	}
	if ve == nil || ve.Status == 0 {
		return nil, "vary-miss"
	}
	return ve, ""
}

// serveEntry answers from a stored response.
func (c *httpCache) serveEntry(w http.ResponseWriter, r *http.Request, e *Entry, now time.Time, status string) {
	age := e.age(now)
	h := w.Header()
	if status == "hit" {
		var buf [64]byte
		b := append(buf[:0], c.name...)
		b = append(b, "; hit; ttl="...)
		b = strconv.AppendInt(b, int64((e.Lifetime-age)/time.Second), 10)
		status = string(b)
	}
	h["Cache-Status"] = append(h["Cache-Status"], status)
	ageValue := []string{strconv.FormatInt(int64(age/time.Second), 10)}
	if notModified(r, e.Header) {
		h["Age"] = ageValue
		writeNotModified(w, e.Header)
		return
	}
	copyHeader(h, e.Header)
	h["Age"] = ageValue
	w.WriteHeader(e.Status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(e.Body)
	}
}

// forward sends r upstream. With a stale entry that has a validator, the
// request is made conditional; a 304 refreshes the entry. When store is
// true a cacheable response is stored under key. release, if not nil, is
// called as soon as the response turns out not to be stored.
func (c *httpCache) forward(w http.ResponseWriter, r *http.Request, next http.Handler, key string, stale *Entry, reason string, store bool, release func()) {
	if release == nil {
		release = func() {}
	}
	req := r
	revalidate := store && stale != nil && hasValidator(stale.Header)
	if store && r.Method == http.MethodGet {
		req = storeRequest(r, stale, revalidate)
	} else {
		store = false
	}
	var (
		lifetime   time.Duration
		storable   bool
		received   time.Time
		staleServe bool
	)
	t := newTeeWriter(w, c.maxBody, func(t *teeWriter) {
		received = c.now()
		if revalidate && t.status == http.StatusNotModified {
			t.pass = false
			return
		}
		if t.status >= 500 && store && reason != "request" && stale != nil && c.staleUsable(stale, received) {
			t.pass, staleServe = false, true
			return
		}
		cs := c.name + "; fwd=" + reason + "; fwd-status=" + strconv.Itoa(t.status)
		if store {
			var why string
			lifetime, why = c.freshness(r, t.status, t.header, received)
			if why == "" {
				storable, t.capture = true, true
				cs += "; stored"
			} else {
				cs += "; detail=" + why
			}
		}
		t.header.Add("Cache-Status", cs)
		if !storable {
			release()
		}
		if storable && notModified(r, t.header) {
			t.pass = false
			writeNotModified(w, t.header)
		}
	})
	t.abandon = release
	next.ServeHTTP(t, req)
	t.finish()
	ctx := context.WithoutCancel(r.Context())
	switch {
	case staleServe:
		c.serveEntry(w, r, stale, c.now(), c.name+"; fwd="+reason+"; fwd-status="+strconv.Itoa(t.status)+"; detail=stale-if-error")
	case revalidate && t.status == http.StatusNotModified:
		c.revalidated(ctx, w, r, key, stale, t.header, received, reason)
	case storable && t.complete() && !t.flushed:
		c.save(ctx, key, r, &Entry{
			Status:     t.status,
			Header:     storableHeader(t.header),
			Body:       t.body.Bytes(),
			Stored:     received,
			InitialAge: initialAge(t.header),
			Lifetime:   lifetime,
		})
	}
}

// storeRequest is the request to send upstream for a response the cache
// may store: a full one, so client conditionals are dropped (they are
// answered here), with the stale entry's validators when revalidating.
func storeRequest(r *http.Request, stale *Entry, revalidate bool) *http.Request {
	req := r.Clone(r.Context())
	for _, f := range []string{"If-None-Match", "If-Modified-Since", "If-Match", "If-Unmodified-Since", "If-Range"} {
		req.Header.Del(f)
	}
	if revalidate {
		if et := stale.Header.Get("ETag"); et != "" {
			req.Header.Set("If-None-Match", et)
		}
		if lm := stale.Header.Get("Last-Modified"); lm != "" {
			req.Header.Set("If-Modified-Since", lm)
		}
	}
	return req
}

// revalidated serves the stale entry an upstream 304 confirmed, updated
// with the 304's header, and stores it again if it may be stored.
func (c *httpCache) revalidated(ctx context.Context, w http.ResponseWriter, r *http.Request, key string, stale *Entry, header http.Header, received time.Time, reason string) {
	ne := updateFromNotModified(stale, header)
	ne.Stored, ne.InitialAge = received, initialAge(header)
	cs := c.name + "; fwd=" + reason + "; fwd-status=304"
	if lt, why := c.freshness(r, ne.Status, ne.Header, received); why == "" {
		ne.Lifetime = lt
		c.save(ctx, key, r, ne)
		cs += "; stored"
	} else {
		c.delete(ctx, key)
		cs += "; detail=" + why
	}
	c.serveEntry(w, r, ne, c.now(), cs)
}

// staleUsable reports whether the stale entry e may answer in place of an
// upstream error at now.
func (c *httpCache) staleUsable(e *Entry, now time.Time) bool {
	cc := parseCacheControl(e.Header["Cache-Control"])
	if cc.has("must-revalidate") || cc.has("proxy-revalidate") || cc.has("s-maxage") {
		return false
	}
	window := c.staleErr
	if d, ok := cc.seconds("stale-if-error"); ok && d > window {
		window = d
	}
	return e.age(now) < e.Lifetime+window
}

// save stores e under key, or under its variant key with an index at key
// when the response varies.
func (c *httpCache) save(ctx context.Context, key string, r *http.Request, e *Entry) {
	if e.Status != http.StatusNoContent && e.Header.Get("Content-Length") == "" {
		e.Header.Set("Content-Length", strconv.Itoa(len(e.Body)))
	}
	ttl := e.Lifetime - e.InitialAge
	if hasValidator(e.Header) {
		ttl += c.keep
	}
	// Keep the stale response as long as it may answer for an error.
	window := c.staleErr
	if d, ok := parseCacheControl(e.Header["Cache-Control"]).seconds("stale-if-error"); ok && d > window {
		window = d
	}
	ttl = max(ttl, e.Lifetime-e.InitialAge+window)
	if ttl <= 0 {
		return
	}
	var err error
	if vary := varyNames(e.Header); len(vary) > 0 {
		err = c.store.Set(ctx, key, &Entry{Vary: vary, Stored: e.Stored}, ttl)
		if err == nil {
			err = c.store.Set(ctx, variantKey(key, vary, r), e, ttl)
		}
	} else {
		err = c.store.Set(ctx, key, e, ttl)
	}
	if err != nil {
		store.LogError(ctx, c.log, slog.LevelWarn, "cache store set failed", err)
	}
}

func (c *httpCache) delete(ctx context.Context, key string) {
	if err := c.store.Delete(ctx, key); err != nil {
		store.LogError(ctx, c.log, slog.LevelWarn, "cache store delete failed", err)
	}
}

// passUnsafe forwards a request the cache does not answer and invalidates
// the stored response for its URL when an unsafe method succeeds.
func (c *httpCache) passUnsafe(w http.ResponseWriter, r *http.Request, next http.Handler) {
	w.Header().Add("Cache-Status", c.name+"; fwd=method")
	switch r.Method {
	case http.MethodOptions, http.MethodTrace, http.MethodConnect:
		next.ServeHTTP(w, r)
		return
	}
	sw := &cacheStatusWriter{ResponseWriter: w}
	next.ServeHTTP(sw, r)
	if sw.status < 400 {
		c.delete(context.WithoutCancel(r.Context()), c.key(r))
	}
}

// cacheStatusWriter records the status code and passes everything through.
type cacheStatusWriter struct {
	http.ResponseWriter
	status int
}

func (s *cacheStatusWriter) WriteHeader(code int) {
	if s.status == 0 && code >= 200 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *cacheStatusWriter) Write(p []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(p)
}

func (s *cacheStatusWriter) Flush() {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	_ = http.NewResponseController(s.ResponseWriter).Flush()
}

func (s *cacheStatusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }
