package auth

import (
	"context"
	"net/http"
	"net/url"
	"strings"

	"github.com/portico-dev/portico/middleware"
	"github.com/portico-dev/portico/middleware/internal/ctxkey"
)

// CredentialSource is where a request carried the credential an
// authenticator verified: a header or a query parameter, with the value
// as the request sent it.
type CredentialSource struct {
	// Header is the canonical name of the header that held the credential,
	// such as "Authorization" or "X-Api-Key"; "" when it came in the query.
	Header string
	// Query is the query parameter that held it; "" when it came in a header.
	Query string
	// Value is the header value or the decoded parameter value as sent: for
	// a bearer token, the whole "Bearer ..." header value.
	Value string
}

// CredentialLocator is implemented by authenticators that read their
// credential from a request header or query parameter. [New]
// asks the authenticator that succeeded where the credential was and
// records it with the consumer, so that [StripCredential] can remove it
// before the request goes further. [APIKeyAuth], [JWTAuth] and
// [IntrospectionAuth] implement it; [ClientCertAuth] has nothing to remove.
type CredentialLocator interface {
	// LocateCredential returns where r carries the credential that
	// Authenticate reads, and false when r carries none.
	LocateCredential(r *http.Request) (CredentialSource, bool)
}

// StripCredential removes from r the credential that authenticated it, as
// [New] recorded in r's context: the values of that header, or
// the pairs of that query parameter, equal to the ones the authenticator
// read. A value a later stage put in its place, such as an Authorization
// header for the upstream, is kept; so is every other header and
// parameter. It does nothing for a request that no authenticator
// implementing [CredentialLocator] identified.
//
// StripCredential changes r.Header and r.URL in place: call it on a
// request whose header map and URL the caller owns, such as the outbound
// request of an httputil.ReverseProxy's Rewrite (pr.Out), so the
// upstream never sees a secret only the gateway needed:
//
//	Rewrite: func(pr *httputil.ProxyRequest) {
//		pr.SetURL(target)
//		StripCredential(pr.Out)
//	}
func StripCredential(r *http.Request) {
	src, ok := credentialFrom(r.Context())
	if !ok {
		return
	}
	if src.Header != "" {
		stripHeaderValue(r.Header, src.Header, src.Value)
	}
	if src.Query != "" && r.URL != nil {
		r.URL.RawQuery = stripQueryPair(r.URL.RawQuery, src.Query, src.Value)
	}
}

// stripHeaderValue removes the values of header k equal to v.
func stripHeaderValue(h http.Header, k, v string) {
	vs, ok := h[k]
	if !ok {
		return
	}
	kept := make([]string, 0, len(vs))
	for _, s := range vs {
		if s != v {
			kept = append(kept, s)
		}
	}
	switch {
	case len(kept) == 0:
		delete(h, k)
	case len(kept) < len(vs):
		h[k] = kept
	}
}

// stripQueryPair removes from a raw query the pairs that decode to name=v,
// leaving every other pair exactly as it was written.
func stripQueryPair(raw, name, v string) string {
	if raw == "" {
		return raw
	}
	var b strings.Builder
	removed := false
	for pair := range strings.SplitSeq(raw, "&") {
		k, val, _ := strings.Cut(pair, "=")
		dk, err1 := url.QueryUnescape(k)
		dv, err2 := url.QueryUnescape(val)
		if err1 == nil && err2 == nil && dk == name && dv == v {
			removed = true
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('&')
		}
		b.WriteString(pair)
	}
	if !removed {
		return raw
	}
	return b.String()
}

// credentialKey finds the [CredentialSource] in a context.
type credentialKey struct{}

// authContext is the context node [New] adds: the consumer and,
// when the authenticator could say, where its credential was. One node
// holds both, so identifying a caller costs one allocation.
type authContext struct {
	context.Context
	c      *middleware.Consumer
	src    CredentialSource
	hasSrc bool
}

// Value answers the consumer and credential keys, and asks the parent for
// the others.
func (a *authContext) Value(key any) any {
	switch key.(type) {
	case ctxkey.Consumer:
		return a.c
	case credentialKey:
		if a.hasSrc {
			return &a.src
		}
	}
	return a.Context.Value(key)
}

// String names the node when a context is printed.
func (a *authContext) String() string { return "portico/auth.authContext" }

// withAuth returns a copy of ctx carrying c and where auth found its
// credential in r.
func withAuth(ctx context.Context, c *middleware.Consumer, auth Authenticator, r *http.Request) context.Context {
	a := &authContext{Context: ctx, c: c}
	if l, ok := auth.(CredentialLocator); ok {
		a.src, a.hasSrc = l.LocateCredential(r)
	}
	return a
}

// credentialFrom returns the credential source recorded in ctx.
func credentialFrom(ctx context.Context) (CredentialSource, bool) {
	if p, ok := ctx.Value(credentialKey{}).(*CredentialSource); ok {
		return *p, true
	}
	return CredentialSource{}, false
}

// withoutCredential returns a copy of r without the credential that
// authenticated it, sharing nothing StripCredential changes with r.
func withoutCredential(r *http.Request) *http.Request {
	src, ok := credentialFrom(r.Context())
	if !ok {
		return r
	}
	r2 := new(http.Request)
	*r2 = *r
	if src.Header != "" {
		r2.Header = r.Header.Clone()
	}
	if src.Query != "" && r.URL != nil {
		u := *r.URL
		r2.URL = &u
		if path, q, ok := strings.Cut(r.RequestURI, "?"); ok {
			r2.RequestURI = path + "?" + stripQueryPair(q, src.Query, src.Value)
		}
	}
	StripCredential(r2)
	return r2
}
