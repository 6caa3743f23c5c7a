package openapi

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// side says whether a schema describes what a client sends (readOnly
// properties are refused) or what a server answers (writeOnly are refused).
type side int

const (
	request side = iota
	response
)

// compiler turns every schema of a document into a JSON Schema 2020-12
// validator, once. The schemas are compiled where they are written in the
// bundled document, from its decoded tree, so keyword values keep their
// exact JSON form (numbers as written, const null, empty enums). OpenAPI
// 3.0 schemas are first rewritten into their 2020-12 equivalent (nullable,
// boolean exclusive bounds, $ref siblings dropped), so both versions are
// validated by the same engine at the same speed.
type compiler struct {
	is30      bool
	doc       map[string]any // the bundled document; never modified
	url       string         // the document's URI
	parseOnly bool           // the document was given as bytes
	positions []string       // pointers of every schema position
	pending   [2][]pendingSchema
	notes     [2]*schemaNotes
	loose     bool // WithLooseNullable
}

type pendingSchema struct {
	location string // JSON pointer of the schema in the bundled document
	target   **check
}

func newCompiler(b *bundler, cfg loadConfig) *compiler {
	c := &compiler{is30: b.is30, doc: b.doc, url: b.fileURL(b.root).String(), parseOnly: b.read == nil, positions: b.schemas, loose: cfg.looseNullable}
	for s := range c.notes {
		c.notes[s] = &schemaNotes{denied: map[string]string{}, discrim: map[string]*discriminator{}}
	}
	return c
}

// add queues the schema at location (a JSON pointer into the bundled
// document) for compilation; *target is set by compile.
func (c *compiler) add(s side, location string, target **check) {
	c.pending[s] = append(c.pending[s], pendingSchema{location: location, target: target})
}

func (c *compiler) compile() error {
	for s := range c.pending {
		if len(c.pending[s]) == 0 {
			continue
		}
		if err := c.compileSide(side(s)); err != nil {
			return err
		}
	}
	return nil
}

func (c *compiler) compileSide(s side) error {
	root := deepCopy(c.doc).(map[string]any)
	docURL, _ := url.Parse(c.url)
	res := newResolver(root, docURL, c.positions, c.is30)
	t := &transformer{is30: c.is30, side: s, root: root, url: c.url, res: res, seen: map[uintptr]bool{}, notes: c.notes[s], loose: c.loose}
	for _, p := range c.positions {
		t.walk(lookup(root, p), p)
	}
	jc := jsonschema.NewCompiler()
	jc.DefaultDraft(jsonschema.Draft2020)
	jc.AssertFormat()
	for _, f := range formats() {
		jc.RegisterFormat(f)
	}
	jc.RegisterVocabulary(positionsVocabulary())
	jc.UseLoader(refuser{parseOnly: c.parseOnly})
	if err := jc.AddResource(c.url, root); err != nil {
		return err
	}
	fc := newFastCompiler(root, c.url, res, c.notes[s].denied, jc)
	shapes := &shaper{memo: map[*jsonschema.Schema]*shape{}}
	for _, p := range c.pending[s] {
		sch, err := jc.Compile(c.url + "#" + p.location)
		if err != nil {
			return &LoadError{Pointer: p.location, Err: errors.New(strings.ReplaceAll(err.Error(), c.url, ""))}
		}
		ck := &check{full: sch, notes: c.notes[s], shape: shapes.of(sch)}
		if fast, ok := fc.compile(lookup(root, p.location), p.location); ok {
			ck.fast = fast
		}
		// A failed attempt leaves half-built nodes in the memo; drop them.
		if ck.fast == nil {
			fc.memo = map[string]*fastNode{}
		}
		*p.target = ck
	}
	return nil
}

// escapeFragment writes a JSON pointer as a URI fragment, the way the
// engine writes the locations of its errors.
func escapeFragment(ptr string) string {
	var b strings.Builder
	for i, tok := range strings.Split(ptr, "/") {
		if i > 0 {
			b.WriteByte('/')
		}
		b.WriteString(url.PathEscape(tok))
	}
	return b.String()
}

// refuser is the engine's loader: every schema is in the document, so a
// reference the document does not resolve is refused, saying why.
type refuser struct{ parseOnly bool }

func (r refuser) Load(ref string) (any, error) {
	u, err := url.Parse(ref)
	switch {
	case err != nil || u.Scheme != "file" || u.Host != "":
		return nil, fmt.Errorf("reference %q is not a local file and no schema of the document has this $id: only relative references to files are followed", ref)
	case r.parseOnly:
		return nil, fmt.Errorf("reference %q needs a file system: use LoadFile or LoadFS for multi-file specs", strings.TrimPrefix(u.Path, "/"))
	}
	return nil, fmt.Errorf("reference %q: no such file, and no schema of the document has this $id", strings.TrimPrefix(u.Path, "/"))
}

// positionsVocabulary tells the engine where an OpenAPI document holds
// schemas, so the $id and $anchor they declare are known before any
// reference to them is resolved. It adds no keyword.
func positionsVocabulary() *jsonschema.Vocabulary {
	all, list := jsonschema.AllProp{}, jsonschema.AllItem{}
	p := func(name string) jsonschema.Position { return jsonschema.Prop(name) }
	param := [][]jsonschema.Position{{p("schema")}, {p("content"), all, p("schema")}}
	media := []jsonschema.Position{p("content"), all, p("schema")}
	var paths []jsonschema.SchemaPath
	add := func(parts ...[]jsonschema.Position) {
		var sp jsonschema.SchemaPath
		for _, part := range parts {
			sp = append(sp, part...)
		}
		paths = append(paths, sp)
	}
	for _, item := range [][]jsonschema.Position{{p("paths"), all}, {p("webhooks"), all}, {p("components"), p("pathItems"), all}} {
		op := append(slices.Clone(item), all)
		for _, pp := range param {
			add(item, []jsonschema.Position{p("parameters"), list}, pp)
			add(op, []jsonschema.Position{p("parameters"), list}, pp)
			add(op, []jsonschema.Position{p("responses"), all, p("headers"), all}, pp)
		}
		add(op, []jsonschema.Position{p("requestBody")}, media)
		add(op, []jsonschema.Position{p("responses"), all}, media)
	}
	comps := func(kind string, rest ...jsonschema.Position) []jsonschema.Position {
		return append([]jsonschema.Position{p("components"), p(kind), all}, rest...)
	}
	add(comps("schemas"))
	add(comps("requestBodies"), media)
	add(comps("responses"), media)
	for _, pp := range param {
		add(comps("parameters"), pp)
		add(comps("headers"), pp)
		add(comps("responses", p("headers"), all), pp)
	}
	return &jsonschema.Vocabulary{
		URL:        "urn:portico:openapi:vocab:positions",
		Subschemas: paths,
		Compile:    func(*jsonschema.CompilerContext, map[string]any) (jsonschema.SchemaExt, error) { return nil, nil },
	}
}

// lookup resolves a JSON pointer (without the leading '#') in doc; nil
// when nothing is there.
func lookup(doc any, ptr string) any {
	if ptr == "" {
		return doc
	}
	for tok := range strings.SplitSeq(strings.TrimPrefix(ptr, "/"), "/") {
		switch x := doc.(type) {
		case map[string]any:
			doc = x[unescape(tok)]
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(x) {
				return nil
			}
			doc = x[i]
		default:
			return nil
		}
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
