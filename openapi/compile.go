package openapi

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// side says whether a schema describes what a client sends (readOnly
// properties are refused) or what a server answers (writeOnly are refused).
type side int

const (
	request side = iota
	response
)

// url is the identifier of the document copy compiled for this side.
func (s side) url() string {
	if s == response {
		return "urn:portico:openapi:response"
	}
	return "urn:portico:openapi:request"
}

// schemaKey is where compiled schemas are parked inside the document copy,
// so their $refs resolve against the document's components.
const schemaKey = "x-portico-compiled"

// compiler turns every schema of a document into a JSON Schema 2020-12
// validator, once. OpenAPI 3.0 schemas are first rewritten into their 2020-12
// equivalent (nullable, boolean exclusive bounds), so both versions are
// validated by the same engine at the same speed.
type compiler struct {
	is30    bool
	docJSON []byte
	pending [2][]pendingSchema
	// denied holds the schema locations that were replaced by false
	// because they are readOnly (request side) or writeOnly (response side).
	denied map[string]string
}

type pendingSchema struct {
	raw      []byte
	location string // JSON pointer of the schema in the user's document
	target   **check
}

func newCompiler(doc *openapi3.T) (*compiler, error) {
	raw, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("encode document: %w", err)
	}
	return &compiler{is30: doc.IsOpenAPI30(), docJSON: raw, denied: map[string]string{}}, nil
}

// add queues ref for compilation; *target is set by compile.
func (c *compiler) add(s side, ref *openapi3.SchemaRef, location string, target **check) error {
	if ref == nil {
		return nil
	}
	raw, err := json.Marshal(ref)
	if err != nil {
		return &LoadError{Pointer: location, Err: err}
	}
	c.pending[s] = append(c.pending[s], pendingSchema{raw: raw, location: location, target: target})
	return nil
}

func (c *compiler) compile() error {
	for s := range c.pending {
		if len(c.pending[s]) == 0 {
			continue
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(c.docJSON))
		if err != nil {
			return err
		}
		root := doc.(map[string]any)
		list := make([]any, len(c.pending[s]))
		for i, p := range c.pending[s] {
			v, err := jsonschema.UnmarshalJSON(bytes.NewReader(p.raw))
			if err != nil {
				return &LoadError{Pointer: p.location, Err: err}
			}
			list[i] = v
		}
		root[schemaKey] = list
		t := &transformer{is30: c.is30, side: side(s), root: root, seen: map[uintptr]bool{}, denied: c.denied, url: side(s).url()}
		if comps, ok := root["components"].(map[string]any); ok {
			if schemas, ok := comps["schemas"].(map[string]any); ok {
				for name, v := range schemas {
					schemas[name] = t.walk(v, "#/components/schemas/"+escape(name))
				}
			}
		}
		for i := range list {
			list[i] = t.walk(list[i], fmt.Sprintf("#/%s/%d", schemaKey, i))
		}

		jc := jsonschema.NewCompiler()
		jc.DefaultDraft(jsonschema.Draft2020)
		jc.AssertFormat()
		for _, f := range formats() {
			jc.RegisterFormat(f)
		}
		if err := jc.AddResource(side(s).url(), root); err != nil {
			return err
		}
		miniFormats := map[string]*jsonschema.Schema{}
		fc := &fastCompiler{root: root, url: side(s).url(), denied: c.denied, memo: map[string]*fastNode{},
			formats: func(name string) *jsonschema.Schema {
				if f, ok := miniFormats[name]; ok {
					return f
				}
				u := "urn:portico:openapi:format:" + name
				var f *jsonschema.Schema
				if jc.AddResource(u, map[string]any{"format": name}) == nil {
					f, _ = jc.Compile(u)
				}
				miniFormats[name] = f
				return f
			}}
		for i, p := range c.pending[s] {
			loc := fmt.Sprintf("#/%s/%d", schemaKey, i)
			sch, err := jc.Compile(side(s).url() + loc)
			if err != nil {
				return &LoadError{Pointer: p.location, Err: errors.New(strings.ReplaceAll(err.Error(), side(s).url(), ""))}
			}
			ck := &check{full: sch}
			if fast, ok := fc.compile(list[i], loc); ok {
				ck.fast = fast
			}
			// A failed attempt leaves half-built nodes in the memo; drop them.
			if ck.fast == nil {
				fc.memo = map[string]*fastNode{}
			}
			*p.target = ck
		}
	}
	return nil
}

// transformer rewrites one document copy in place.
type transformer struct {
	is30   bool
	side   side
	root   map[string]any
	seen   map[uintptr]bool
	denied map[string]string
	url    string
}

// walk rewrites the schema v found at loc and returns its replacement.
func (t *transformer) walk(v any, loc string) any {
	m, ok := v.(map[string]any)
	if !ok {
		return v
	}
	id := reflect.ValueOf(m).Pointer()
	if t.seen[id] {
		return m
	}
	t.seen[id] = true

	if props, ok := m["properties"].(map[string]any); ok {
		for name, p := range props {
			ploc := loc + "/properties/" + escape(name)
			if t.denies(p) {
				props[name] = false
				m["required"] = without(m["required"], name)
				if t.side == request {
					t.denied[t.url+ploc] = "is read-only and must not be sent"
				} else {
					t.denied[t.url+ploc] = "is write-only and must not be returned"
				}
				continue
			}
			props[name] = t.walk(p, ploc)
		}
	}
	for _, kw := range []string{"items", "additionalProperties", "not", "if", "then", "else", "contains", "propertyNames", "unevaluatedProperties", "unevaluatedItems"} {
		if sub, ok := m[kw]; ok {
			m[kw] = t.walk(sub, loc+"/"+kw)
		}
	}
	for _, kw := range []string{"allOf", "anyOf", "oneOf", "prefixItems"} {
		if list, ok := m[kw].([]any); ok {
			for i := range list {
				list[i] = t.walk(list[i], fmt.Sprintf("%s/%s/%d", loc, kw, i))
			}
		}
	}
	for _, kw := range []string{"patternProperties", "$defs", "dependentSchemas"} {
		if mm, ok := m[kw].(map[string]any); ok {
			for k, sub := range mm {
				mm[k] = t.walk(sub, loc+"/"+kw+"/"+escape(k))
			}
		}
	}
	t.discriminate(m)
	if t.is30 {
		return t.upgrade30(m)
	}
	return m
}

// denies reports whether the property schema p is readOnly (request side)
// or writeOnly (response side), following local $refs.
func (t *transformer) denies(p any) bool {
	key := "readOnly"
	if t.side == response {
		key = "writeOnly"
	}
	for range 16 {
		m, ok := p.(map[string]any)
		if !ok {
			return false
		}
		if b, _ := m[key].(bool); b {
			return true
		}
		ref, ok := m["$ref"].(string)
		if !ok || !strings.HasPrefix(ref, "#/") {
			return false
		}
		p = lookup(t.root, ref[1:])
	}
	return false
}

// upgrade30 rewrites the OpenAPI 3.0 keywords that JSON Schema 2020-12
// spells differently.
func (t *transformer) upgrade30(m map[string]any) any {
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
		return m
	}
	if enum, ok := m["enum"].([]any); ok && !slices.Contains(enum, any(nil)) {
		m["enum"] = append(enum, nil)
	}
	switch typ := m["type"].(type) {
	case string:
		m["type"] = []any{typ, "null"}
		return m
	case nil:
		// nullable next to allOf/oneOf/$ref: null or the schema.
		w := map[string]any{"anyOf": []any{map[string]any{"type": "null"}, m}}
		for _, k := range []string{"readOnly", "writeOnly"} {
			if b, _ := m[k].(bool); b {
				w[k] = true
			}
		}
		return w
	}
	return m
}

// discriminate turns oneOf/anyOf with a discriminator into a dispatch on
// the discriminator property, so a failing value is reported against the
// one schema it names rather than against every alternative.
func (t *transformer) discriminate(m map[string]any) {
	d, ok := m["discriminator"].(map[string]any)
	if !ok {
		return
	}
	prop, _ := d["propertyName"].(string)
	kw := "oneOf"
	alts, ok := m[kw].([]any)
	if !ok {
		kw = "anyOf"
		if alts, ok = m[kw].([]any); !ok || prop == "" {
			return
		}
	}
	type pair struct{ value, ref string }
	var pairs []pair
	mapped := map[string]bool{}
	if mapping, ok := d["mapping"].(map[string]any); ok {
		for v, r := range mapping {
			ref, _ := r.(string)
			if !strings.Contains(ref, "/") && !strings.Contains(ref, "#") {
				ref = "#/components/schemas/" + ref
			}
			pairs = append(pairs, pair{v, ref})
			mapped[ref] = true
		}
	}
	for _, a := range alts {
		am, _ := a.(map[string]any)
		ref, _ := am["$ref"].(string)
		if ref == "" {
			if len(pairs) == 0 {
				return // inline alternatives without a mapping: keep plain oneOf
			}
			continue
		}
		if !mapped[ref] {
			pairs = append(pairs, pair{ref[strings.LastIndex(ref, "/")+1:], ref})
		}
	}
	slices.SortFunc(pairs, func(a, b pair) int { return strings.Compare(a.value, b.value) })
	values := make([]any, len(pairs))
	dispatch := make([]any, 0, len(pairs)+1)
	for i, p := range pairs {
		values[i] = p.value
	}
	dispatch = append(dispatch, map[string]any{
		"required":   []any{prop},
		"properties": map[string]any{prop: map[string]any{"enum": values}},
	})
	for _, p := range pairs {
		dispatch = append(dispatch, map[string]any{
			"if":   map[string]any{"required": []any{prop}, "properties": map[string]any{prop: map[string]any{"const": p.value}}},
			"then": map[string]any{"$ref": p.ref},
		})
	}
	delete(m, kw)
	if all, ok := m["allOf"].([]any); ok {
		m["allOf"] = append(all, dispatch...)
	} else {
		m["allOf"] = dispatch
	}
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

// lookup resolves a JSON pointer (without the leading '#') in doc.
func lookup(doc any, ptr string) any {
	if ptr == "" {
		return doc
	}
	for tok := range strings.SplitSeq(strings.TrimPrefix(ptr, "/"), "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		m, ok := doc.(map[string]any)
		if !ok {
			return nil
		}
		doc = m[tok]
	}
	return doc
}

// escape escapes one JSON pointer token.
func escape(tok string) string {
	return strings.ReplaceAll(strings.ReplaceAll(tok, "~", "~0"), "/", "~1")
}

// formats are the OpenAPI formats that JSON Schema does not define.
func formats() []*jsonschema.Format {
	return []*jsonschema.Format{
		{Name: "int32", Validate: intRange(math.MinInt32, math.MaxInt32)},
		{Name: "int64", Validate: intRange(math.MinInt64, math.MaxInt64)},
		{Name: "float", Validate: func(any) error { return nil }},
		{Name: "double", Validate: func(any) error { return nil }},
		{Name: "binary", Validate: func(any) error { return nil }},
		{Name: "password", Validate: func(any) error { return nil }},
		{Name: "byte", Validate: func(v any) error {
			s, ok := v.(string)
			if !ok {
				return nil
			}
			if _, err := base64.StdEncoding.DecodeString(s); err != nil {
				return errors.New("not base64 encoded")
			}
			return nil
		}},
	}
}

func intRange(lo, hi int64) func(any) error {
	min, max := big.NewRat(lo, 1), big.NewRat(hi, 1)
	return func(v any) error {
		n, ok := v.(json.Number)
		if !ok {
			return nil
		}
		if i, err := strconv.ParseInt(string(n), 10, 64); err == nil {
			if i < lo || i > hi {
				return fmt.Errorf("out of range [%d, %d]", lo, hi)
			}
			return nil
		}
		r, ok := new(big.Rat).SetString(string(n))
		if !ok || !r.IsInt() {
			return nil // not an integer: the type keyword reports it
		}
		if r.Cmp(min) < 0 || r.Cmp(max) > 0 {
			return fmt.Errorf("out of range [%d, %d]", lo, hi)
		}
		return nil
	}
}
