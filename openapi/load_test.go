package openapi_test

import (
	"embed"
	"errors"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/portico-dev/portico/openapi"
)

//go:embed testdata/petstore31
var embedded embed.FS

func TestLoadSources(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		load    func() (*openapi.Spec, error)
		version string
	}{
		{name: "a 3.0 spec split over two files loads from disk", load: func() (*openapi.Spec, error) { return openapi.LoadFile(versions[0]) }, version: "3.0.3"},
		{name: "a 3.1 spec split over two files loads from an embedded file system", load: func() (*openapi.Spec, error) {
			return openapi.LoadFS(embedded, "testdata/petstore31/openapi.yaml")
		}, version: "3.1.0"},
		{name: "a self-contained JSON document loads from bytes", load: func() (*openapi.Spec, error) {
			return openapi.Parse([]byte(`{"openapi":"3.1.0","info":{"title":"t","version":"1"},"paths":{"/a":{"get":{"responses":{"200":{"description":"ok"}}}}}}`))
		}, version: "3.1.0"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, err := tc.load()
			if err != nil {
				t.Fatal(err)
			}
			if got, want := s.Version(), tc.version; got != want {
				t.Errorf("version = %q, want %q", got, want)
			}
			if len(s.Operations()) == 0 {
				t.Error("no operations")
			}
		})
	}
}

func TestLoadErrorsNameTheirLocation(t *testing.T) {
	t.Parallel()
	const head = "openapi: 3.1.0\ninfo: {title: t, version: '1'}\n"
	tests := []struct {
		name string
		load func() (*openapi.Spec, error)
		want []string
	}{
		{name: "a YAML syntax error gives its line", load: func() (*openapi.Spec, error) {
			return openapi.Parse([]byte(head + "paths:\n  /a: [\n"))
		}, want: []string{"line"}},
		{name: "an unsupported version is refused with the versions to use", load: func() (*openapi.Spec, error) {
			return openapi.Parse([]byte("openapi: 4.0.0\ninfo: {title: t, version: '1'}\npaths: {}\n"))
		}, want: []string{"/openapi", "use 3.0.x or 3.1.x"}},
		{name: "a reference to a missing file names the file", load: func() (*openapi.Spec, error) {
			return openapi.LoadFS(fstest.MapFS{"api.yaml": {Data: []byte(head + "paths:\n  /a:\n    get:\n      responses:\n        '200':\n          description: ok\n          content:\n            application/json:\n              schema: {$ref: 'missing.yaml#/X'}\n")}}, "api.yaml")
		}, want: []string{"api.yaml", "missing.yaml"}},
		{name: "a remote reference is refused", load: func() (*openapi.Spec, error) {
			return openapi.LoadFS(fstest.MapFS{"api.yaml": {Data: []byte(head + "paths:\n  /a:\n    get:\n      responses:\n        '200':\n          description: ok\n          content:\n            application/json:\n              schema: {$ref: 'https://example.com/x.yaml#/X'}\n")}}, "api.yaml")
		}, want: []string{"not a local file"}},
		{name: "a reference in bytes needs a file system", load: func() (*openapi.Spec, error) {
			return openapi.Parse([]byte(head + "paths:\n  /a:\n    get:\n      responses:\n        '200':\n          description: ok\n          content:\n            application/json:\n              schema: {$ref: 'other.yaml#/X'}\n"))
		}, want: []string{"use LoadFile or LoadFS"}},
		{name: "a pattern the regexp engine cannot compile fails at load naming the parameter", load: func() (*openapi.Spec, error) {
			return openapi.Parse([]byte(head + "paths:\n  /a:\n    get:\n      parameters:\n        - {name: q, in: query, schema: {type: string, pattern: '(?<=x)y'}}\n      responses:\n        '200': {description: ok}\n"))
		}, want: []string{"/paths/~1a/get/parameters/0/schema", "regex"}},
		{name: "a path parameter missing from the parameters is reported", load: func() (*openapi.Spec, error) {
			return openapi.Parse([]byte(head + "paths:\n  /a/{id}:\n    get:\n      responses:\n        '200': {description: ok}\n"))
		}, want: []string{"id"}},
		{name: "a path template with two adjacent parameters is refused", load: func() (*openapi.Spec, error) {
			return openapi.Parse([]byte(head + "paths:\n  /a/{x}{y}:\n    get:\n      parameters:\n        - {name: x, in: path, required: true, schema: {type: string}}\n        - {name: y, in: path, required: true, schema: {type: string}}\n      responses:\n        '200': {description: ok}\n"))
		}, want: []string{"/paths/~1a~1{x}{y}", "adjacent"}},
		{name: "a missing file is reported", load: func() (*openapi.Spec, error) { return openapi.LoadFile("testdata/nope.yaml") }, want: []string{"testdata/nope.yaml"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := tc.load()
			if err == nil {
				t.Fatal("loaded; want an error")
			}
			var le *openapi.LoadError
			if !errors.As(err, &le) {
				t.Fatalf("error %T is not a *LoadError: %v", err, err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}
