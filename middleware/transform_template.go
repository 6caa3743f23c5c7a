package middleware

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/portico-dev/portico/internal/requestid"
)

// A header template is literal text with variables in braces:
//
//	"Bearer {header.X-Token}", "{consumer.id}@{consumer.tenant}"
//
// "{{" and "}}" stand for literal braces. The variables are:
//
//	{method} {host} {path}      the request's method, host and path
//	{path.NAME}                 a path parameter (ServeMux or chi)
//	{query.NAME}                a query parameter
//	{header.NAME}               a request header field
//	{request_id}                the request ID
//	{consumer.id} {consumer.tenant} {consumer.plan}
//	                            the authenticated consumer ([ConsumerFrom])
//
// and any name that [TransformConfig].Vars resolves.
type headerTemplate struct {
	parts []templatePart
	// escape, if set, is applied to every variable's value (URL
	// templates escape path parameters).
	escape func(string) string
}

type templatePart struct {
	literal string
	kind    string // "" for a literal
	arg     string
}

var errTemplate = errors.New("invalid template")

// parseHeaderTemplate compiles s; known reports whether a variable name
// outside the built-in ones is accepted.
func parseHeaderTemplate(s string, known func(string) bool) (headerTemplate, error) {
	var t headerTemplate
	var lit strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '{' && i+1 < len(s) && s[i+1] == '{':
			lit.WriteByte('{')
			i++
		case c == '}' && i+1 < len(s) && s[i+1] == '}':
			lit.WriteByte('}')
			i++
		case c == '}':
			return t, fmt.Errorf("%w %q: unmatched } at %d (write }} for a brace)", errTemplate, s, i)
		case headerSafe(rune(c)) != rune(c):
			return t, fmt.Errorf("%w %q: control character at %d", errTemplate, s, i)
		case c == '{':
			end := strings.IndexByte(s[i+1:], '}')
			if end < 0 {
				return t, fmt.Errorf("%w %q: unclosed { at %d", errTemplate, s, i)
			}
			name := s[i+1 : i+1+end]
			p, err := templateVar(name, known)
			if err != nil {
				return t, fmt.Errorf("%w %q: %w", errTemplate, s, err)
			}
			if lit.Len() > 0 {
				t.parts = append(t.parts, templatePart{literal: lit.String()})
				lit.Reset()
			}
			t.parts = append(t.parts, p)
			i += end + 1
		default:
			lit.WriteByte(c)
		}
	}
	if lit.Len() > 0 {
		t.parts = append(t.parts, templatePart{literal: lit.String()})
	}
	return t, nil
}

func templateVar(name string, known func(string) bool) (templatePart, error) {
	switch name {
	case "method", "host", "path", "request_id", "consumer.id", "consumer.tenant", "consumer.plan":
		return templatePart{kind: name}, nil
	}
	if kind, arg, ok := strings.Cut(name, "."); ok && arg != "" {
		switch kind {
		case "path", "query", "header":
			if strings.ContainsAny(arg, "{} ") {
				return templatePart{}, fmt.Errorf("bad variable name %q", name)
			}
			if kind == "header" {
				arg = http.CanonicalHeaderKey(arg)
			}
			return templatePart{kind: kind, arg: arg}, nil
		}
	}
	if known != nil && name != "" && known(name) {
		return templatePart{kind: "var", arg: name}, nil
	}
	return templatePart{}, fmt.Errorf("unknown variable {%s}", name)
}

// constant reports whether the template has no variables, and its text.
func (t headerTemplate) constant() (string, bool) {
	switch len(t.parts) {
	case 0:
		return "", true
	case 1:
		return t.parts[0].literal, t.parts[0].kind == ""
	}
	return "", false
}

// render expands the template for r.
func (t headerTemplate) render(r *http.Request, vars func(*http.Request, string) (string, bool)) string {
	if s, ok := t.constant(); ok {
		return s
	}
	var b strings.Builder
	for _, p := range t.parts {
		if p.kind == "" {
			b.WriteString(p.literal)
			continue
		}
		if t.escape != nil {
			b.WriteString(t.escape(t.variable(p, r, vars)))
			continue
		}
		b.WriteString(t.variable(p, r, vars))
	}
	return strings.Map(headerSafe, b.String())
}

// variable returns the value of one variable part for r.
func (t headerTemplate) variable(p templatePart, r *http.Request, vars func(*http.Request, string) (string, bool)) string {
	switch p.kind {
	case "method":
		return r.Method
	case "host":
		return r.Host
	case "path":
		if p.arg == "" {
			return r.URL.Path
		}
		return pathParam(r, p.arg)
	case "query":
		return r.URL.Query().Get(p.arg)
	case "header":
		return r.Header.Get(p.arg)
	case "request_id":
		return requestid.FromContext(r.Context())
	}
	name := p.arg
	if p.kind != "var" {
		name = p.kind // consumer.*
		if c := ConsumerFrom(r.Context()); c != nil {
			switch p.kind {
			case "consumer.id":
				return c.ID
			case "consumer.tenant":
				return c.Tenant
			case "consumer.plan":
				return c.Plan
			}
		}
	}
	if vars != nil {
		if v, ok := vars(r, name); ok {
			return v
		}
	}
	return ""
}

// headerSafe replaces control characters (a query parameter can hold a
// newline) so that a rendered value is always a valid field value.
func headerSafe(r rune) rune {
	if (r < 0x20 && r != '\t') || r == 0x7f {
		return ' '
	}
	return r
}

func pathParam(r *http.Request, name string) string {
	if v := r.PathValue(name); v != "" {
		return v
	}
	if rc := chi.RouteContext(r.Context()); rc != nil {
		return rc.URLParam(name)
	}
	return ""
}
