package gateway

import (
	"net/http"
	"net/textproto"
	"net/url"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/portico-dev/portico/gateway/internal/fields"
)

// rewriter is the compiled form of a route's request and response changes.
type rewriter struct {
	strip    string
	add      string
	template []tmplPart // nil when the route has no Rewrite
	host     string
	req      headerOps
	resp     headerOps
}

type tmplPart struct {
	lit   string
	param string // "" for a literal
}

type headerOps struct {
	set    [][2]string
	add    [][2]string
	remove []string
}

func compileHeaderOps(h HeaderEdits) headerOps {
	var o headerOps
	for _, k := range fields.SortedKeys(h.Set) {
		o.set = append(o.set, [2]string{textproto.CanonicalMIMEHeaderKey(k), h.Set[k]})
	}
	for _, k := range fields.SortedKeys(h.Add) {
		o.add = append(o.add, [2]string{textproto.CanonicalMIMEHeaderKey(k), h.Add[k]})
	}
	for _, k := range h.Remove {
		o.remove = append(o.remove, textproto.CanonicalMIMEHeaderKey(k))
	}
	return o
}

func (o *headerOps) empty() bool {
	return len(o.set) == 0 && len(o.add) == 0 && len(o.remove) == 0
}

func (o *headerOps) apply(h http.Header) {
	for _, k := range o.remove {
		delete(h, k)
	}
	for _, kv := range o.set {
		h[kv[0]] = []string{kv[1]}
	}
	for _, kv := range o.add {
		h[kv[0]] = append(h[kv[0]], kv[1])
	}
}

// parseTemplate splits "/v2/users/{id}" into literals and parameters.
// It reports the first malformed brace it finds.
func parseTemplate(s string) ([]tmplPart, string) {
	var parts []tmplPart
	for s != "" {
		i := strings.IndexAny(s, "{}")
		if i < 0 {
			parts = append(parts, tmplPart{lit: s})
			break
		}
		if s[i] == '}' {
			return nil, "unbalanced '}'"
		}
		if i > 0 {
			parts = append(parts, tmplPart{lit: s[:i]})
		}
		j := strings.IndexByte(s[i:], '}')
		if j < 0 {
			return nil, "unclosed '{'"
		}
		name := s[i+1 : i+j]
		if name == "" || strings.ContainsAny(name, "{/") {
			return nil, "bad parameter name " + `"` + name + `"`
		}
		parts = append(parts, tmplPart{param: name})
		s = s[i+j+1:]
	}
	return parts, ""
}

// path returns the upstream path, escaped, for the incoming escaped path.
func (rw *rewriter) path(escaped string, rctx *chi.Context) string {
	if rw.template != nil {
		var b strings.Builder
		for _, p := range rw.template {
			if p.param == "" {
				b.WriteString(p.lit)
				continue
			}
			// Parameters are captured from the decoded path, so they are
			// escaped again: a decoded '/' or '?' stays data.
			writeParam(&b, rctx.URLParam(p.param), p.param == "*")
		}
		return b.String()
	}
	p := escaped
	if rw.strip != "" {
		if rest, ok := strings.CutPrefix(p, rw.strip); ok && (rest == "" || rest[0] == '/' || strings.HasSuffix(rw.strip, "/")) {
			p = rest
		}
		if p == "" || p[0] != '/' {
			p = "/" + p
		}
	}
	if rw.add != "" {
		p = strings.TrimSuffix(rw.add, "/") + p
	}
	return p
}

// writeParam writes a decoded parameter escaped as a path segment, or as
// several for the catch-all.
func writeParam(b *strings.Builder, v string, catchAll bool) {
	if !catchAll {
		b.WriteString(url.PathEscape(v))
		return
	}
	for i, seg := range strings.Split(v, "/") {
		if i > 0 {
			b.WriteByte('/')
		}
		b.WriteString(url.PathEscape(seg))
	}
}

// setPath sets u's path from an escaped path.
func setPath(u *url.URL, escaped string) {
	if p, err := url.PathUnescape(escaped); err == nil {
		u.Path = p
		if p != escaped {
			u.RawPath = escaped
		} else {
			u.RawPath = ""
		}
		return
	}
	u.Path = escaped
	u.RawPath = ""
}
