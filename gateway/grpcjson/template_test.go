package grpcjson_test

import (
	"strings"
	"testing"

	"github.com/portico-dev/portico/gateway/grpcjson"
)

func TestTemplatesMatchPaths(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		tpl, path string
		want      map[string]string // nil: no match
	}{
		{"/v1/books/{book}", "/v1/books/b1", map[string]string{"book": "b1"}},
		{"/v1/books/{book}", "/v1/books", nil},
		{"/v1/books/{book}", "/v1/books/b1/x", nil},
		{"/v1/books/{book}", "/v1/books/", nil},
		{"/v1/{name=shelves/*/books/*}", "/v1/shelves/s/books/b", map[string]string{"name": "shelves/s/books/b"}},
		{"/v1/{name=shelves/*/books/*}", "/v1/shelves/s/cds/b", nil},
		{"/v1/{name=files/**}", "/v1/files/a/b/c", map[string]string{"name": "files/a/b/c"}},
		{"/v1/{name=files/**}", "/v1/files", map[string]string{"name": "files"}},
		{"/v1/{name=**}", "/v1/a%2Fb/c", map[string]string{"name": "a%2Fb/c"}},
		{"/v1/{a}/{b.c}", "/v1/x%20y/z", map[string]string{"a": "x y", "b.c": "z"}},
		{"/v1/books/{book}:publish", "/v1/books/b1:publish", map[string]string{"book": "b1"}},
		{"/v1/books/{book}:publish", "/v1/books/b1", nil},
		{"/v1/books/{book}:publish", "/v1/books/b1:burn", nil},
		{"/v1/*/x", "/v1/any/x", map[string]string{}},
	} {
		tpl, err := grpcjson.ParseTemplate(tc.tpl)
		if err != nil {
			t.Fatalf("%s: %v", tc.tpl, err)
		}
		got, ok := tpl.Match(tc.path)
		if ok != (tc.want != nil) {
			t.Errorf("%s on %s: matched %v, want %v", tc.tpl, tc.path, ok, tc.want != nil)
			continue
		}
		for k, v := range tc.want {
			if got[k] != v {
				t.Errorf("%s on %s: %s = %q, want %q", tc.tpl, tc.path, k, got[k], v)
			}
		}
	}
}

func TestParseTemplateRefusesMalformedTemplates(t *testing.T) {
	t.Parallel()
	for tpl, want := range map[string]string{
		"v1/x":        "must start with /",
		"/v1/{name":   "unclosed variable",
		"/v1/{a={b}}": "nested variable",
		"/v1//x":      "empty segment",
		"/v1/{1a}":    "invalid field path",
		"/v1/**/x":    "** must be the last segment",
		"/v1/{a}/{a}": "bound twice",
		"/v1/x:":      "empty verb",
		"/v1/{a.}":    "invalid field path",
		"/v1/x}":      "unexpected",
	} {
		_, err := grpcjson.ParseTemplate(tpl)
		if err == nil {
			t.Errorf("%s: error nil, want one with %q", tpl, want)
			continue
		}
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want one with %q", tpl, err, want)
		}
	}
}
