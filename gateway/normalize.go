package gateway

import (
	"context"
	"net/http"

	"github.com/portico-dev/portico/internal/pathnorm"
)

// PathNormalization says how the gateway treats request paths before
// anything looks at them. Every request's path is normalized first, and
// the normal path is the one the global middleware see and log, routes
// match and authorize, caches key on and upstreams receive:
//
//   - dot segments are resolved (RFC 3986 §5.2.4): "/api/public/../private"
//     is "/api/private", and a ".." above the root is dropped, so "/../x"
//     is "/x";
//   - repeated slashes are merged: "/api//users" is "/api/users";
//   - escaped unreserved characters are decoded ("/%61pi" is "/api") and
//     other escapes get upper-case hex digits ("%3b" is "%3B").
//
// A path holding a control character (such as "%00" or "%0A"), a segment
// that is a dot segment followed by parameters ("..;x", which some
// servers read as ".."), or anything but an absolute path (such as "*") is
// answered 400 with a problem document, as is an escaped dot, slash or
// backslash unless Escaped says to decode them. Paths are case-sensitive:
// "/API/users" is not "/api/users". A ';' elsewhere is part of its
// segment, so "/api/users;v=1" does not match the route path "/api/users"
// (it does match the prefix "/api").
//
// The gateway never serves CONNECT, being no forward proxy, nor TRACE,
// which would echo credentials back: both are answered 501.
type PathNormalization struct {
	// Escaped is what happens to a path holding an escaped dot, slash or
	// backslash ("%2E", "%2F", "%5C") or a backslash, which an upstream
	// may read as a dot or a separator where the gateway saw none.
	// "reject" answers 400. "decode" decodes them, a backslash as a
	// slash, before dot segments are resolved, as Envoy's normalize_path
	// with path_with_escaped_slashes_action UNESCAPE_AND_FORWARD does:
	// "/a/..%2Fb" is then "/b". Either way a route's {param} never holds a
	// dot segment or a separator. If empty, "reject".
	Escaped string `yaml:"escaped"`
}

// pathMode validates the configured action.
func (c *config) pathMode() (pathnorm.Mode, error) {
	switch c.paths.Escaped {
	case "", "reject":
		return pathnorm.Reject, nil
	case "decode":
		return pathnorm.Decode, nil
	}
	return 0, fieldErr("path_normalization.escaped", "%q is not an action; use \"reject\" or \"decode\"", c.paths.Escaped)
}

// refusal is why a request is answered before routing.
type refusal struct {
	status int
	detail string
}

type refusalKey struct{}

// normalize returns r with its path normalized (r itself when it already
// was), or why it is refused.
func (g *Gateway) normalize(r *http.Request) (*http.Request, *refusal) {
	switch r.Method {
	case http.MethodConnect:
		return nil, &refusal{http.StatusNotImplemented, "the gateway does not serve CONNECT: it is not a forward proxy"}
	case http.MethodTrace:
		return nil, &refusal{http.StatusNotImplemented, "the gateway does not serve TRACE"}
	}
	u, err := pathnorm.URL(r.URL, g.pathMode)
	if err != nil {
		return nil, &refusal{http.StatusBadRequest, err.Error()}
	}
	if u == r.URL {
		return r, nil
	}
	r2 := r.WithContext(r.Context())
	r2.URL = u
	if r.RequestURI != "" {
		r2.RequestURI = u.RequestURI()
	}
	return r2, nil
}

// serveRefused answers a refused request through the global chain, so it
// is logged and measured like any other.
func (g *Gateway) serveRefused(w http.ResponseWriter, r *http.Request, ref *refusal) {
	g.refuser.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), refusalKey{}, ref)))
}

// refuse is the innermost handler of the global chain for refused requests.
func refuse(w http.ResponseWriter, r *http.Request) {
	ref := r.Context().Value(refusalKey{}).(*refusal)
	writeProblem(w, r, ref.status, ref.detail)
}

// wrapChain wraps h in the global chain, the first name outermost.
func wrapChain(names []string, mws *registry, h http.Handler) http.Handler {
	for i := len(names) - 1; i >= 0; i-- {
		h = mws.get(names[i])(h)
	}
	return h
}
