package openapi

import (
	"fmt"
	"reflect"
	"strings"
)

// transformer rewrites one copy of the bundled document, in place, into
// what the JSON Schema 2020-12 engine validates for one side: readOnly
// properties (request) or writeOnly ones (response) become false, and
// OpenAPI 3.0 schemas take their 2020-12 spelling.
type transformer struct {
	is30  bool
	side  side
	root  map[string]any
	url   string
	res   *resolver
	seen  map[uintptr]bool
	notes *schemaNotes
	loose bool // WithLooseNullable
}

// walk rewrites the schema v found at ptr (a JSON pointer).
func (t *transformer) walk(v any, ptr string) {
	m, ok := v.(map[string]any)
	if !ok {
		return
	}
	id := reflect.ValueOf(m).Pointer()
	if t.seen[id] {
		return
	}
	t.seen[id] = true
	if t.is30 {
		if t.loose {
			looseNullable(m)
		}
		if _, ok := m["$ref"]; ok {
			// OpenAPI 3.0: a Reference Object's siblings SHALL be ignored.
			for k := range m {
				if k != "$ref" {
					delete(m, k)
				}
			}
			return
		}
	}
	if props, ok := m["properties"].(map[string]any); ok {
		for name, p := range props {
			pptr := ptr + "/properties/" + escape(name)
			if t.denies(p, pptr) {
				props[name] = false
				m["required"] = without(m["required"], name)
				if t.side == request {
					t.notes.denied[t.url+"#"+escapeFragment(pptr)] = "is read-only and must not be sent"
				} else {
					t.notes.denied[t.url+"#"+escapeFragment(pptr)] = "is write-only and must not be returned"
				}
			}
		}
	}
	_ = forSubschemas(m, ptr, func(sub any, sptr string) error {
		t.walk(sub, sptr)
		return nil
	})
	t.discriminator(m, ptr)
	if t.is30 {
		t.upgrade30(m)
	}
}

// denies reports whether the property schema p, at ptr, is readOnly
// (request side) or writeOnly (response side), following $refs.
func (t *transformer) denies(p any, ptr string) bool {
	key := "readOnly"
	if t.side == response {
		key = "writeOnly"
	}
	for range 16 {
		m, ok := p.(map[string]any)
		if !ok {
			return false
		}
		ref, isRef := m["$ref"].(string)
		if b, _ := m[key].(bool); b && (!isRef || !t.is30) {
			return true
		}
		if !isRef {
			return false
		}
		target, ok := t.res.resolve(ref, ptr)
		if !ok {
			return false
		}
		p, ptr = lookup(t.root, target), target
	}
	return false
}

// upgrade30 rewrites the OpenAPI 3.0 keywords that JSON Schema 2020-12
// spells differently. Following the 3.0.3 text, nullable only takes effect
// next to a type, and other keywords keep their meaning: an enum without
// null still refuses null.
func (t *transformer) upgrade30(m map[string]any) {
	for _, b := range [][2]string{{"exclusiveMinimum", "minimum"}, {"exclusiveMaximum", "maximum"}} {
		if ex, ok := m[b[0]].(bool); ok {
			if ex && m[b[1]] != nil {
				m[b[0]] = m[b[1]]
				delete(m, b[1])
			} else {
				delete(m, b[0])
			}
		}
	}
	nullable, _ := m["nullable"].(bool)
	delete(m, "nullable")
	if !nullable {
		return
	}
	if typ, ok := m["type"].(string); ok {
		m["type"] = []any{typ, "null"}
	}
}

// looseNullable rewrites an OpenAPI 3.0 schema with nullable: true and no
// type (beside allOf, oneOf, anyOf or a $ref) into "null, or the schema",
// as [WithLooseNullable] asks.
func looseNullable(m map[string]any) {
	if b, _ := m["nullable"].(bool); !b {
		return
	}
	if _, typed := m["type"].(string); typed {
		return
	}
	inner := map[string]any{}
	if ref, ok := m["$ref"]; ok {
		inner["$ref"] = ref // the other siblings of a $ref still mean nothing
	} else {
		for k, v := range m {
			if k != "nullable" {
				inner[k] = v
			}
		}
	}
	flags := map[string]any{}
	for _, k := range []string{"readOnly", "writeOnly"} {
		if b, _ := m[k].(bool); b && m["$ref"] == nil {
			flags[k] = true
		}
	}
	clear(m)
	m["anyOf"] = []any{map[string]any{"type": "null"}, inner}
	for k, v := range flags {
		m[k] = v
	}
}

// discriminator notes, for a oneOf or anyOf with a discriminator, which
// alternative each value of the discriminating property names. It never
// changes what validates: it only chooses which alternative's errors a
// failing value is reported against.
func (t *transformer) discriminator(m map[string]any, ptr string) {
	d, ok := m["discriminator"].(map[string]any)
	if !ok {
		return
	}
	prop, _ := d["propertyName"].(string)
	kw := "oneOf"
	alts, ok := m[kw].([]any)
	if !ok {
		kw = "anyOf"
		alts, ok = m[kw].([]any)
	}
	if !ok || prop == "" {
		return
	}
	targets := make(map[string]int, len(alts)) // pointer of an alternative's target -> index
	for i, a := range alts {
		am, _ := a.(map[string]any)
		if ref, _ := am["$ref"].(string); ref != "" {
			if target, ok := t.res.resolve(ref, fmt.Sprintf("%s/%s/%d", ptr, kw, i)); ok {
				targets[target] = i
			}
		}
	}
	names := map[string]int{}
	mapped := map[int]bool{}
	mapping, _ := d["mapping"].(map[string]any)
	for value, r := range mapping {
		ref, _ := r.(string)
		if !strings.ContainsAny(ref, "/#") {
			ref = "#/components/schemas/" + escape(ref)
		}
		names[value] = -1 // names a schema that is not an alternative
		if target, ok := t.res.resolve(ref, ptr); ok {
			if i, ok := targets[target]; ok {
				names[value], mapped[i] = i, true
			}
		}
	}
	// An alternative the mapping does not name is named by its component
	// name.
	for target, i := range targets {
		name, ok := strings.CutPrefix(target, "/components/schemas/")
		if _, taken := names[unescape(name)]; ok && !mapped[i] && !taken && !strings.Contains(name, "/") {
			names[unescape(name)] = i
		}
	}
	t.notes.discrim[t.url+"#"+escapeFragment(ptr)] = &discriminator{prop: prop, keyword: kw, names: names}
}

// discriminator is what a schema's discriminator says about its
// alternatives.
type discriminator struct {
	prop    string
	keyword string         // "oneOf" or "anyOf"
	names   map[string]int // value -> index of the alternative, -1 for none
}

// schemaNotes is what the full engine's errors are read with.
type schemaNotes struct {
	// denied maps the locations replaced by false to the reason.
	denied map[string]string
	// discrim maps the location of a schema with oneOf or anyOf to its
	// discriminator.
	discrim map[string]*discriminator
}

func without(required any, name string) any {
	list, ok := required.([]any)
	if !ok {
		return required
	}
	out := list[:0:0]
	for _, v := range list {
		if v != name {
			out = append(out, v)
		}
	}
	return out
}

func unescape(tok string) string {
	return strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
}
