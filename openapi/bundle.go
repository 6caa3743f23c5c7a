package openapi

import (
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"path"
	"regexp"
	"slices"
	"strings"
)

// bundler makes one self-contained document of a spec split over files,
// from the trees the files decode to: every object another file holds is
// copied into the root document's components and its reference rewritten
// to point there. References between schemas that name a schema by its
// $id or $anchor are left as written: they are resolved when the schemas
// are compiled. While walking, the bundler records where every schema of
// the document is.
type bundler struct {
	read  func(name string) ([]byte, error) // nil: the document stands alone
	root  string                            // path of the root document
	is30  bool
	doc   map[string]any
	files map[string]any    // decoded files other than the root, by path
	names map[string]string // kind, file and pointer of a copied object -> its name
	// schemas are the JSON pointers of the schema positions of doc.
	schemas []string
}

// componentName matches what a component name may not hold.
var componentName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

func newBundler(doc map[string]any, root string, read func(string) ([]byte, error), is30 bool) *bundler {
	return &bundler{read: read, root: root, is30: is30, doc: doc, files: map[string]any{}, names: map[string]string{}}
}

// bundle walks the whole document.
func (b *bundler) bundle() error {
	if paths, ok := b.doc["paths"].(map[string]any); ok {
		for _, k := range sortedKeys(paths) {
			v, err := b.pathItem(paths[k], "/paths/"+escape(k), b.root)
			if err != nil {
				return err
			}
			paths[k] = v
		}
	}
	if hooks, ok := b.doc["webhooks"].(map[string]any); ok {
		for _, k := range sortedKeys(hooks) {
			v, err := b.pathItem(hooks[k], "/webhooks/"+escape(k), b.root)
			if err != nil {
				return err
			}
			hooks[k] = v
		}
	}
	comps, ok := b.doc["components"].(map[string]any)
	if !ok {
		return nil
	}
	for _, kind := range []string{"schemas", "parameters", "headers", "requestBodies", "responses", "callbacks", "pathItems", "examples", "links", "securitySchemes"} {
		section, ok := comps[kind].(map[string]any)
		if !ok {
			continue
		}
		for _, name := range sortedKeys(section) {
			ptr := "/components/" + kind + "/" + escape(name)
			if kind == "schemas" {
				if err := b.schema(section[name], ptr, b.root); err != nil {
					return err
				}
				continue
			}
			if err := b.component(kind, section[name], ptr, b.root); err != nil {
				return err
			}
		}
	}
	return nil
}

// walker returns the function that walks an object of kind.
func (b *bundler) walker(kind string) func(m map[string]any, ptr, file string) error {
	switch kind {
	case "parameters", "headers":
		return b.parameter
	case "requestBodies":
		return b.requestBody
	case "responses":
		return b.response
	case "callbacks":
		return b.callback
	case "pathItems":
		return func(m map[string]any, ptr, file string) error {
			_, err := b.pathItem(m, ptr, file)
			return err
		}
	}
	return func(map[string]any, string, string) error { return nil }
}

// component walks v, an object of kind written at ptr in file, or the
// object its reference names.
func (b *bundler) component(kind string, v any, ptr, file string) error {
	m, ok := v.(map[string]any)
	if !ok {
		return nil
	}
	if ref, ok := m["$ref"].(string); ok {
		target, err := b.internalize(kind, ref, file)
		if err != nil {
			return &LoadError{Pointer: ptr + "/$ref", Err: err}
		}
		m["$ref"] = target
		return nil
	}
	return b.walker(kind)(m, ptr, file)
}

// internalize returns the local reference that stands for ref, written in
// file: a reference within the root document is kept, an object of another
// file is copied into the components (once) and walked there.
func (b *bundler) internalize(kind, ref, file string) (string, error) {
	target, frag, err := b.resolveFile(ref, file)
	if err != nil {
		return "", err
	}
	if target == b.root {
		return "#" + frag, nil
	}
	key := kind + "\x00" + target + "#" + frag
	if name, ok := b.names[key]; ok {
		return "#/components/" + kind + "/" + escape(name), nil
	}
	tree, err := b.file(target)
	if err != nil {
		return "", err
	}
	v := lookup(tree, frag)
	if v == nil {
		return "", fmt.Errorf("reference %q: %s has nothing at %q", ref, target, frag)
	}
	name := b.name(kind, target, frag)
	b.names[key] = name
	v = deepCopy(v)
	b.section(kind)[name] = v
	ptr := "/components/" + kind + "/" + escape(name)
	if kind == "schemas" {
		err = b.schema(v, ptr, target)
	} else {
		err = b.component(kind, v, ptr, target)
	}
	return "#" + ptr, err
}

// name picks the component name for the object at frag in file: its last
// pointer token, else the file's name, made unique.
func (b *bundler) name(kind, file, frag string) string {
	base := frag[strings.LastIndex(frag, "/")+1:]
	base = strings.ReplaceAll(strings.ReplaceAll(base, "~1", "/"), "~0", "~")
	if base == "" {
		base = strings.TrimSuffix(path.Base(file), path.Ext(file))
	}
	base = componentName.ReplaceAllString(base, "_")
	section := b.section(kind)
	name := base
	for i := 2; section[name] != nil; i++ {
		name = fmt.Sprintf("%s_%d", base, i)
	}
	return name
}

func (b *bundler) section(kind string) map[string]any {
	comps, ok := b.doc["components"].(map[string]any)
	if !ok {
		comps = map[string]any{}
		b.doc["components"] = comps
	}
	section, ok := comps[kind].(map[string]any)
	if !ok {
		section = map[string]any{}
		comps[kind] = section
	}
	return section
}

// exists reports whether the file at p can be read.
func (b *bundler) exists(p string) bool {
	if b.read == nil {
		return false
	}
	if _, ok := b.files[p]; ok {
		return true
	}
	_, err := b.read(p)
	return !errors.Is(err, fs.ErrNotExist)
}

// file returns the decoded tree of the file at p.
func (b *bundler) file(p string) (any, error) {
	if t, ok := b.files[p]; ok {
		return t, nil
	}
	data, err := b.read(p)
	if err != nil {
		return nil, err
	}
	t, err := readTree(data)
	if err != nil {
		return nil, &LoadError{Source: p, Err: err}
	}
	b.files[p] = t
	return t, nil
}

func (b *bundler) fileURL(p string) *url.URL { return &url.URL{Scheme: "file", Path: "/" + p} }

// resolveFile resolves a Reference Object's ref, written in file, to the
// file it names and the JSON pointer inside it.
func (b *bundler) resolveFile(ref, file string) (string, string, error) {
	u, err := url.Parse(ref)
	if err != nil {
		return "", "", fmt.Errorf("reference %q: %w", ref, err)
	}
	abs := b.fileURL(file).ResolveReference(u)
	if abs.Scheme != "file" || abs.Host != "" {
		return "", "", fmt.Errorf("reference %q is not a local file: only relative references are followed", ref)
	}
	return b.localFile(ref, abs)
}

// localFile checks that abs, a file URL, names a file the loader may read.
func (b *bundler) localFile(ref string, abs *url.URL) (string, string, error) {
	target := strings.TrimPrefix(abs.Path, "/")
	frag := abs.Fragment
	if frag != "" && !strings.HasPrefix(frag, "/") {
		return "", "", fmt.Errorf("reference %q: the fragment must be a JSON pointer", ref)
	}
	if target == b.root {
		return target, frag, nil
	}
	if b.read == nil {
		return "", "", fmt.Errorf("reference %q needs a file system: use LoadFile or LoadFS for multi-file specs", ref)
	}
	return target, frag, nil
}

func (b *bundler) pathItem(v any, ptr, file string) (any, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return v, nil
	}
	if ref, ok := m["$ref"].(string); ok {
		// A path item of another file is copied in place: OpenAPI 3.0 has
		// no components section for path items.
		target, frag, err := b.resolveFile(ref, file)
		if err != nil {
			return nil, &LoadError{Pointer: ptr + "/$ref", Err: err}
		}
		if target == b.root && file == b.root {
			return m, nil
		}
		tree := any(b.doc)
		if target != b.root {
			if tree, err = b.file(target); err != nil {
				return nil, err
			}
		}
		item, ok := lookup(tree, frag).(map[string]any)
		if !ok {
			return nil, &LoadError{Pointer: ptr + "/$ref", Err: fmt.Errorf("reference %q names no path item", ref)}
		}
		return b.pathItem(deepCopy(item), ptr, target)
	}
	if err := b.parameters(m, ptr, file); err != nil {
		return nil, err
	}
	for _, method := range []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"} {
		if op, ok := m[method].(map[string]any); ok {
			if err := b.operation(op, ptr+"/"+method, file); err != nil {
				return nil, err
			}
		}
	}
	return m, nil
}

func (b *bundler) parameters(m map[string]any, ptr, file string) error {
	list, _ := m["parameters"].([]any)
	for i, p := range list {
		if err := b.component("parameters", p, fmt.Sprintf("%s/parameters/%d", ptr, i), file); err != nil {
			return err
		}
	}
	return nil
}

func (b *bundler) operation(op map[string]any, ptr, file string) error {
	if err := b.parameters(op, ptr, file); err != nil {
		return err
	}
	if err := b.component("requestBodies", op["requestBody"], ptr+"/requestBody", file); err != nil {
		return err
	}
	if err := b.each("responses", op["responses"], ptr+"/responses", file); err != nil {
		return err
	}
	return b.each("callbacks", op["callbacks"], ptr+"/callbacks", file)
}

// each walks every member of the map v as an object of kind.
func (b *bundler) each(kind string, v any, ptr, file string) error {
	m, ok := v.(map[string]any)
	if !ok {
		return nil
	}
	for _, k := range sortedKeys(m) {
		if err := b.component(kind, m[k], ptr+"/"+escape(k), file); err != nil {
			return err
		}
	}
	return nil
}

func (b *bundler) callback(m map[string]any, ptr, file string) error {
	for _, k := range sortedKeys(m) {
		v, err := b.pathItem(m[k], ptr+"/"+escape(k), file)
		if err != nil {
			return err
		}
		m[k] = v
	}
	return nil
}

// parameter walks a parameter or a header.
func (b *bundler) parameter(m map[string]any, ptr, file string) error {
	if s, ok := m["schema"]; ok {
		if err := b.schema(s, ptr+"/schema", file); err != nil {
			return err
		}
	}
	if err := b.content(m["content"], ptr+"/content", file); err != nil {
		return err
	}
	return b.each("examples", m["examples"], ptr+"/examples", file)
}

func (b *bundler) requestBody(m map[string]any, ptr, file string) error {
	return b.content(m["content"], ptr+"/content", file)
}

func (b *bundler) response(m map[string]any, ptr, file string) error {
	if err := b.each("headers", m["headers"], ptr+"/headers", file); err != nil {
		return err
	}
	if err := b.content(m["content"], ptr+"/content", file); err != nil {
		return err
	}
	return b.each("links", m["links"], ptr+"/links", file)
}

func (b *bundler) content(v any, ptr, file string) error {
	content, ok := v.(map[string]any)
	if !ok {
		return nil
	}
	for _, mt := range sortedKeys(content) {
		m, ok := content[mt].(map[string]any)
		if !ok {
			continue
		}
		mptr := ptr + "/" + escape(mt)
		if s, ok := m["schema"]; ok {
			if err := b.schema(s, mptr+"/schema", file); err != nil {
				return err
			}
		}
		if err := b.each("examples", m["examples"], mptr+"/examples", file); err != nil {
			return err
		}
		enc, _ := m["encoding"].(map[string]any)
		for _, k := range sortedKeys(enc) {
			if e, ok := enc[k].(map[string]any); ok {
				if err := b.each("headers", e["headers"], mptr+"/encoding/"+escape(k)+"/headers", file); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// schema records the schema position ptr and rewrites the references of
// the schema v, written in file, that lead to other files.
func (b *bundler) schema(v any, ptr, file string) error {
	b.schemas = append(b.schemas, ptr)
	return b.subschema(v, ptr, file, false)
}

// subschema rewrites the references of v that lead to other files. Under
// an $id (scoped), references belong to JSON Schema's resolution and are
// left for the compiler.
func (b *bundler) subschema(v any, ptr, file string, scoped bool) error {
	m, ok := v.(map[string]any)
	if !ok {
		return nil
	}
	if _, ok := m["$id"].(string); ok && !b.is30 {
		scoped = true
	}
	if ref, ok := m["$ref"].(string); ok && !scoped {
		target, err := b.schemaRef(ref, file)
		if err != nil {
			return &LoadError{Pointer: ptr + "/$ref", Err: err}
		}
		m["$ref"] = target
	}
	if _, ok := m["$ref"]; ok && b.is30 {
		return nil // siblings of a $ref mean nothing in OpenAPI 3.0
	}
	if d, ok := m["discriminator"].(map[string]any); ok && !scoped {
		mapping, _ := d["mapping"].(map[string]any)
		for _, k := range sortedKeys(mapping) {
			ref, ok := mapping[k].(string)
			if !ok || !strings.ContainsAny(ref, "/#") {
				continue // a component name
			}
			target, err := b.schemaRef(ref, file)
			if err != nil {
				return &LoadError{Pointer: ptr + "/discriminator/mapping/" + escape(k), Err: err}
			}
			mapping[k] = target
		}
	}
	return forSubschemas(m, ptr, func(sub any, sptr string) error {
		return b.subschema(sub, sptr, file, scoped)
	})
}

// schemaRef rewrites a schema reference written in file: a reference into
// another file becomes one to its copy in the components; a reference
// within the root document, by $id or to a remote resource is kept.
func (b *bundler) schemaRef(ref, file string) (string, error) {
	u, err := url.Parse(ref)
	if err != nil {
		return "", fmt.Errorf("reference %q: %w", ref, err)
	}
	abs := b.fileURL(file).ResolveReference(u)
	if abs.Scheme != "file" || abs.Host != "" {
		return ref, nil // an $id, or remote: the compiler resolves or refuses it
	}
	target := strings.TrimPrefix(abs.Path, "/")
	if target == b.root && file == b.root {
		return ref, nil
	}
	if !b.is30 && target != b.root && !b.exists(target) {
		// Maybe the $id of a schema of the document ("name.json"): the
		// engine resolves it, or says it is neither an $id nor a file.
		return ref, nil
	}
	if abs.Fragment != "" && !strings.HasPrefix(abs.Fragment, "/") {
		return "", fmt.Errorf("reference %q: an anchor in another file cannot be followed: use a JSON pointer", ref)
	}
	return b.internalize("schemas", ref, file)
}

// subschemaKeywords are the keywords whose value is a schema, a list of
// schemas or a map of schemas.
var (
	oneSchema   = []string{"items", "additionalProperties", "not", "if", "then", "else", "contains", "propertyNames", "unevaluatedItems", "unevaluatedProperties", "contentSchema", "additionalItems"}
	listSchemas = []string{"allOf", "anyOf", "oneOf", "prefixItems"}
	mapSchemas  = []string{"properties", "patternProperties", "$defs", "definitions", "dependentSchemas"}
)

// forSubschemas calls fn for every direct subschema of m, in a stable
// order, and stops at the first error.
func forSubschemas(m map[string]any, ptr string, fn func(sub any, ptr string) error) error {
	for _, kw := range oneSchema {
		sub, ok := m[kw]
		if !ok {
			continue
		}
		if list, ok := sub.([]any); ok && kw == "items" {
			for i, s := range list {
				if err := fn(s, fmt.Sprintf("%s/items/%d", ptr, i)); err != nil {
					return err
				}
			}
			continue
		}
		if err := fn(sub, ptr+"/"+kw); err != nil {
			return err
		}
	}
	for _, kw := range listSchemas {
		list, _ := m[kw].([]any)
		for i, s := range list {
			if err := fn(s, fmt.Sprintf("%s/%s/%d", ptr, kw, i)); err != nil {
				return err
			}
		}
	}
	for _, kw := range mapSchemas {
		mm, _ := m[kw].(map[string]any)
		for _, k := range sortedKeys(mm) {
			if err := fn(mm[k], ptr+"/"+kw+"/"+escape(k)); err != nil {
				return err
			}
		}
	}
	return nil
}

// deepCopy copies a decoded tree; empty lists stay non-nil.
func deepCopy(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = deepCopy(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = deepCopy(e)
		}
		return out
	}
	return v
}

// sortedKeys returns the keys of m in order, so walks are deterministic.
func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
