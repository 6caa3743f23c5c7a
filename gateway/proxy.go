package gateway

import (
	"bytes"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httputil"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/portico-dev/portico/gateway/upstream"
	"github.com/portico-dev/portico/resilience"
)

// route is the compiled, immutable form of a [Route].
type route struct {
	spec     Route
	name     string
	match    *matcher
	rw       *rewriter
	backends []*backend
	total    int // sum of the backends' weights
	pin      *Pin
	mirror   *mirror
	handler  http.Handler // per-route middleware around serve
	chain    []string     // per-route stages, outermost first, for /routes
	maxBody  int64
	track    bool // retries on: attempts should prefer untried instances
	// plain is a route whose handler reads no routing context (path
	// parameters, chi's pattern): its requests are served without one.
	plain    bool
	versions map[string]versionTarget
	// kind is "" for a configured route, or the kind of endpoint a part
	// serves (see Endpoint), label its name in errors; at is the config
	// field that defines it, for errors.
	kind  string
	label string
	at    string
}

// backend is one upstream a route proxies to.
type backend struct {
	upstream string
	weight   int
	proxy    http.Handler // the reverse proxy, or the route's Serve handler
	breakers interface {
		Breakers() []resilience.BreakerState
	} // the route's resilience transport, if it has a breaker
}

// serve is the innermost handler of a route.
func (rt *route) serve(w http.ResponseWriter, r *http.Request) {
	if rt.maxBody > 0 && r.Body != nil && r.Body != http.NoBody {
		if r.ContentLength > rt.maxBody {
			writeProblem(w, r, http.StatusRequestEntityTooLarge, "the request body is larger than this route accepts")
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, rt.maxBody)
	}
	if rt.track {
		r = r.WithContext(upstream.TrackAttempts(r.Context()))
	}
	var b *backend
	if rt.versions != nil {
		var ok bool
		if b, r, ok = rt.pickVersion(w, r); !ok {
			return
		}
	} else {
		b = rt.pick(w, r)
	}
	if rt.mirror != nil {
		rt.mirror.send(rt, r)
	}
	b.proxy.ServeHTTP(w, r)
}

// pick chooses the backend for r: the pinned one if the request names
// one, else by weight.
func (rt *route) pick(w http.ResponseWriter, r *http.Request) *backend {
	if len(rt.backends) == 1 {
		return rt.backends[0]
	}
	if p := rt.pin; p != nil {
		if p.Header != "" {
			if b := rt.backendNamed(r.Header.Get(p.Header)); b != nil {
				return b
			}
		}
		if p.Cookie != "" {
			if c, err := r.Cookie(p.Cookie); err == nil {
				if b := rt.backendNamed(c.Value); b != nil {
					return b
				}
			}
		}
	}
	b := rt.backends[len(rt.backends)-1]
	if rt.total > 0 {
		n := rand.IntN(rt.total)
		for _, c := range rt.backends {
			if n < c.weight {
				b = c
				break
			}
			n -= c.weight
		}
	}
	if p := rt.pin; p != nil && p.Cookie != "" {
		c := &http.Cookie{Name: p.Cookie, Value: b.upstream, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode}
		if p.MaxAge > 0 {
			c.MaxAge = int(p.MaxAge / time.Second)
		}
		w.Header().Add("Set-Cookie", c.String())
	}
	return b
}

func (rt *route) backendNamed(name string) *backend {
	if name == "" {
		return nil
	}
	for _, b := range rt.backends {
		if b.upstream == name {
			return b
		}
	}
	return nil
}

// outbound points out at the upstream named name, with the route's path,
// Host and header changes applied.
func (rt *route) outbound(in, out *http.Request, upstream string) {
	out.URL.Scheme = "http"
	out.URL.Host = upstream
	if rt.rw.template != nil || rt.rw.strip != "" || rt.rw.add != "" {
		setPath(out.URL, rt.rw.path(in.URL.EscapedPath(), chi.RouteContext(in.Context())))
	}
	// An empty Host lets the pool use the instance's host.
	out.Host = rt.rw.host
	rt.rw.req.apply(out.Header)
}

// newProxy builds the reverse proxy of one backend.
func (g *Gateway) newProxy(rt *route, upstream string, transport http.RoundTripper) *httputil.ReverseProxy {
	p := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			g.upstreamHeaders(rt, pr)
			rt.outbound(pr.In, pr.Out, upstream)
		},
		Transport:    transport,
		BufferPool:   g.buffers,
		ErrorHandler: g.proxyError,
		ErrorLog:     slog.NewLogLogger(g.cfg.logger.Handler(), slog.LevelDebug),
	}
	p.ModifyResponse = func(resp *http.Response) error {
		upstreamResponse(resp)
		if !rt.rw.resp.empty() {
			rt.rw.resp.apply(resp.Header)
		}
		return nil
	}
	return p
}

// forwarded sets X-Forwarded-For, -Host and -Proto. The values a client
// sent are kept only when it connects from a trusted proxy (trusted);
// the ReverseProxy has already removed them from pr.Out.
func (g *Gateway) forwarded(pr *httputil.ProxyRequest, trusted bool) {
	if trusted {
		if v := pr.In.Header["X-Forwarded-For"]; len(v) > 0 {
			pr.Out.Header["X-Forwarded-For"] = v
		}
	}
	pr.SetXForwarded()
	if trusted {
		for _, k := range [...]string{"X-Forwarded-Host", "X-Forwarded-Proto"} {
			if v := pr.In.Header[k]; len(v) > 0 {
				pr.Out.Header[k] = v
			}
		}
	}
}

func (g *Gateway) trusted(remote string) bool {
	if len(g.cfg.trusted) == 0 {
		return false
	}
	ap, err := netip.ParseAddrPort(remote)
	if err != nil {
		return false
	}
	a := ap.Addr().Unmap()
	for _, p := range g.cfg.trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// copyBufferSize is the size of the proxy's copy buffers.
const copyBufferSize = 32 << 10

// bufferPool recycles the proxy's copy buffers. It holds pointers to
// arrays, so neither Get nor Put allocates.
type bufferPool struct{ p sync.Pool }

func newBufferPool() *bufferPool {
	return &bufferPool{p: sync.Pool{New: func() any { return new([copyBufferSize]byte) }}}
}

func (b *bufferPool) Get() []byte { return b.p.Get().(*[copyBufferSize]byte)[:] }

// Put keeps s if it is one of the pool's buffers (its length and
// capacity are the pool's size) and drops any other slice.
func (b *bufferPool) Put(s []byte) {
	if len(s) == copyBufferSize && cap(s) == copyBufferSize {
		b.p.Put((*[copyBufferSize]byte)(s))
	}
}

// hopHeaders are the hop-by-hop headers a mirrored copy must not carry.
var hopHeaders = [...]string{"Connection", "Keep-Alive", "Proxy-Connection", "Proxy-Authenticate", "Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade"}

func removeHopHeaders(h http.Header) {
	for _, f := range h["Connection"] {
		for sf := range strings.SplitSeq(f, ",") {
			if sf = strings.TrimSpace(sf); sf != "" {
				h.Del(sf)
			}
		}
	}
	for _, k := range hopHeaders {
		delete(h, k)
	}
}

// readBody reads a body of known, small length so it can be sent twice.
// On error it returns a body that replays what was read and then fails
// the same way, so the primary request sees the client's error.
func readBody(r *http.Request) ([]byte, bool) {
	buf := make([]byte, r.ContentLength)
	n, err := io.ReadFull(r.Body, buf)
	if err != nil {
		r.Body = struct {
			io.Reader
			io.Closer
		}{io.MultiReader(bytes.NewReader(buf[:n]), errReader{err}), r.Body}
		return nil, false
	}
	r.Body = struct {
		io.Reader
		io.Closer
	}{bytes.NewReader(buf), r.Body}
	return buf, true
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }
