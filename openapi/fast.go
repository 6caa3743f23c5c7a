package openapi

import (
	"encoding/json"
	"math/big"
	"regexp"
	"strconv"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// check validates values against one compiled schema. Schemas that only
// use the common keywords (types, enum, const, properties, required,
// additionalProperties, items, lengths, bounds, pattern, format, $ref) run
// on a small tree walker that allocates nothing on success; any other
// schema runs on the full JSON Schema 2020-12 engine. Both report the same
// violations, with the same messages.
type check struct {
	fast  *fastNode
	full  *jsonschema.Schema
	notes *schemaNotes
	shape *shape
}

func (c *check) violations(v any, in, name string) []Violation {
	if c.fast != nil {
		w := walker{in: in, name: name}
		w.node(c.fast, v)
		if len(w.out) > 1 {
			sortViolations(w.out)
		}
		return w.out
	}
	if err := c.full.Validate(v); err != nil {
		return schemaViolations(err, v, in, name, c.notes)
	}
	return nil
}

// JSON types as bits, in the order the full engine names them.
const (
	tNull uint8 = 1 << iota
	tBoolean
	tNumber
	tInteger
	tString
	tArray
	tObject
)

type typeBit struct {
	bit  uint8
	name string
}

// typeNames lists the JSON types in the order the full engine names them.
func typeNames() [7]typeBit {
	return [7]typeBit{{tNull, "null"}, {tBoolean, "boolean"}, {tNumber, "number"}, {tInteger, "integer"}, {tString, "string"}, {tArray, "array"}, {tObject, "object"}}
}

type fastNode struct {
	never     bool   // false schema
	neverMsg  string // why (readOnly/writeOnly), or ""
	neverKw   string
	types     uint8
	typeNames []string
	hasConst  bool
	constant  any
	hasEnum   bool
	enum      []any
	format    *jsonschema.Schema
	formatN   string
	ref       *fastNode

	props      map[string]*fastNode
	required   []string
	addl       *fastNode
	addlFalse  bool
	minProps   int
	maxProps   int
	items      *fastNode
	minItems   int
	maxItems   int
	minLen     int
	maxLen     int
	pattern    *regexp.Regexp
	patternSrc string
	bounds     [4]*bound // minimum, maximum, exclusiveMinimum, exclusiveMaximum
}

type bound struct {
	rat *big.Rat
	f   float64
}

// fastCompiler builds fast nodes from a transformed document.
type fastCompiler struct {
	root    map[string]any
	url     string
	res     *resolver
	denied  map[string]string
	formats func(name string) *jsonschema.Schema
	memo    map[string]*fastNode
}

func newFastCompiler(root map[string]any, u string, res *resolver, denied map[string]string, jc *jsonschema.Compiler) *fastCompiler {
	formats := map[string]*jsonschema.Schema{}
	return &fastCompiler{root: root, url: u, res: res, denied: denied, memo: map[string]*fastNode{},
		formats: func(name string) *jsonschema.Schema {
			if f, ok := formats[name]; ok {
				return f
			}
			u := "urn:portico:openapi:format:" + name
			var f *jsonschema.Schema
			if jc.AddResource(u, map[string]any{"format": name}) == nil {
				f, _ = jc.Compile(u)
			}
			formats[name] = f
			return f
		}}
}

// isAnnotation reports whether keyword k does not constrain a value: the
// engine evaluates the keywords of JSON Schema (every draft it knows), and
// takes any other keyword (title, example, discriminator, x-..., or one
// the document made up) as an annotation.
func isAnnotation(k string) bool {
	switch k {
	case "$ref", "$dynamicRef", "$recursiveRef", "$id", "$anchor", "$dynamicAnchor", "$recursiveAnchor", "$schema", "$vocabulary",
		"type", "enum", "const", "multipleOf", "maximum", "exclusiveMaximum", "minimum", "exclusiveMinimum",
		"maxLength", "minLength", "pattern", "maxItems", "minItems", "uniqueItems", "maxContains", "minContains",
		"maxProperties", "minProperties", "required", "dependentRequired", "dependencies",
		"allOf", "anyOf", "oneOf", "not", "if", "then", "else", "dependentSchemas", "prefixItems", "items", "additionalItems",
		"contains", "properties", "patternProperties", "additionalProperties", "propertyNames",
		"unevaluatedItems", "unevaluatedProperties", "format":
		return false
	}
	return true
}

// compile returns the fast node for the schema at loc, or false when the
// schema needs the full engine.
func (fc *fastCompiler) compile(v any, loc string) (*fastNode, bool) {
	if n, ok := fc.memo[loc]; ok {
		return n, true
	}
	n := &fastNode{minProps: -1, maxProps: -1, minItems: -1, maxItems: -1, minLen: -1, maxLen: -1}
	fc.memo[loc] = n
	switch s := v.(type) {
	case bool:
		if !s {
			n.never = true
			if msg, ok := fc.denied[fc.url+"#"+escapeFragment(loc)]; ok {
				n.neverMsg, n.neverKw = msg, "readOnly"
				if strings.Contains(msg, "write-only") {
					n.neverKw = "writeOnly"
				}
			}
		}
		return n, true
	case map[string]any:
		for k, kv := range s {
			if isAnnotation(k) {
				continue
			}
			if !fc.keyword(n, s, k, kv, loc) {
				return nil, false
			}
		}
		return n, true
	}
	return nil, false
}

func (fc *fastCompiler) keyword(n *fastNode, s map[string]any, k string, v any, loc string) bool {
	var ok bool
	switch k {
	case "type":
		return n.setTypes(v)
	case "enum":
		n.enum, n.hasEnum = v.([]any)
		return n.hasEnum
	case "const":
		n.hasConst, n.constant = true, v
		return true
	case "format":
		if n.formatN, ok = v.(string); ok {
			n.format = fc.formats(n.formatN)
		}
		return ok
	case "$ref":
		ref, isStr := v.(string)
		return isStr && fc.ref(n, ref, loc)
	case "properties":
		props, isMap := v.(map[string]any)
		if !isMap {
			return false
		}
		n.props = make(map[string]*fastNode, len(props))
		for name, ps := range props {
			if n.props[name], ok = fc.compile(ps, loc+"/properties/"+escape(name)); !ok {
				return false
			}
		}
		return true
	case "required":
		list, isList := v.([]any)
		for _, x := range list {
			name, isStr := x.(string)
			if !isStr {
				return false
			}
			n.required = append(n.required, name)
		}
		return isList
	case "additionalProperties":
		if b, isBool := v.(bool); isBool {
			n.addlFalse = !b
			return true
		}
		n.addl, ok = fc.compile(v, loc+"/additionalProperties")
		return ok
	case "items":
		n.items, ok = fc.compile(v, loc+"/items")
		return ok
	case "minProperties":
		return intKw(v, &n.minProps)
	case "maxProperties":
		return intKw(v, &n.maxProps)
	case "minItems":
		return intKw(v, &n.minItems)
	case "maxItems":
		return intKw(v, &n.maxItems)
	case "minLength":
		return intKw(v, &n.minLen)
	case "maxLength":
		return intKw(v, &n.maxLen)
	case "pattern":
		src, isStr := v.(string)
		if !isStr {
			return false
		}
		re, err := regexp.Compile(src)
		if err != nil {
			return false // let the full engine report it
		}
		n.pattern, n.patternSrc = re, src
		return true
	case "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum":
		return n.bound(k, v)
	}
	return false
}

// ref compiles the target of a $ref to a JSON pointer of the document;
// references the engine must resolve (an $id, an anchor, a pointer inside
// a schema with an $id) make the schema the engine's.
func (fc *fastCompiler) ref(n *fastNode, ref, loc string) bool {
	if !strings.HasPrefix(ref, "#/") || fc.res.scoped(loc) {
		return false
	}
	ptr, resolved := fc.res.resolve(ref, loc)
	if !resolved || fc.res.scoped(ptr) {
		return false
	}
	target := lookup(fc.root, ptr)
	if target == nil {
		return false
	}
	var ok bool
	n.ref, ok = fc.compile(target, ptr)
	return ok
}

// bound sets the numeric bound k to v, kept exact.
func (n *fastNode) bound(k string, v any) bool {
	num, isNum := v.(json.Number)
	if !isNum {
		return false
	}
	r, ok := new(big.Rat).SetString(string(num))
	if !ok {
		return false
	}
	f, _ := r.Float64()
	i := 0
	switch k {
	case "maximum":
		i = 1
	case "exclusiveMinimum":
		i = 2
	case "exclusiveMaximum":
		i = 3
	}
	n.bounds[i] = &bound{rat: r, f: f}
	return true
}

// setTypes sets the types the type keyword's value v names.
func (n *fastNode) setTypes(v any) bool {
	var ok bool
	switch t := v.(type) {
	case string:
		ok = n.addType(t)
	case []any:
		ok = true
		for _, x := range t {
			name, isStr := x.(string)
			ok = ok && isStr && n.addType(name)
		}
	}
	for _, tn := range typeNames() {
		if n.types&tn.bit != 0 {
			n.typeNames = append(n.typeNames, tn.name)
		}
	}
	return ok
}

func (n *fastNode) addType(t string) bool {
	for _, tn := range typeNames() {
		if tn.name == t {
			n.types |= tn.bit
			return true
		}
	}
	return false
}

func intKw(v any, dst *int) bool {
	num, ok := v.(json.Number)
	if !ok {
		return false
	}
	i, err := strconv.Atoi(string(num))
	if err != nil || i < 0 {
		return false
	}
	*dst = i
	return true
}
