package jsonscan

import "strings"

// Scanner reads one JSON document.
type Scanner struct {
	b []byte
	i int
}

// New returns a Scanner at the start of b.
func New(b []byte) Scanner { return Scanner{b: b} }

// MaxDepth bounds the nesting of skipped values; deeper documents are
// left to encoding/json.
const MaxDepth = 64

// Space skips white space.
func (s *Scanner) Space() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// Peek returns the next byte after white space, or 0 at the end.
func (s *Scanner) Peek() byte {
	s.Space()
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

// Eat consumes c after white space.
func (s *Scanner) Eat(c byte) bool {
	if s.Peek() == c {
		s.i++
		return true
	}
	return false
}

// End reports whether only white space is left.
func (s *Scanner) End() bool { return s.Peek() == 0 && s.i == len(s.b) }

// Null consumes a null literal if one comes next.
func (s *Scanner) Null() bool {
	if s.Peek() == 'n' && len(s.b)-s.i >= 4 && string(s.b[s.i:s.i+4]) == "null" {
		s.i += 4
		return true
	}
	return false
}

// Object walks the members of an object, calling member with s at each
// value; known are the member names the target models (at most 32),
// which member must handle: a member named as one of them but for case is
// refused, as encoding/json would match it too, and so is a second member
// of one name. Members named otherwise are skipped, and given to other
// with their raw value when other is not nil.
func (s *Scanner) Object(known []string, member func(k int) bool, other func(name, raw []byte)) bool {
	if !s.Eat('{') {
		return false
	}
	if s.Eat('}') {
		return true
	}
	var seen uint32
	for {
		name, ok := s.Name()
		if !ok || !s.Eat(':') {
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
			raw, ok := s.Raw()
			if !ok {
				return false
			}
			if other != nil {
				other(name, raw)
			}
		}
		if s.Eat(',') {
			continue
		}
		return s.Eat('}')
	}
}

// Array reads a JSON array into *dst, an element at a time, as
// encoding/json does into a nil slice: null leaves it as it is, [] makes
// it empty, and a null element is a zero one. The elements are appended
// to (*dst)[:0], reusing its array.
func Array[T any](s *Scanner, dst *[]T, elem func(*T) bool) bool {
	if s.Null() {
		return true
	}
	if !s.Eat('[') {
		return false
	}
	if *dst = (*dst)[:0]; *dst == nil {
		*dst = []T{}
	}
	if s.Eat(']') {
		return true
	}
	for {
		*dst = append(*dst, *new(T))
		if e := &(*dst)[len(*dst)-1]; !s.Null() && !elem(e) {
			return false
		}
		if s.Eat(',') {
			continue
		}
		return s.Eat(']')
	}
}

func index(known []string, name []byte) int {
	for k, n := range known {
		if n == string(name) {
			return k
		}
	}
	return -1
}

// folds reports whether name matches one of known but for case. Both
// are ASCII (see Name), whose case folding keeps lengths.
func folds(known []string, name []byte) bool {
	for _, n := range known {
		if len(n) == len(name) && strings.EqualFold(n, string(name)) {
			return true
		}
	}
	return false
}

// Name reads a member name made of printable ASCII without escapes;
// encoding/json folds some non-ASCII letters onto ASCII ones, so those
// names are left to it.
func (s *Scanner) Name() ([]byte, bool) {
	if !s.Eat('"') {
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

// Raw reads past any valid JSON value and returns it, as a slice of the
// document: the bytes encoding/json gives a json.RawMessage.
func (s *Scanner) Raw() ([]byte, bool) {
	s.Space()
	start := s.i
	if !s.skip(1) {
		return nil, false
	}
	return s.b[start:s.i], true
}

// skip reads past any valid JSON value.
func (s *Scanner) skip(depth int) bool {
	if depth > MaxDepth {
		return false
	}
	switch s.Peek() {
	case '"':
		return s.skipString()
	case '{':
		s.i++
		if s.Eat('}') {
			return true
		}
		for {
			if s.Peek() != '"' || !s.skipString() || !s.Eat(':') || !s.skip(depth+1) {
				return false
			}
			if s.Eat(',') {
				continue
			}
			return s.Eat('}')
		}
	case '[':
		s.i++
		if s.Eat(']') {
			return true
		}
		for {
			if !s.skip(depth + 1) {
				return false
			}
			if s.Eat(',') {
				continue
			}
			return s.Eat(']')
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

func (s *Scanner) literal(l string) bool {
	if len(s.b)-s.i >= len(l) && string(s.b[s.i:s.i+len(l)]) == l {
		s.i += len(l)
		return true
	}
	return false
}

func (s *Scanner) skipString() bool {
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
func (s *Scanner) skipNumber() bool {
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

func (s *Scanner) digits() int {
	start := s.i
	for s.i < len(s.b) && '0' <= s.b[s.i] && s.b[s.i] <= '9' {
		s.i++
	}
	return s.i - start
}
