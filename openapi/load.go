package openapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
)

// LoadError reports a problem found in an OpenAPI document while loading it.
// Source names the file (empty for [Parse]) and Pointer the JSON pointer of the
// offending element when it is known.
type LoadError struct {
	Source  string
	Pointer string
	Err     error
}

// Error implements error.
func (e *LoadError) Error() string {
	var b strings.Builder
	b.WriteString("portico/openapi: ")
	if e.Source != "" {
		b.WriteString(e.Source)
		b.WriteString(": ")
	}
	if e.Pointer != "" {
		b.WriteString("at ")
		b.WriteString(e.Pointer)
		b.WriteString(": ")
	}
	b.WriteString(e.Err.Error())
	return b.String()
}

// Unwrap returns the underlying error.
func (e *LoadError) Unwrap() error { return e.Err }

// LoadOption changes how [LoadFile], [LoadFS] and [Parse] read a document.
type LoadOption interface {
	applyLoad(*loadConfig)
}

type loadOptionFunc func(*loadConfig)

func (f loadOptionFunc) applyLoad(c *loadConfig) { f(c) }

type loadConfig struct {
	looseNullable bool
}

func newLoadConfig(opts []LoadOption) loadConfig {
	var c loadConfig
	for _, o := range opts {
		if o != nil {
			o.applyLoad(&c)
		}
	}
	return c
}

// WithLooseNullable makes an OpenAPI 3.0 "nullable: true" admit null
// wherever it is written: beside allOf, oneOf, anyOf or a $ref as well as
// beside a type. Many 3.0 documents write a nullable reference that way
// ({$ref: ..., nullable: true}, or nullable beside allOf), and many tools
// accept it. By default, nullable takes effect only beside a type in the
// same schema, and is ignored beside a $ref, as the OpenAPI 3.0.3 text
// says. It changes nothing for 3.1 documents, which have no nullable.
func WithLooseNullable() LoadOption {
	return loadOptionFunc(func(c *loadConfig) { c.looseNullable = true })
}

// LoadFile loads the OpenAPI 3.0 or 3.1 document at name from the file
// system. Relative $refs to other local files are followed; references to
// remote URLs are refused.
func LoadFile(name string, opts ...LoadOption) (*Spec, error) {
	dir, base := filepath.Split(filepath.Clean(name))
	if dir == "" {
		dir = "."
	}
	root, err := filepath.Abs(dir)
	if err != nil {
		return nil, &LoadError{Source: name, Err: err}
	}
	s, err := LoadFS(os.DirFS(root), base, opts...)
	var le *LoadError
	if errors.As(err, &le) && le.Source != "" {
		le.Source = filepath.Join(dir, le.Source)
	}
	return s, err
}

// LoadFS loads the OpenAPI 3.0 or 3.1 document at name in fsys, so a spec can
// be embedded in the program with embed.FS. Relative $refs are resolved
// against name and read from fsys; nothing outside fsys is read.
func LoadFS(fsys fs.FS, name string, opts ...LoadOption) (*Spec, error) {
	name = path.Clean(name)
	data, err := fs.ReadFile(fsys, name)
	if err != nil {
		return nil, &LoadError{Source: name, Err: err}
	}
	read := func(p string) ([]byte, error) {
		if !fs.ValidPath(p) {
			return nil, fmt.Errorf("reference %q leaves the spec's file system", p)
		}
		return fs.ReadFile(fsys, p)
	}
	return load(data, name, read, name, newLoadConfig(opts))
}

// Parse loads an OpenAPI 3.0 or 3.1 document (JSON or YAML) held in memory.
// The document must be self-contained: references to other files are refused.
func Parse(data []byte, opts ...LoadOption) (*Spec, error) {
	return load(data, "openapi.json", nil, "", newLoadConfig(opts))
}

// load reads the document data, named root among the files read returns,
// bundles it, checks it and prepares everything requests need: the
// operation index and the compiled schemas. Errors name source.
func load(data []byte, root string, read func(string) ([]byte, error), source string, cfg loadConfig) (*Spec, error) {
	fail := func(err error) error {
		var le *LoadError
		if errors.As(err, &le) {
			if le.Source == "" {
				le.Source = source
			}
			return le
		}
		return &LoadError{Source: source, Err: err}
	}
	tree, err := readTree(data)
	if err != nil {
		return nil, fail(err)
	}
	doc, ok := tree.(map[string]any)
	if !ok {
		return nil, fail(errors.New("the document must be an object with an \"openapi\" version field"))
	}
	is30, err := version(doc)
	if err != nil {
		return nil, fail(err)
	}
	b := newBundler(doc, root, read, is30)
	if err := b.bundle(); err != nil {
		return nil, fail(err)
	}
	model, err := kinModel(b)
	if err != nil {
		return nil, fail(err)
	}
	s, err := newSpec(model, b, cfg)
	if err != nil {
		return nil, fail(err)
	}
	return s, nil
}

// version checks the document's "openapi" field and reports whether it is
// 3.0.
func version(doc map[string]any) (bool, error) {
	v, _ := doc["openapi"].(string)
	if v == "" {
		return false, &LoadError{Pointer: "/openapi", Err: errors.New(`missing "openapi" version field: set it to 3.0.x or 3.1.x`)}
	}
	if !strings.HasPrefix(v, "3.0.") && !strings.HasPrefix(v, "3.1.") && v != "3.0" && v != "3.1" {
		return false, &LoadError{Pointer: "/openapi", Err: fmt.Errorf("version %q is not supported: use 3.0.x or 3.1.x", v)}
	}
	return strings.HasPrefix(v, "3.0"), nil
}

// kinModel loads the bundled document into kin-openapi's model and checks
// it against the OpenAPI rules. A 3.1 document's schemas are JSON Schema
// 2020-12, which the engine checks when it compiles them; kin-openapi sees
// them as empty schemas, so it cannot refuse a valid one.
func kinModel(b *bundler) (*openapi3.T, error) {
	doc := b.doc
	if !b.is30 {
		doc = deepCopy(b.doc).(map[string]any)
		for _, p := range b.schemas {
			set(doc, p, map[string]any{})
		}
	}
	data, err := json.Marshal(doc)
	if err != nil {
		return nil, err
	}
	loader := openapi3.NewLoader()
	loader.Context = context.Background()
	model, err := loader.LoadFromData(data)
	if err != nil {
		return nil, err
	}
	if err := model.Validate(loader.Context, openapi3.DisableExamplesValidation()); err != nil {
		return nil, err
	}
	return model, nil
}

// set replaces the value at ptr in doc; the parent must exist.
func set(doc any, ptr string, v any) {
	i := strings.LastIndex(ptr, "/")
	parent, tok := lookup(doc, ptr[:i]), unescape(ptr[i+1:])
	switch x := parent.(type) {
	case map[string]any:
		x[tok] = v
	case []any:
		if n, err := strconv.Atoi(tok); err == nil && n >= 0 && n < len(x) {
			x[n] = v
		}
	}
}
