package openapi

import (
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"slices"
	"sort"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
)

// Spec is a loaded, validated OpenAPI document with its operations indexed
// and its schemas compiled. It is immutable and safe for concurrent use.
type Spec struct {
	doc   *openapi3.T
	json  []byte
	ops   []*Operation
	index *index
	bases []string
}

// Document returns the kin-openapi model of the document, which describes
// its paths, operations, parameters, bodies, responses and security. Its
// schemas are not the ones validated: kin-openapi keeps numbers as
// float64, and a 3.1 document's schemas (JSON Schema 2020-12) appear as
// empty schemas. Read schemas from [Spec.JSON], which keeps them exactly as
// written. The document must not be modified.
func (s *Spec) Document() *openapi3.T { return s.doc }

// Version is the document's "openapi" field, such as "3.1.0".
func (s *Spec) Version() string { return s.doc.OpenAPI }

// Title is the document's info.title.
func (s *Spec) Title() string {
	if s.doc.Info == nil {
		return ""
	}
	return s.doc.Info.Title
}

// JSON returns the document, with references to other files inlined as
// components, encoded as JSON. Every value keeps the JSON form it was
// written in (numbers keep all their digits; a null const or an empty
// enum stays). The caller must not modify the slice.
func (s *Spec) JSON() []byte { return s.json }

// Operations returns every operation of the document, sorted by path
// template and then method. The slice is shared: do not modify it.
func (s *Spec) Operations() []*Operation { return s.ops }

// Operation returns the operation with the given operationId, or nil.
func (s *Spec) Operation(id string) *Operation {
	for _, op := range s.ops {
		if op.ID == id {
			return op
		}
	}
	return nil
}

// Operation is one method on one path of the document.
type Operation struct {
	// Method is the upper-case HTTP method.
	Method string
	// Path is the path template in OpenAPI form ("/pets/{id}"), which chi
	// accepts as a route pattern. It does not include the servers' base path.
	Path string
	// ID is the operationId, or "" when the document has none.
	ID string
	// Summary is the operation's summary.
	Summary string
	// Tags are the operation's tags.
	Tags []string
	// Deprecated is true when the document marks the operation deprecated,
	// so a gateway can announce it (Deprecation and Sunset headers).
	Deprecated bool
	// Servers are the server URLs that apply to the operation: its own, else
	// its path item's, else the document's.
	Servers []string
	// Extensions holds the operation's "x-" extensions as raw JSON, keyed by
	// their full name ("x-portico-ratelimit"). An x-portico-* extension set
	// on the document or on the path item is inherited, unless the
	// operation (or its path item) sets its own.
	Extensions map[string]json.RawMessage
	// Security lists the alternative security requirements (any one must
	// be met); each maps a security scheme name to the scopes it needs. An
	// empty requirement means anonymous access is allowed. Nil means none.
	Security []map[string][]string

	spec       *Spec
	challenges []string // WWW-Authenticate challenges for a 401
	tmpl       *pathTemplate
	params     []*param
	body       *body
	responses  map[string]*responseSpec
}

// Extension decodes the extension name (for example "x-portico-timeout")
// into v. It reports false when the operation does not have it.
func (o *Operation) Extension(name string, v any) (bool, error) {
	raw, ok := o.Extensions[name]
	if !ok {
		return false, nil
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return true, fmt.Errorf("portico/openapi: %s %s: extension %s: %w", o.Method, o.Path, name, err)
	}
	return true, nil
}

// String returns "METHOD /path".
func (o *Operation) String() string { return o.Method + " " + o.Path }

type param struct {
	name      string
	in        string
	style     string
	explode   bool
	required  bool
	allowEmpt bool
	json      bool // described by content application/json instead of a schema
	compiled  *check
}

// shape is the shape of the parameter's schema, or nil.
func (p *param) shape() *shape { return p.compiled.shapeOf() }

type body struct {
	required bool
	media    []*media
}

type media struct {
	typ      string // "application/json", "application/*", "*/*"
	kind     mediaKind
	compiled *check
}

type mediaKind int

const (
	kindOther mediaKind = iota
	kindJSON
	kindForm
	kindMultipart
	kindText
)

type responseSpec struct {
	media   []*media
	headers []*param
}

func kindOf(typ string) mediaKind {
	switch {
	case typ == "application/json" || strings.HasSuffix(typ, "+json"):
		return kindJSON
	case typ == "application/x-www-form-urlencoded":
		return kindForm
	case typ == "multipart/form-data":
		return kindMultipart
	case strings.HasPrefix(typ, "text/"):
		return kindText
	}
	return kindOther
}

func newSpec(doc *openapi3.T, b *bundler, cfg loadConfig) (*Spec, error) {
	raw, err := json.Marshal(b.doc)
	if err != nil {
		return nil, err
	}
	s := &Spec{doc: doc, json: raw, index: newIndex()}
	c := newCompiler(b, cfg)
	docServers := serverURLs(doc.Servers)
	s.bases = basePaths(doc.Servers)
	paths := doc.Paths.InMatchingOrder()
	sort.Strings(paths)
	for _, p := range paths {
		item := doc.Paths.Value(p)
		itemLoc := c.deref("/paths/" + escape(p))
		tmpl, err := parseTemplate(p)
		if err != nil {
			return nil, &LoadError{Pointer: "/paths/" + escape(p), Err: err}
		}
		itemServers := docServers
		if len(item.Servers) > 0 {
			itemServers = serverURLs(item.Servers)
			s.bases = appendUnique(s.bases, basePaths(item.Servers)...)
		}
		for _, m := range []string{http.MethodGet, http.MethodPut, http.MethodPost, http.MethodDelete, http.MethodOptions, http.MethodHead, http.MethodPatch, http.MethodTrace} {
			op := item.GetOperation(m)
			if op == nil {
				continue
			}
			loc := itemLoc + "/" + strings.ToLower(m)
			o := &Operation{
				Method: m, Path: p, ID: op.OperationID, Summary: op.Summary, Tags: op.Tags, Deprecated: op.Deprecated,
				Servers: itemServers, spec: s, tmpl: tmpl,
			}
			if op.Servers != nil && len(*op.Servers) > 0 {
				o.Servers = serverURLs(*op.Servers)
				s.bases = appendUnique(s.bases, basePaths(*op.Servers)...)
			}
			// Policies set on the document or the path item apply to every
			// operation below them; the operation's own win.
			if err := o.extensions(portico(doc.Extensions), portico(item.Extensions), op.Extensions); err != nil {
				return nil, &LoadError{Pointer: loc, Err: err}
			}
			security := doc.Security
			if op.Security != nil {
				security = *op.Security
			}
			for _, req := range security {
				o.Security = append(o.Security, map[string][]string(req))
				for name := range req {
					if c := challenge(doc, name); c != "" && !slices.Contains(o.challenges, c) {
						o.challenges = append(o.challenges, c)
					}
				}
			}
			slices.Sort(o.challenges)
			if err := o.prepare(c, item, op, loc); err != nil {
				return nil, err
			}
			s.ops = append(s.ops, o)
			s.index.add(tmpl, o)
		}
	}
	if err := c.compile(); err != nil {
		return nil, err
	}
	// Longest base path first; the bare path is always tried last, so a
	// gateway that strips the base path before validating still matches.
	s.bases = appendUnique(s.bases, "")
	sort.SliceStable(s.bases, func(i, j int) bool { return len(s.bases[i]) > len(s.bases[j]) })
	return s, nil
}

func (o *Operation) extensions(levels ...map[string]any) error {
	for _, ext := range levels {
		for k, v := range ext {
			if !strings.HasPrefix(k, "x-") {
				continue
			}
			raw, err := json.Marshal(v)
			if err != nil {
				return fmt.Errorf("extension %s: %w", k, err)
			}
			if o.Extensions == nil {
				o.Extensions = map[string]json.RawMessage{}
			}
			o.Extensions[k] = raw
		}
	}
	return nil
}

// portico keeps the x-portico-* extensions of a document or path item:
// those are the ones inherited by operations.
func portico(ext map[string]any) map[string]any {
	var out map[string]any
	for k, v := range ext {
		if strings.HasPrefix(k, "x-portico-") {
			if out == nil {
				out = map[string]any{}
			}
			out[k] = v
		}
	}
	return out
}

// prepare collects the parameters, body and responses of op, written at
// loc, and queues their schemas for compilation.
func (o *Operation) prepare(c *compiler, item *openapi3.PathItem, op *openapi3.Operation, loc string) error {
	seen := map[string]bool{}
	add := func(refs openapi3.Parameters, base string) error {
		for i, ref := range refs {
			p := ref.Value
			if p == nil || seen[p.In+" "+p.Name] {
				continue
			}
			seen[p.In+" "+p.Name] = true
			ploc := c.deref(fmt.Sprintf("%s/parameters/%d", base, i))
			pr, err := o.parameter(c, p, ploc)
			if err != nil {
				return err
			}
			o.params = append(o.params, pr)
		}
		return nil
	}
	if err := add(op.Parameters, loc); err != nil {
		return err
	}
	if err := add(item.Parameters, strings.TrimSuffix(loc, "/"+strings.ToLower(o.Method))); err != nil {
		return err
	}
	if rb := op.RequestBody; rb != nil && rb.Value != nil {
		bloc := c.deref(loc + "/requestBody")
		o.body = &body{required: rb.Value.Required}
		ms, err := mediaList(c, request, rb.Value.Content, bloc)
		if err != nil {
			return err
		}
		o.body.media = ms
	}
	if op.Responses == nil {
		return nil
	}
	o.responses = map[string]*responseSpec{}
	for code, rr := range op.Responses.Map() {
		if rr.Value == nil {
			continue
		}
		rs, err := prepareResponse(c, rr.Value, c.deref(loc+"/responses/"+escape(code)))
		if err != nil {
			return err
		}
		o.responses[strings.ToUpper(code)] = rs
	}
	return nil
}

// parameter prepares the parameter p, written at ploc.
func (o *Operation) parameter(c *compiler, p *openapi3.Parameter, ploc string) (*param, error) {
	pr := &param{name: p.Name, in: p.In, required: p.Required, allowEmpt: p.AllowEmptyValue}
	if p.In == openapi3.ParameterInHeader {
		pr.name = http.CanonicalHeaderKey(p.Name)
	}
	sm, err := p.SerializationMethod()
	if err != nil {
		return nil, &LoadError{Pointer: ploc, Err: err}
	}
	pr.style, pr.explode = sm.Style, sm.Explode
	if p.Schema != nil {
		c.add(request, ploc+"/schema", &pr.compiled)
		return pr, nil
	}
	for mt, m := range p.Content {
		if kindOf(mt) != kindJSON {
			return nil, &LoadError{Pointer: ploc + "/content", Err: fmt.Errorf("parameter content %q is not supported: use application/json or a schema", mt)}
		}
		pr.json = true
		if m.Schema != nil {
			c.add(request, ploc+"/content/"+escape(mt)+"/schema", &pr.compiled)
		}
	}
	return pr, nil
}

// prepareResponse prepares the response r, written at rloc.
func prepareResponse(c *compiler, r *openapi3.Response, rloc string) (*responseSpec, error) {
	ms, err := mediaList(c, response, r.Content, rloc)
	if err != nil {
		return nil, err
	}
	rs := &responseSpec{media: ms}
	names := make([]string, 0, len(r.Headers))
	for name := range r.Headers {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		h := r.Headers[name]
		// Content-Type is described by the content map, not here.
		if h.Value == nil || http.CanonicalHeaderKey(name) == "Content-Type" {
			continue
		}
		hp := &param{name: http.CanonicalHeaderKey(name), in: openapi3.ParameterInHeader, style: openapi3.SerializationSimple, required: h.Value.Required}
		if h.Value.Explode != nil {
			hp.explode = *h.Value.Explode
		}
		if h.Value.Schema != nil {
			c.add(response, c.deref(rloc+"/headers/"+escape(name))+"/schema", &hp.compiled)
		}
		rs.headers = append(rs.headers, hp)
	}
	return rs, nil
}

func mediaList(c *compiler, s side, content openapi3.Content, loc string) ([]*media, error) {
	keys := make([]string, 0, len(content))
	for k := range content {
		keys = append(keys, k)
	}
	// Exact types first, then type/*, then */*: the first match wins.
	sort.Slice(keys, func(i, j int) bool {
		wi, wj := strings.Count(keys[i], "*"), strings.Count(keys[j], "*")
		if wi != wj {
			return wi < wj
		}
		return keys[i] < keys[j]
	})
	var out []*media
	for _, k := range keys {
		mt, _, err := mime.ParseMediaType(k)
		if err != nil {
			return nil, &LoadError{Pointer: loc + "/content/" + escape(k), Err: fmt.Errorf("invalid media type: %w", err)}
		}
		m := &media{typ: mt, kind: kindOf(mt)}
		if content[k].Schema != nil {
			c.add(s, loc+"/content/"+escape(k)+"/schema", &m.compiled)
		}
		out = append(out, m)
	}
	return out, nil
}

// match returns the media entry that describes the concrete type mt.
func matchMedia(list []*media, mt string) *media {
	for _, m := range list {
		switch {
		case m.typ == mt, m.typ == "*/*":
			return m
		case strings.HasSuffix(m.typ, "/*") && strings.HasPrefix(mt, m.typ[:len(m.typ)-1]):
			return m
		}
	}
	return nil
}
