package openapi

import (
	"net/url"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// shape is what decoding a parameter or a form needs to know of a schema:
// the type its raw strings are read as, and the shapes of its items and
// properties. It is taken from the compiled schema, so references of every
// kind ($ref by pointer, $id or $anchor) are already followed.
type shape struct {
	typ   string // the first type other than null, given or inferred; "" when unknown
	null  bool   // null is one of the given types
	items *shape
	props map[string]*shape
	addl  *shape
}

// shaper builds shapes once per compiled schema; recursive schemas share
// their shapes.
type shaper struct{ memo map[*jsonschema.Schema]*shape }

func (b *shaper) of(s *jsonschema.Schema) *shape {
	if s == nil {
		return nil
	}
	if sh, ok := b.memo[s]; ok {
		return sh
	}
	sh := &shape{}
	b.memo[s] = sh
	if s.Types != nil {
		for _, t := range s.Types.ToStrings() {
			if t == "null" {
				sh.null = true
			} else if sh.typ == "" {
				sh.typ = t
			}
		}
	}
	if s.Items2020 != nil {
		sh.items = b.of(s.Items2020)
	}
	for name, p := range s.Properties {
		if sh.props == nil {
			sh.props = map[string]*shape{}
		}
		sh.props[name] = b.of(p)
	}
	if a, ok := s.AdditionalProperties.(*jsonschema.Schema); ok {
		sh.addl = b.of(a)
	}
	switch {
	case sh.typ != "":
	case sh.items != nil:
		sh.typ = "array"
	case len(sh.props) > 0:
		sh.typ = "object"
	}
	// What a reference or an alternative adds, where the schema itself is
	// silent.
	for _, sub := range append([]*jsonschema.Schema{s.Ref}, append(append(s.AllOf, s.OneOf...), s.AnyOf...)...) {
		if sub != nil {
			sh.merge(b.of(sub))
		}
	}
	return sh
}

func (sh *shape) merge(o *shape) {
	if o == nil || o == sh {
		return
	}
	if sh.typ == "" {
		sh.typ = o.typ
	}
	if sh.items == nil {
		sh.items = o.items
	}
	if sh.addl == nil {
		sh.addl = o.addl
	}
	for name, p := range o.props {
		if sh.props == nil {
			sh.props = map[string]*shape{}
		}
		if _, ok := sh.props[name]; !ok {
			sh.props[name] = p
		}
	}
}

// shapeOf returns the shape of the checked schema; nil for none.
func (c *check) shapeOf() *shape {
	if c == nil {
		return nil
	}
	return c.shape
}

// deref follows the Reference Objects (local after bundling) from the
// object at ptr and returns the pointer of the object itself.
func (c *compiler) deref(ptr string) string {
	for range 32 {
		m, ok := lookup(c.doc, ptr).(map[string]any)
		if !ok {
			return ptr
		}
		ref, ok := m["$ref"].(string)
		if !ok || !strings.HasPrefix(ref, "#") {
			return ptr
		}
		u, err := url.Parse(ref)
		if err != nil {
			return ptr
		}
		ptr = u.Fragment
	}
	return ptr
}
