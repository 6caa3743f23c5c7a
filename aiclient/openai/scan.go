package openai

import (
	"encoding/json"
	"slices"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/portico-dev/portico/aiclient"
)

// scanner reads the JSON of a completion or stream chunk straight into
// the adapter's types, for the shapes servers send: every method reports
// false on anything it does not handle exactly as encoding/json would
// (invalid JSON, a value of the wrong type, a duplicate or case-folded
// member name, a non-null error or logprobs, a number that is not an
// integer, a string that is not valid UTF-8), and the caller then decodes
// with encoding/json. A failed scan leaves its target partly filled.
type scanner struct {
	b []byte
	i int
	// extra, with top set before the outer object, collects the members
	// of that object that [native] keeps, as [aiclient.Unknown] would.
	extra map[string]json.RawMessage
	top   bool
}

// maxDepth bounds the nesting of skipped values; deeper documents are
// left to encoding/json.
const maxDepth = 64

func (s *scanner) space() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// peek returns the next byte after white space, or 0 at the end.
func (s *scanner) peek() byte {
	s.space()
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

// eat consumes c after white space.
func (s *scanner) eat(c byte) bool {
	if s.peek() == c {
		s.i++
		return true
	}
	return false
}

// end reports whether only white space is left.
func (s *scanner) end() bool { return s.peek() == 0 && s.i == len(s.b) }

// null consumes a null literal if one comes next.
func (s *scanner) null() bool {
	if s.peek() == 'n' && len(s.b)-s.i >= 4 && string(s.b[s.i:s.i+4]) == "null" {
		s.i += 4
		return true
	}
	return false
}

// object walks the members of an object, calling member with s at each
// value; known are the member names the target models, which member must
// handle: a member named as one of them but for case is refused, as
// encoding/json would match it too, and so is a second member of one
// name. Members named otherwise are skipped.
func (s *scanner) object(known []string, member func(k int) bool) bool {
	if !s.eat('{') {
		return false
	}
	if s.eat('}') {
		return true
	}
	var seen uint32
	top := s.top
	s.top = false
	for {
		name, ok := s.name()
		if !ok || !s.eat(':') {
			return false
		}
		k := index(known, name)
		switch {
		case k >= 0:
			if seen&(1<<k) != 0 {
				return false
			}
			seen |= 1 << k
			if !member(k) {
				return false
			}
		case folds(known, name):
			return false
		default:
			s.space()
			start := s.i
			if !s.skip(1) {
				return false
			}
			if top {
				s.keep(name, s.b[start:s.i])
			}
		}
		if s.eat(',') {
			continue
		}
		return s.eat('}')
	}
}

// keep records a member of the outer object for native: null is the
// same as absent, and a later member of one name replaces an earlier one.
func (s *scanner) keep(name, raw []byte) {
	if slices.Contains(known, string(name)) {
		return
	}
	if string(raw) == "null" {
		if delete(s.extra, string(name)); len(s.extra) == 0 {
			s.extra = nil
		}
		return
	}
	if s.extra == nil {
		s.extra = map[string]json.RawMessage{}
	}
	s.extra[string(name)] = append(json.RawMessage(nil), raw...)
}

// native returns what [native] would for the object just scanned.
func (s *scanner) native() *aiclient.Native {
	if len(s.extra) == 0 {
		return nil
	}
	return &aiclient.Native{Wire: aiclient.WireOpenAI, Fields: s.extra}
}

func index(known []string, name []byte) int {
	for k, n := range known {
		if n == string(name) {
			return k
		}
	}
	return -1
}

func folds(known []string, name []byte) bool {
	for _, n := range known {
		if strings.EqualFold(n, string(name)) {
			return true
		}
	}
	return false
}

// name reads a member name made of printable ASCII without escapes;
// encoding/json folds some non-ASCII letters onto ASCII ones, so those
// names are left to it.
func (s *scanner) name() ([]byte, bool) {
	if !s.eat('"') {
		return nil, false
	}
	start := s.i
	for s.i < len(s.b) {
		c := s.b[s.i]
		if c == '"' {
			s.i++
			return s.b[start : s.i-1], true
		}
		if c == '\\' || c < 0x20 || c >= 0x80 {
			return nil, false
		}
		s.i++
	}
	return nil, false
}

// str reads a string value; null leaves *dst as it is.
func (s *scanner) str(dst *string) bool {
	if s.null() {
		return true
	}
	v, ok := s.text()
	*dst = v
	return ok
}

// known reads a string value as str does, without a copy when it is
// common, a value most chunks repeat.
func (s *scanner) known(dst *string, common string) bool {
	if s.peek() == '"' && len(s.b)-s.i > len(common)+1 && string(s.b[s.i+1:s.i+1+len(common)]) == common && s.b[s.i+1+len(common)] == '"' {
		s.i += len(common) + 2
		*dst = common
		return true
	}
	return s.str(dst)
}

// strPtr reads a string value into a new string; null sets *dst to nil.
func (s *scanner) strPtr(dst **string) bool {
	if s.null() {
		*dst = nil
		return true
	}
	v, ok := s.text()
	if ok {
		*dst = &v
	}
	return ok
}

// text reads a string, unescaping it as encoding/json does.
func (s *scanner) text() (string, bool) {
	if !s.eat('"') {
		return "", false
	}
	start := s.i
	ascii := true
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch {
		case c == '"':
			s.i++
			raw := s.b[start : s.i-1]
			if !ascii && !utf8.Valid(raw) {
				return "", false // encoding/json replaces each bad byte
			}
			return string(raw), true
		case c == '\\':
			return s.unescape(start)
		case c < 0x20:
			return "", false
		case c >= 0x80:
			ascii = false
		}
		s.i++
	}
	return "", false
}

// unescape finishes reading a string that holds an escape, from start
// (just after its opening quote), with s.i at the first backslash.
func (s *scanner) unescape(start int) (string, bool) {
	out := make([]byte, 0, s.i-start+16)
	out = append(out, s.b[start:s.i]...)
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch {
		case c == '"':
			s.i++
			if !utf8.Valid(out) {
				return "", false
			}
			return string(out), true
		case c < 0x20:
			return "", false
		case c != '\\':
			out = append(out, c)
			s.i++
			continue
		}
		if s.i+1 >= len(s.b) {
			return "", false
		}
		e := s.b[s.i+1]
		s.i += 2
		switch e {
		case '"', '\\', '/':
			out = append(out, e)
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r, ok := hex4(s.b[s.i:])
			if !ok {
				return "", false
			}
			s.i += 4
			if utf16.IsSurrogate(r) {
				// As encoding/json: a valid pair is one rune; otherwise the
				// first half alone becomes U+FFFD.
				if len(s.b)-s.i >= 6 && s.b[s.i] == '\\' && s.b[s.i+1] == 'u' {
					if r2, ok := hex4(s.b[s.i+2:]); ok {
						if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
							s.i += 6
							out = utf8.AppendRune(out, d)
							continue
						}
					}
				}
				r = utf8.RuneError
			}
			out = utf8.AppendRune(out, r)
		default:
			return "", false
		}
	}
	return "", false
}

func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r*16 + rune(c)
	}
	return r, true
}

// int reads an integer; null leaves *dst as it is. Fractions, exponents
// and values past int64 are left to encoding/json.
func (s *scanner) int(dst *int64) bool {
	if s.null() {
		return true
	}
	s.space()
	neg := s.i < len(s.b) && s.b[s.i] == '-'
	if neg {
		s.i++
	}
	start := s.i
	var n int64
	for s.i < len(s.b) && '0' <= s.b[s.i] && s.b[s.i] <= '9' {
		if n > (1<<63-1)/10-1 {
			return false
		}
		n = n*10 + int64(s.b[s.i]-'0')
		s.i++
	}
	digits := s.i - start
	if digits == 0 || digits > 1 && s.b[start] == '0' {
		return false
	}
	if s.i < len(s.b) {
		switch s.b[s.i] {
		case '.', 'e', 'E':
			return false
		}
	}
	if neg {
		n = -n
	}
	*dst = n
	return true
}

func (s *scanner) intValue(dst *int) bool {
	n := int64(*dst)
	if !s.int(&n) {
		return false
	}
	*dst = int(n)
	return true
}

// skip reads past any valid JSON value.
func (s *scanner) skip(depth int) bool {
	if depth > maxDepth {
		return false
	}
	switch s.peek() {
	case '"':
		return s.skipString()
	case '{':
		s.i++
		if s.eat('}') {
			return true
		}
		for {
			if s.peek() != '"' || !s.skipString() || !s.eat(':') || !s.skip(depth+1) {
				return false
			}
			if s.eat(',') {
				continue
			}
			return s.eat('}')
		}
	case '[':
		s.i++
		if s.eat(']') {
			return true
		}
		for {
			if !s.skip(depth + 1) {
				return false
			}
			if s.eat(',') {
				continue
			}
			return s.eat(']')
		}
	case 't':
		return s.literal("true")
	case 'f':
		return s.literal("false")
	case 'n':
		return s.literal("null")
	}
	return s.skipNumber()
}

func (s *scanner) literal(l string) bool {
	if len(s.b)-s.i >= len(l) && string(s.b[s.i:s.i+len(l)]) == l {
		s.i += len(l)
		return true
	}
	return false
}

func (s *scanner) skipString() bool {
	s.i++ // the opening quote
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch {
		case c == '"':
			s.i++
			return true
		case c < 0x20:
			return false
		case c == '\\':
			if s.i+1 >= len(s.b) {
				return false
			}
			switch s.b[s.i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				s.i += 2
			case 'u':
				if _, ok := hex4(s.b[s.i+2:]); !ok {
					return false
				}
				s.i += 6
			default:
				return false
			}
			continue
		}
		s.i++
	}
	return false
}

// skipNumber reads a number by JSON's grammar.
func (s *scanner) skipNumber() bool {
	if s.i < len(s.b) && s.b[s.i] == '-' {
		s.i++
	}
	switch {
	case s.i < len(s.b) && s.b[s.i] == '0':
		s.i++
	case s.digits() == 0:
		return false
	}
	if s.i < len(s.b) && s.b[s.i] == '.' {
		s.i++
		if s.digits() == 0 {
			return false
		}
	}
	if s.i < len(s.b) && (s.b[s.i] == 'e' || s.b[s.i] == 'E') {
		s.i++
		if s.i < len(s.b) && (s.b[s.i] == '+' || s.b[s.i] == '-') {
			s.i++
		}
		if s.digits() == 0 {
			return false
		}
	}
	return true
}

func (s *scanner) digits() int {
	start := s.i
	for s.i < len(s.b) && '0' <= s.b[s.i] && s.b[s.i] <= '9' {
		s.i++
	}
	return s.i - start
}
