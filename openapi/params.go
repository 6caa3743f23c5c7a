package openapi

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
)

// decodeError says why a raw parameter could not be decoded.
type decodeError string

func (e decodeError) Error() string { return string(e) }

// source gives access to the raw parameter values of one request.
type source struct {
	r       *http.Request
	query   url.Values
	cookies []*http.Cookie
	names   []string // path parameter names
	vals    []string // escaped path parameter values
}

func (s *source) queryValues() url.Values {
	if s.query == nil {
		s.query = s.r.URL.Query()
	}
	return s.query
}

// decode returns the value of p in the request, typed after p's schema, and
// whether it was present.
func (p *param) decode(s *source) (any, bool, error) {
	switch p.in {
	case openapi3.ParameterInPath:
		for i, n := range s.names {
			if n == p.name && i < len(s.vals) {
				raw := s.vals[i]
				if u, err := url.PathUnescape(raw); err == nil {
					raw = u
				}
				return p.decodePath(raw)
			}
		}
		return nil, false, nil
	case openapi3.ParameterInQuery:
		return p.decodeQuery(s.queryValues())
	case openapi3.ParameterInHeader:
		vals := s.r.Header.Values(p.name)
		if len(vals) == 0 {
			return nil, false, nil
		}
		return p.decodeSimple(strings.Join(vals, ","))
	case openapi3.ParameterInCookie:
		if s.cookies == nil {
			s.cookies = s.r.Cookies()
		}
		for _, c := range s.cookies {
			if c.Name == p.name {
				return p.decodeForm([]string{c.Value})
			}
		}
		return nil, false, nil
	}
	return nil, false, nil
}

// empty reports whether p is a query parameter in the form style sent with
// an empty value ("?name="). OpenAPI takes such a value as valid only when
// the parameter sets allowEmptyValue, and then checks nothing more; the
// other styles cannot write an empty value, so the rule does not apply to
// them.
func (p *param) empty(s *source) bool {
	if p.in != openapi3.ParameterInQuery || p.style != openapi3.SerializationForm || p.json {
		return false
	}
	vals, ok := s.queryValues()[p.name]
	return ok && len(vals) == 1 && vals[0] == ""
}

func (p *param) decodePath(raw string) (any, bool, error) {
	switch p.style {
	case openapi3.SerializationLabel:
		rest, ok := strings.CutPrefix(raw, ".")
		if !ok {
			return nil, true, decodeError("label style value must start with '.'")
		}
		sep := ","
		if p.explode {
			sep = "."
		}
		return p.fromParts(rest, sep, p.explode)
	case openapi3.SerializationMatrix:
		rest, ok := strings.CutPrefix(raw, ";")
		if !ok {
			return nil, true, decodeError("matrix style value must start with ';'")
		}
		t := typeOf(p.shape())
		if t == "object" && p.explode {
			return p.fromParts(rest, ";", true)
		}
		var vals []string
		for part := range strings.SplitSeq(rest, ";") {
			k, v, _ := strings.Cut(part, "=")
			if k != p.name {
				return nil, true, decodeError("matrix style value must be ;" + p.name + "=...")
			}
			vals = append(vals, v)
		}
		if t == "array" && p.explode {
			return p.items(vals), true, nil
		}
		if len(vals) != 1 {
			return nil, true, decodeError("matrix style value repeats " + p.name + " but explode is false")
		}
		return p.fromParts(vals[0], ",", false)
	}
	return p.decodeSimple(raw)
}

func (p *param) decodeSimple(raw string) (any, bool, error) {
	if p.json {
		return decodeJSONParam(raw)
	}
	return p.fromParts(raw, ",", p.explode)
}

// fromParts decodes a value whose array items or object members are
// separated by sep; with explode, object members are "key=value".
func (p *param) fromParts(raw, sep string, explode bool) (any, bool, error) {
	switch typeOf(p.shape()) {
	case "array":
		if raw == "" {
			return []any{}, true, nil
		}
		return p.items(strings.Split(raw, sep)), true, nil
	case "object":
		obj := map[string]any{}
		if raw == "" {
			return obj, true, nil
		}
		parts := strings.Split(raw, sep)
		if explode {
			for _, kv := range parts {
				k, v, ok := strings.Cut(kv, "=")
				if !ok {
					return nil, true, decodeError("object member " + strconv.Quote(kv) + " must be key=value")
				}
				obj[k] = coerce(propSchema(p.shape(), k), v)
			}
			return obj, true, nil
		}
		if len(parts)%2 != 0 {
			return nil, true, decodeError("object must be a list of key,value pairs")
		}
		for i := 0; i < len(parts); i += 2 {
			obj[parts[i]] = coerce(propSchema(p.shape(), parts[i]), parts[i+1])
		}
		return obj, true, nil
	}
	return coerce(p.shape(), raw), true, nil
}

func (p *param) decodeQuery(q url.Values) (any, bool, error) {
	t := typeOf(p.shape())
	switch {
	case p.json:
		vals, ok := q[p.name]
		if !ok {
			return nil, false, nil
		}
		return decodeJSONParam(vals[0])
	case p.style == openapi3.SerializationDeepObject:
		obj := map[string]any{}
		prefix := p.name + "["
		for k, vs := range q {
			rest, ok := strings.CutPrefix(k, prefix)
			if !ok {
				continue
			}
			key, ok := strings.CutSuffix(rest, "]")
			if !ok || strings.ContainsAny(key, "[]") {
				return nil, true, decodeError("deepObject key " + strconv.Quote(k) + " must be " + p.name + "[property]")
			}
			ps := propSchema(p.shape(), key)
			if typeOf(ps) == "array" {
				obj[key] = itemsOf(ps, vs)
			} else {
				obj[key] = coerce(ps, vs[0])
			}
		}
		if len(obj) == 0 {
			return nil, false, nil
		}
		return obj, true, nil
	case t == "object" && p.explode && p.style == openapi3.SerializationForm:
		obj := map[string]any{}
		if sh := p.shape(); sh != nil {
			for name, ps := range sh.props {
				if vs, ok := q[name]; ok {
					if typeOf(ps) == "array" {
						obj[name] = itemsOf(ps, vs)
					} else {
						obj[name] = coerce(ps, vs[0])
					}
				}
			}
		}
		if len(obj) == 0 {
			return nil, false, nil
		}
		return obj, true, nil
	}
	vals, ok := q[p.name]
	if !ok {
		return nil, false, nil
	}
	switch p.style {
	case openapi3.SerializationSpaceDelimited:
		return p.fromParts(vals[0], " ", false)
	case openapi3.SerializationPipeDelimited:
		return p.fromParts(vals[0], "|", false)
	}
	return p.decodeForm(vals)
}

// decodeForm decodes the form style: repeated keys when exploded, comma
// separated otherwise.
func (p *param) decodeForm(vals []string) (any, bool, error) {
	if typeOf(p.shape()) == "array" && p.explode {
		return p.items(vals), true, nil
	}
	if len(vals) > 1 {
		if typeOf(p.shape()) != "array" {
			return nil, true, decodeError("must be given once")
		}
	}
	return p.fromParts(vals[0], ",", false)
}

func (p *param) items(vals []string) []any {
	return itemsOf(p.shape(), vals)
}

func itemsOf(s *shape, vals []string) []any {
	var is *shape
	if s != nil {
		is = s.items
	}
	out := make([]any, len(vals))
	for i, v := range vals {
		out[i] = coerce(is, v)
	}
	return out
}

func decodeJSONParam(raw string) (any, bool, error) {
	v, err := parseJSON([]byte(raw))
	if err != nil {
		return nil, true, decodeError("must be valid JSON")
	}
	return v, true, nil
}

// typeOf is the first non-null type of s, inferred from its keywords when
// the type is not given.
func typeOf(s *shape) string {
	if s == nil {
		return ""
	}
	return s.typ
}

func propSchema(s *shape, name string) *shape {
	if s == nil {
		return nil
	}
	if p := s.props[name]; p != nil {
		return p
	}
	return s.addl
}

// coerce turns a raw string into the JSON value the schema expects. A string
// that does not fit is kept as is, so the schema reports the mismatch.
func coerce(s *shape, raw string) any {
	switch typeOf(s) {
	case "integer", "number":
		if isNumber(raw) {
			return json.Number(raw)
		}
	case "boolean":
		switch raw {
		case "true":
			return true
		case "false":
			return false
		}
	}
	if raw == "" && s != nil && s.null {
		return nil
	}
	return raw
}

// isNumber reports whether raw is a JSON number.
func isNumber(raw string) bool {
	if raw == "" {
		return false
	}
	if _, err := strconv.ParseFloat(raw, 64); err != nil {
		var ne *strconv.NumError
		if !errors.As(err, &ne) || !errors.Is(ne.Err, strconv.ErrRange) {
			return false
		}
	}
	// ParseFloat accepts forms JSON does not: "Inf", "0x10", "+1", "1_000".
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if (c < '0' || c > '9') && c != '-' && c != '.' && c != 'e' && c != 'E' && c != '+' {
			return false
		}
	}
	return raw[0] != '+'
}
