package openapi

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path"
	"path/filepath"
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
	b.WriteString("openapi: ")
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

// LoadFile loads the OpenAPI 3.0 or 3.1 document at name from the file
// system. Relative $refs to other local files are followed; references to
// remote URLs are refused.
func LoadFile(name string) (*Spec, error) {
	dir, base := filepath.Split(filepath.Clean(name))
	if dir == "" {
		dir = "."
	}
	root, err := filepath.Abs(dir)
	if err != nil {
		return nil, &LoadError{Source: name, Err: err}
	}
	s, err := LoadFS(os.DirFS(root), base)
	var le *LoadError
	if errors.As(err, &le) && le.Source != "" {
		le.Source = filepath.Join(dir, le.Source)
	}
	return s, err
}

// LoadFS loads the OpenAPI 3.0 or 3.1 document at name in fsys, so a spec can
// be embedded in the program with embed.FS. Relative $refs are resolved
// against name and read from fsys; nothing outside fsys is read.
func LoadFS(fsys fs.FS, name string) (*Spec, error) {
	name = path.Clean(name)
	data, err := fs.ReadFile(fsys, name)
	if err != nil {
		return nil, &LoadError{Source: name, Err: err}
	}
	loader := newLoader()
	loader.ReadFromURIFunc = func(_ *openapi3.Loader, u *url.URL) ([]byte, error) {
		if u.Scheme != "" || u.Host != "" {
			return nil, fmt.Errorf("reference %q is not a local file: only relative references are followed", u.String())
		}
		p := strings.TrimPrefix(path.Clean(u.Path), "/")
		if !fs.ValidPath(p) {
			return nil, fmt.Errorf("reference %q leaves the spec's file system", u.Path)
		}
		return fs.ReadFile(fsys, p)
	}
	doc, err := loader.LoadFromDataWithPath(data, &url.URL{Path: name})
	if err != nil {
		return nil, &LoadError{Source: name, Err: err}
	}
	return build(doc, name)
}

// Parse loads an OpenAPI 3.0 or 3.1 document (JSON or YAML) held in memory.
// The document must be self-contained: references to other files are refused.
func Parse(data []byte) (*Spec, error) {
	loader := newLoader()
	loader.ReadFromURIFunc = func(_ *openapi3.Loader, u *url.URL) ([]byte, error) {
		return nil, fmt.Errorf("reference %q needs a file system: use LoadFile or LoadFS for multi-file specs", u.String())
	}
	doc, err := loader.LoadFromData(data)
	if err != nil {
		return nil, &LoadError{Err: err}
	}
	return build(doc, "")
}

func newLoader() *openapi3.Loader {
	l := openapi3.NewLoader()
	l.IsExternalRefsAllowed = true
	l.Context = context.Background()
	return l
}

// build validates doc and prepares everything requests need: the operation
// index and the compiled schemas.
func build(doc *openapi3.T, source string) (*Spec, error) {
	if doc.OpenAPI == "" {
		return nil, &LoadError{Source: source, Pointer: "/openapi", Err: errors.New(`missing "openapi" version field: set it to 3.0.x or 3.1.x`)}
	}
	if !doc.IsOpenAPI30() && !strings.HasPrefix(doc.OpenAPIMajorMinor(), "3.1") {
		return nil, &LoadError{Source: source, Pointer: "/openapi", Err: fmt.Errorf("version %q is not supported: use 3.0.x or 3.1.x", doc.OpenAPI)}
	}
	ctx := context.Background()
	doc.InternalizeRefs(ctx, nil)
	if err := doc.Validate(ctx, openapi3.DisableExamplesValidation()); err != nil {
		return nil, &LoadError{Source: source, Err: err}
	}
	s, err := newSpec(doc)
	if err != nil {
		var le *LoadError
		if errors.As(err, &le) {
			le.Source = source
			return nil, le
		}
		return nil, &LoadError{Source: source, Err: err}
	}
	return s, nil
}
