package openapi

import (
	"encoding/json"
	"errors"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// maxDepth bounds the nesting of a decoded JSON value, so a hostile body
// cannot exhaust the stack.
const maxDepth = 1000

var errJSON = errors.New("must be valid JSON")

// maxExp10 bounds the decimal exponent of a number: the schema engine
// compares numbers exactly, and a number such as 1e1000000 is beyond what
// it can represent (and costly to build), so it is refused rather than
// checked.
const maxExp10 = 10000

var errNumberRange = errors.New("must not hold a number whose decimal exponent is beyond ±10000")

// parseJSON decodes one JSON document into the values the schema engine
// takes: map[string]any, []any, string, json.Number, bool and nil. It
// accepts exactly what encoding/json accepts (invalid UTF-8 in strings
// becomes U+FFFD, as there) and is several times lighter on allocations
// than decoding into an interface with encoding/json.
func parseJSON(data []byte) (any, error) {
	p := jsonParser{data: data}
	p.space()
	v, err := p.value(0)
	if err != nil {
		return nil, err
	}
	p.space()
	if p.i != len(p.data) {
		return nil, errJSON
	}
	return v, nil
}

type jsonParser struct {
	data []byte
	i    int
}

func (p *jsonParser) space() {
	for p.i < len(p.data) {
		switch p.data[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *jsonParser) value(depth int) (any, error) {
	if p.i >= len(p.data) || depth > maxDepth {
		return nil, errJSON
	}
	switch c := p.data[p.i]; {
	case c == '{':
		return p.object(depth)
	case c == '[':
		return p.array(depth)
	case c == '"':
		return p.str()
	case c == '-' || c >= '0' && c <= '9':
		return p.number()
	case c == 't':
		return true, p.literal("true")
	case c == 'f':
		return false, p.literal("false")
	case c == 'n':
		return nil, p.literal("null")
	}
	return nil, errJSON
}

func (p *jsonParser) literal(word string) error {
	if len(p.data)-p.i < len(word) || string(p.data[p.i:p.i+len(word)]) != word {
		return errJSON
	}
	p.i += len(word)
	return nil
}

func (p *jsonParser) object(depth int) (any, error) {
	p.i++ // {
	obj := make(map[string]any, 8)
	p.space()
	if p.i < len(p.data) && p.data[p.i] == '}' {
		p.i++
		return obj, nil
	}
	for {
		if p.i >= len(p.data) || p.data[p.i] != '"' {
			return nil, errJSON
		}
		k, err := p.str()
		if err != nil {
			return nil, err
		}
		p.space()
		if p.i >= len(p.data) || p.data[p.i] != ':' {
			return nil, errJSON
		}
		p.i++
		p.space()
		v, err := p.value(depth + 1)
		if err != nil {
			return nil, err
		}
		obj[k] = v
		p.space()
		if p.i >= len(p.data) {
			return nil, errJSON
		}
		switch p.data[p.i] {
		case ',':
			p.i++
			p.space()
		case '}':
			p.i++
			return obj, nil
		default:
			return nil, errJSON
		}
	}
}

func (p *jsonParser) array(depth int) (any, error) {
	p.i++ // [
	arr := make([]any, 0, 4)
	p.space()
	if p.i < len(p.data) && p.data[p.i] == ']' {
		p.i++
		return arr, nil
	}
	for {
		v, err := p.value(depth + 1)
		if err != nil {
			return nil, err
		}
		arr = append(arr, v)
		p.space()
		if p.i >= len(p.data) {
			return nil, errJSON
		}
		switch p.data[p.i] {
		case ',':
			p.i++
			p.space()
		case ']':
			p.i++
			return arr, nil
		default:
			return nil, errJSON
		}
	}
}

func (p *jsonParser) number() (any, error) {
	start := p.i
	d := p.data
	if d[p.i] == '-' {
		p.i++
	}
	switch {
	case p.i < len(d) && d[p.i] == '0':
		p.i++
	case p.i < len(d) && d[p.i] >= '1' && d[p.i] <= '9':
		for p.i < len(d) && d[p.i] >= '0' && d[p.i] <= '9' {
			p.i++
		}
	default:
		return nil, errJSON
	}
	frac := 0
	if p.i < len(d) && d[p.i] == '.' {
		p.i++
		at := p.i
		if !p.digits() {
			return nil, errJSON
		}
		frac = p.i - at
	}
	exp := 0
	if p.i < len(d) && (d[p.i] == 'e' || d[p.i] == 'E') {
		p.i++
		neg := p.i < len(d) && d[p.i] == '-'
		if p.i < len(d) && (d[p.i] == '+' || d[p.i] == '-') {
			p.i++
		}
		at := p.i
		if !p.digits() {
			return nil, errJSON
		}
		for _, c := range d[at:p.i] {
			if exp = exp*10 + int(c-'0'); exp > 1e8 {
				return nil, errNumberRange
			}
		}
		if neg {
			exp = -exp
		}
	}
	if e := exp - frac; e > maxExp10 || e < -maxExp10 {
		return nil, errNumberRange
	}
	return json.Number(d[start:p.i]), nil
}

func (p *jsonParser) digits() bool {
	start := p.i
	for p.i < len(p.data) && p.data[p.i] >= '0' && p.data[p.i] <= '9' {
		p.i++
	}
	return p.i > start
}

// str decodes a string starting at its opening quote.
func (p *jsonParser) str() (string, error) {
	p.i++ // "
	start := p.i
	d := p.data
	// Fast path: no escapes, ASCII or valid UTF-8.
	for p.i < len(d) {
		c := d[p.i]
		if c == '"' {
			s := d[start:p.i]
			p.i++
			if utf8.Valid(s) {
				return string(s), nil
			}
			return string([]rune(string(s))), nil // invalid bytes become U+FFFD
		}
		if c == '\\' {
			break
		}
		if c < 0x20 {
			return "", errJSON
		}
		p.i++
	}
	buf := make([]byte, 0, p.i-start+16)
	buf = append(buf, d[start:p.i]...)
	for p.i < len(d) {
		c := d[p.i]
		switch {
		case c == '"':
			p.i++
			if !utf8.Valid(buf) {
				return string([]rune(string(buf))), nil
			}
			return string(buf), nil
		case c < 0x20:
			return "", errJSON
		case c != '\\':
			buf = append(buf, c)
			p.i++
			continue
		}
		var ok bool
		if buf, ok = p.escape(buf); !ok {
			return "", errJSON
		}
	}
	return "", errJSON
}

// escape decodes the escape sequence at the parser's backslash onto buf.
func (p *jsonParser) escape(buf []byte) ([]byte, bool) {
	d := p.data
	p.i++ // backslash
	if p.i >= len(d) {
		return buf, false
	}
	e := d[p.i]
	p.i++
	switch e {
	case '"', '\\', '/':
		return append(buf, e), true
	case 'b':
		return append(buf, '\b'), true
	case 'f':
		return append(buf, '\f'), true
	case 'n':
		return append(buf, '\n'), true
	case 'r':
		return append(buf, '\r'), true
	case 't':
		return append(buf, '\t'), true
	case 'u':
		return p.unicodeEscape(buf)
	}
	return buf, false
}

// unicodeEscape decodes a \uXXXX escape, and the low half that follows a
// high surrogate, onto buf; a lone surrogate becomes U+FFFD.
func (p *jsonParser) unicodeEscape(buf []byte) ([]byte, bool) {
	d := p.data
	r, ok := p.hex4()
	if !ok {
		return buf, false
	}
	if !utf16.IsSurrogate(r) {
		return utf8.AppendRune(buf, r), true
	}
	if p.i+1 < len(d) && d[p.i] == '\\' && d[p.i+1] == 'u' {
		save := p.i
		p.i += 2
		r2, ok2 := p.hex4()
		if !ok2 {
			return buf, false
		}
		if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
			return utf8.AppendRune(buf, dec), true
		}
		p.i = save // not a pair: decode the second escape on its own
	}
	return utf8.AppendRune(buf, utf8.RuneError), true
}

func (p *jsonParser) hex4() (rune, bool) {
	if len(p.data)-p.i < 4 {
		return 0, false
	}
	n, err := strconv.ParseUint(string(p.data[p.i:p.i+4]), 16, 32)
	if err != nil {
		return 0, false
	}
	p.i += 4
	return rune(n), true
}
