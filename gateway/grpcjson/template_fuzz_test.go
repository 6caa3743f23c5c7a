package grpcjson_test

import (
	"strings"
	"testing"

	"github.com/portico-dev/portico/gateway/grpcjson"
)

// FuzzParseTemplate checks that the parser never panics, that a parsed
// template parses again the same, and that it matches a path made from
// its own literals.
func FuzzParseTemplate(f *testing.F) {
	for _, s := range []string{
		"/v1/books/{book}", "/v1/{name=shelves/*/books/*}", "/v1/{name=files/**}:get",
		"/v1/*/x", "/{a.b.c}", "/v1/{a}/{b=x/*}/c:verb", "/", "/{", "/**", "/v1/%41",
	} {
		f.Add(s, "/v1/books/b1")
	}
	f.Fuzz(func(t *testing.T, tpl, path string) {
		pt, err := grpcjson.ParseTemplate(tpl)
		if err != nil {
			return
		}
		again, err := grpcjson.ParseTemplate(pt.String())
		if err != nil {
			t.Fatalf("%q parsed, but not its String %q: %v", tpl, pt.String(), err)
		}
		if got := again.String(); got != tpl {
			t.Fatalf("%q parsed, but its String %q parses to %q", tpl, pt.String(), got)
		}
		_, _ = pt.Match(path) // must not panic
		if _, ok := pt.Match(sample(tpl)); !ok {
			t.Fatalf("%q does not match its own sample %q", tpl, sample(tpl))
		}
	})
}

// sample makes a path a template matches: each variable's and wildcard's
// place filled with "x".
func sample(tpl string) string {
	var b strings.Builder
	depth := 0
	for i := 0; i < len(tpl); i++ {
		c := tpl[i]
		switch {
		case c == '{':
			depth++
			// A variable without "=" stands for one segment.
			end := strings.IndexByte(tpl[i:], '}')
			if !strings.Contains(tpl[i:i+end], "=") {
				b.WriteByte('x')
			}
		case c == '}':
			depth--
		case depth > 0 && c != '=' && !strings.ContainsRune("*/", rune(c)):
			// Inside a variable, before "=": the field path, not the path.
			if j := strings.LastIndexByte(tpl[:i], '{'); !strings.Contains(tpl[j:i], "=") {
				continue
			}
			b.WriteByte(c)
		case c == '*' && i+1 < len(tpl) && tpl[i+1] == '*':
			b.WriteByte('x')
			i++
		case c == '*':
			b.WriteByte('x')
		case c == '=':
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}
