package openapi

import (
	"net/url"
	"strings"
)

// resolver finds the schema a $ref names inside the bundled document: by
// JSON pointer, by $id (OpenAPI 3.1) and by $anchor, each relative to the
// base URI in force where the reference is written.
type resolver struct {
	root    any
	doc     *url.URL          // the document's own URI
	ids     map[string]string // absolute $id without fragment -> pointer
	anchors map[string]string // absolute $id "#" anchor -> pointer
	// scopes are the pointers of the schemas that carry an $id: inside
	// them, "#/..." means a pointer into that schema, not the document.
	scopes []string
}

func newResolver(root any, doc *url.URL, positions []string, is30 bool) *resolver {
	r := &resolver{root: root, doc: doc, ids: map[string]string{}, anchors: map[string]string{}}
	if is30 {
		return r // OpenAPI 3.0 schemas have neither $id nor $anchor
	}
	for _, p := range positions {
		r.index(lookup(root, p), p, doc)
	}
	return r
}

// index records the $id and anchors of the schema v at ptr and below.
func (r *resolver) index(v any, ptr string, base *url.URL) {
	m, ok := v.(map[string]any)
	if !ok {
		return
	}
	if id, ok := m["$id"].(string); ok {
		if u, err := url.Parse(id); err == nil {
			base = base.ResolveReference(u)
			base.Fragment, base.RawFragment = "", ""
			if _, dup := r.ids[base.String()]; !dup {
				r.ids[base.String()] = ptr
				r.scopes = append(r.scopes, ptr)
			}
		}
	}
	for _, kw := range []string{"$anchor", "$dynamicAnchor"} {
		if a, ok := m[kw].(string); ok {
			r.anchors[base.String()+"#"+a] = ptr
		}
	}
	_ = forSubschemas(m, ptr, func(sub any, sptr string) error {
		r.index(sub, sptr, base)
		return nil
	})
}

// base returns the base URI in force at the schema at ptr.
func (r *resolver) base(ptr string) *url.URL {
	best, bestLen := r.doc, -1
	for id, p := range r.ids {
		if len(p) > bestLen && (p == ptr || strings.HasPrefix(ptr, p+"/")) {
			if u, err := url.Parse(id); err == nil {
				best, bestLen = u, len(p)
			}
		}
	}
	return best
}

// resolve returns the pointer of the schema that ref, written in the
// schema at ptr, names.
func (r *resolver) resolve(ref, ptr string) (string, bool) {
	u, err := url.Parse(ref)
	if err != nil {
		return "", false
	}
	abs := r.base(ptr).ResolveReference(u)
	frag := abs.Fragment
	abs.Fragment, abs.RawFragment = "", ""
	res, ok := "", abs.String() == r.doc.String()
	if !ok {
		res, ok = r.ids[abs.String()]
	}
	switch {
	case !ok:
		return "", false
	case frag == "" || strings.HasPrefix(frag, "/"):
		return res + frag, true
	}
	p, ok := r.anchors[abs.String()+"#"+frag]
	return p, ok
}

// scoped reports whether ptr lies inside a schema with an $id.
func (r *resolver) scoped(ptr string) bool {
	for _, s := range r.scopes {
		if ptr == s || strings.HasPrefix(ptr, s+"/") {
			return true
		}
	}
	return false
}
