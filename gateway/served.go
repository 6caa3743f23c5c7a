package gateway

import (
	"net/http"
	"net/http/httputil"
)

// served wraps the handler a route's Serve returned for one backend: each
// request reaches it rewritten as the reverse proxy would send it to
// upstream (see [Route].Serve).
func (g *Gateway) served(rt *route, upstream string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		out := r.Clone(r.Context())
		// As the reverse proxy does, forwarding headers start afresh; the
		// trusted ones are copied back from r.
		for _, k := range [...]string{"Forwarded", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto"} {
			delete(out.Header, k)
		}
		pr := &httputil.ProxyRequest{In: r, Out: out}
		g.upstreamHeaders(rt, pr)
		rt.outbound(r, out, upstream)
		out.RequestURI = out.URL.RequestURI()
		h.ServeHTTP(w, out)
	})
}
