package openapi

import (
	"fmt"
	"strings"
)

// pathTemplate is a parsed path template such as "/files/{dir}/{name}.{ext}".
type pathTemplate struct {
	raw   string
	segs  []segment
	names []string // parameter names in order of appearance
}

// segment is one "/"-separated part of a template. A static segment has a
// single literal piece; a dynamic one mixes literals and parameters.
type segment struct {
	pieces []piece
	key    string // the segment with parameter names erased, e.g. "{}.{}"
}

type piece struct {
	lit   string
	param bool
}

func (s segment) static() bool { return len(s.pieces) == 1 && !s.pieces[0].param }

// parseTemplate parses an OpenAPI path template.
func parseTemplate(raw string) (*pathTemplate, error) {
	if !strings.HasPrefix(raw, "/") {
		return nil, fmt.Errorf("path %q must start with '/'", raw)
	}
	t := &pathTemplate{raw: raw}
	seen := map[string]bool{}
	for s := range strings.SplitSeq(raw[1:], "/") {
		var seg segment
		var key strings.Builder
		rest := s
		for rest != "" {
			open := strings.IndexByte(rest, '{')
			if closeAt := strings.IndexByte(rest, '}'); closeAt >= 0 && (open < 0 || closeAt < open) {
				return nil, fmt.Errorf("path %q has an unmatched '}'", raw)
			}
			if open < 0 {
				seg.pieces = append(seg.pieces, piece{lit: rest})
				key.WriteString(rest)
				break
			}
			if open > 0 {
				seg.pieces = append(seg.pieces, piece{lit: rest[:open]})
				key.WriteString(rest[:open])
			}
			end := strings.IndexByte(rest[open:], '}')
			if end < 0 {
				return nil, fmt.Errorf("path %q has an unclosed '{'", raw)
			}
			name := rest[open+1 : open+end]
			if name == "" || strings.ContainsAny(name, "{") {
				return nil, fmt.Errorf("path %q has an invalid parameter name %q", raw, name)
			}
			if seen[name] {
				return nil, fmt.Errorf("path %q uses parameter %q twice", raw, name)
			}
			if n := len(seg.pieces); n > 0 && seg.pieces[n-1].param {
				return nil, fmt.Errorf("path %q has two adjacent parameters: separate them with a literal", raw)
			}
			seen[name] = true
			t.names = append(t.names, name)
			seg.pieces = append(seg.pieces, piece{lit: name, param: true})
			key.WriteString("{}")
			rest = rest[open+end+1:]
		}
		if len(seg.pieces) == 0 {
			seg.pieces = []piece{{}}
		}
		seg.key = key.String()
		t.segs = append(t.segs, seg)
	}
	return t, nil
}

// match matches one path segment against s, appending parameter values
// (still escaped) to vals. It reports false when s does not fit.
func (s segment) match(v string, vals []string) ([]string, bool) {
	for i, p := range s.pieces {
		if !p.param {
			if !strings.HasPrefix(v, p.lit) {
				return vals, false
			}
			v = v[len(p.lit):]
			continue
		}
		var val string
		if i+1 == len(s.pieces) {
			val, v = v, ""
		} else {
			next := s.pieces[i+1].lit
			at := strings.Index(v, next)
			if at < 0 {
				return vals, false
			}
			val, v = v[:at], v[at:]
		}
		if val == "" {
			return vals, false
		}
		vals = append(vals, val)
	}
	return vals, v == ""
}

// matchSuffix matches the template against the last segments of an escaped
// path, so a route mounted under a prefix still yields its parameters.
func (t *pathTemplate) matchSuffix(path string, vals []string) ([]string, bool) {
	n := len(t.segs)
	end := len(path)
	start := end
	for i := 0; i < n; i++ {
		at := strings.LastIndexByte(path[:start], '/')
		if at < 0 {
			return vals, false
		}
		start = at
	}
	rest := path[start+1:]
	for _, seg := range t.segs {
		part, tail, _ := strings.Cut(rest, "/")
		var ok bool
		if vals, ok = seg.match(part, vals); !ok {
			return vals, false
		}
		rest = tail
	}
	return vals, true
}
