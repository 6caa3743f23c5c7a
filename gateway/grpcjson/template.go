package grpcjson

import (
	"fmt"
	"net/url"
	"strings"
)

// segKind is what one segment of a path template matches.
type segKind uint8

const (
	literal  segKind = iota // the segment's text exactly
	wildcard                // "*": any one segment
	deep                    // "**": any number of segments, last only
)

type segment struct {
	kind segKind
	text string // for literal
}

// variable binds the segments [start, end) of a template to a field path;
// end is -1 when the variable ends with "**" (the rest of the path).
type variable struct {
	path       []string
	start, end int
}

// Template is a parsed google.api.http path template, such as
// "/v1/{name=shelves/*/books/*}:publish":
//
//	Template = "/" Segments [ Verb ] ;
//	Segments = Segment { "/" Segment } ;
//	Segment  = "*" | "**" | LITERAL | Variable ;
//	Variable = "{" FieldPath [ "=" Segments ] "}" ;
//	FieldPath = IDENT { "." IDENT } ;
//	Verb     = ":" LITERAL ;
//
// "**" may only be the last segment. A variable without "=" matches one
// segment ("*").
type Template struct {
	segs []segment
	vars []variable
	verb string
	raw  string
}

// ParseTemplate parses a path template; errors say where it goes wrong.
func ParseTemplate(s string) (*Template, error) {
	p := &tplParser{s: s, t: &Template{raw: s}}
	if err := p.parse(); err != nil {
		return nil, fmt.Errorf("path template %q: %w", s, err)
	}
	return p.t, nil
}

type tplParser struct {
	s   string
	i   int
	t   *Template
	inV bool
}

func (p *tplParser) parse() error {
	if !strings.HasPrefix(p.s, "/") {
		return fmt.Errorf("must start with /")
	}
	p.i = 1
	if err := p.segments(); err != nil {
		return err
	}
	if p.i < len(p.s) && p.s[p.i] == ':' {
		p.i++
		v := p.literal()
		if v == "" {
			return fmt.Errorf("empty verb at offset %d", p.i)
		}
		p.t.verb = v
	}
	if p.i != len(p.s) {
		return fmt.Errorf("unexpected %q at offset %d", p.s[p.i], p.i)
	}
	for i, sg := range p.t.segs {
		if sg.kind == deep && i != len(p.t.segs)-1 {
			return fmt.Errorf("** must be the last segment")
		}
	}
	seen := map[string]bool{}
	for _, v := range p.t.vars {
		name := strings.Join(v.path, ".")
		if seen[name] {
			return fmt.Errorf("field %s is bound twice", name)
		}
		seen[name] = true
	}
	return nil
}

func (p *tplParser) segments() error {
	for {
		if err := p.segment(); err != nil {
			return err
		}
		if p.i < len(p.s) && p.s[p.i] == '/' {
			p.i++
			continue
		}
		return nil
	}
}

func (p *tplParser) segment() error {
	switch {
	case strings.HasPrefix(p.s[p.i:], "**"):
		p.i += 2
		p.t.segs = append(p.t.segs, segment{kind: deep})
	case strings.HasPrefix(p.s[p.i:], "*"):
		p.i++
		p.t.segs = append(p.t.segs, segment{kind: wildcard})
	case strings.HasPrefix(p.s[p.i:], "{"):
		return p.variable()
	default:
		lit := p.literal()
		if lit == "" {
			return fmt.Errorf("empty segment at offset %d", p.i)
		}
		p.t.segs = append(p.t.segs, segment{kind: literal, text: lit})
	}
	return nil
}

func (p *tplParser) variable() error {
	if p.inV {
		return fmt.Errorf("nested variable at offset %d", p.i)
	}
	p.i++ // {
	start := p.i
	for p.i < len(p.s) && (isIdent(p.s[p.i]) || p.s[p.i] == '.') {
		p.i++
	}
	path := strings.Split(p.s[start:p.i], ".")
	for _, f := range path {
		if f == "" || f[0] >= '0' && f[0] <= '9' {
			return fmt.Errorf("invalid field path %q at offset %d", p.s[start:p.i], start)
		}
	}
	v := variable{path: path, start: len(p.t.segs)}
	if p.i < len(p.s) && p.s[p.i] == '=' {
		p.i++
		p.inV = true
		if err := p.segments(); err != nil {
			return err
		}
		p.inV = false
	} else {
		p.t.segs = append(p.t.segs, segment{kind: wildcard})
	}
	if p.i >= len(p.s) || p.s[p.i] != '}' {
		return fmt.Errorf("unclosed variable %s", strings.Join(path, "."))
	}
	p.i++
	v.end = len(p.t.segs)
	if p.t.segs[v.end-1].kind == deep {
		v.end = -1
	}
	p.t.vars = append(p.t.vars, v)
	return nil
}

// literal reads a literal: unreserved characters and percent escapes.
func (p *tplParser) literal() string {
	start := p.i
	for p.i < len(p.s) {
		c := p.s[p.i]
		if c == '/' || c == '{' || c == '}' || c == '=' || c == ':' || c == '*' || c <= ' ' || c >= 0x7f {
			break
		}
		p.i++
	}
	return p.s[start:p.i]
}

func isIdent(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_'
}

// String returns the template as written.
func (t *Template) String() string { return t.raw }

// literals counts the literal segments, for ordering templates from the
// most specific.
func (t *Template) literals() int {
	n := 0
	for _, s := range t.segs {
		if s.kind == literal {
			n++
		}
	}
	return n
}

// Match matches an escaped request path and returns the value of each
// variable by field path ("book.name"). A single-segment value is
// percent-decoded; a multi-segment one keeps its "%2F" escapes, as
// google.api.http prescribes.
func (t *Template) Match(escapedPath string) (map[string]string, bool) {
	if !strings.HasPrefix(escapedPath, "/") {
		return nil, false
	}
	path := escapedPath[1:]
	if t.verb != "" {
		i := strings.LastIndexByte(path, ':')
		if i < 0 || strings.IndexByte(path[i:], '/') >= 0 || path[i+1:] != t.verb {
			return nil, false
		}
		path = path[:i]
	}
	parts := strings.Split(path, "/")
	if !t.matchSegs(parts) {
		return nil, false
	}
	vals := make(map[string]string, len(t.vars))
	for _, v := range t.vars {
		end := v.end
		if end < 0 {
			end = len(parts)
		}
		vals[strings.Join(v.path, ".")] = decodeValue(parts[v.start:end])
	}
	return vals, true
}

func (t *Template) matchSegs(parts []string) bool {
	for i, s := range t.segs {
		if s.kind == deep {
			return true
		}
		if i >= len(parts) {
			return false
		}
		switch s.kind {
		case literal:
			if parts[i] != s.text {
				return false
			}
		case wildcard:
			if parts[i] == "" {
				return false
			}
		}
	}
	return len(parts) == len(t.segs)
}

func decodeValue(parts []string) string {
	if len(parts) == 1 {
		if v, err := url.PathUnescape(parts[0]); err == nil {
			return v
		}
		return parts[0]
	}
	out := make([]string, len(parts))
	for i, p := range parts {
		v, err := url.PathUnescape(strings.ReplaceAll(p, "%2F", "%252F"))
		if err != nil {
			v = p
		}
		out[i] = v
	}
	return strings.Join(out, "/")
}
