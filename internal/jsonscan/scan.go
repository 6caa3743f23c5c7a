// Package jsonscan reads JSON documents of known shapes straight into Go
// values, for the hot paths where encoding/json's reflection costs too
// much: a [Scanner] walks one document, and its methods read one value
// each; [AppendString] writes a string as encoding/json does, for the
// hand-written encoders beside them. Every method reports false on anything it does not handle exactly
// as encoding/json would (invalid JSON, a value of the wrong type, a
// duplicate or case-folded member name, a number of the wrong kind, a
// string that is not valid UTF-8, deep nesting); the caller then decodes
// the document with encoding/json, so a scan is only ever a faster path
// to the same values. A failed scan leaves its target partly filled.
//
// A Scanner is not safe for concurrent use.
package jsonscan

import (
	"encoding/json"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

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

// Str reads a string value; null leaves *dst as it is.
func (s *Scanner) Str(dst *string) bool {
	if s.Null() {
		return true
	}
	v, ok := s.Text()
	*dst = v
	return ok
}

// Known reads a string value as Str does, without a copy when it is
// common, a value most documents repeat.
func (s *Scanner) Known(dst *string, common string) bool {
	if s.Peek() == '"' && len(s.b)-s.i > len(common)+1 && string(s.b[s.i+1:s.i+1+len(common)]) == common && s.b[s.i+1+len(common)] == '"' {
		s.i += len(common) + 2
		*dst = common
		return true
	}
	return s.Str(dst)
}

// StrPtr reads a string value into a new string; null sets *dst to nil.
func (s *Scanner) StrPtr(dst **string) bool {
	if s.Null() {
		*dst = nil
		return true
	}
	v, ok := s.Text()
	if ok {
		*dst = &v
	}
	return ok
}

// Text reads a string, unescaping it as encoding/json does.
func (s *Scanner) Text() (string, bool) {
	if !s.Eat('"') {
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
func (s *Scanner) unescape(start int) (string, bool) {
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

// Int reads an integer; null leaves *dst as it is. Fractions, exponents
// and values past int64 are left to encoding/json.
func (s *Scanner) Int(dst *int64) bool {
	if s.Null() {
		return true
	}
	s.Space()
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

// IntValue reads an integer into an int, as Int does.
func (s *Scanner) IntValue(dst *int) bool {
	n := int64(*dst)
	if !s.Int(&n) {
		return false
	}
	*dst = int(n)
	return true
}

// IntPtr reads an integer into a new int; null sets *dst to nil.
func (s *Scanner) IntPtr(dst **int) bool {
	if s.Null() {
		*dst = nil
		return true
	}
	var n int
	if !s.IntValue(&n) {
		return false
	}
	*dst = &n
	return true
}

// Int64Ptr reads an integer into a new int64; null sets *dst to nil.
func (s *Scanner) Int64Ptr(dst **int64) bool {
	if s.Null() {
		*dst = nil
		return true
	}
	var n int64
	if !s.Int(&n) {
		return false
	}
	*dst = &n
	return true
}

// Bool reads true or false; null leaves *dst as it is.
func (s *Scanner) Bool(dst *bool) bool {
	switch s.Peek() {
	case 't':
		*dst = true
		return s.literal("true")
	case 'f':
		*dst = false
		return s.literal("false")
	}
	return s.Null()
}

// BoolPtr reads true or false into a new bool; null sets *dst to nil.
func (s *Scanner) BoolPtr(dst **bool) bool {
	if s.Null() {
		*dst = nil
		return true
	}
	var v bool
	if !s.Bool(&v) {
		return false
	}
	*dst = &v
	return true
}

// FloatPtr reads a number into a new float64, parsed as encoding/json
// parses it; null sets *dst to nil.
func (s *Scanner) FloatPtr(dst **float64) bool {
	if s.Null() {
		*dst = nil
		return true
	}
	s.Space()
	start := s.i
	if !s.skipNumber() {
		return false
	}
	f, err := strconv.ParseFloat(string(s.b[start:s.i]), 64)
	if err != nil {
		return false
	}
	*dst = &f
	return true
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

// AppendString appends s quoted as encoding/json quotes it: a string that
// is [Plain] is copied; any other goes through encoding/json.
func AppendString(b []byte, s string) []byte {
	if !Plain(s) {
		q, _ := json.Marshal(s) // a string always encodes
		return append(b, q...)
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// Plain reports whether s is printable ASCII without the characters
// encoding/json escapes in a string ('"', '\\', '<', '>' and '&').
func Plain[S ~string | ~[]byte](s S) bool {
	for i := range len(s) {
		if c := s[i]; c < 0x20 || c >= 0x80 || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return false
		}
	}
	return true
}

// Keep records the member name with its raw value in *m, as
// aiclient.Unknown keeps the members a type does not model: null is the
// same as absent, and a later member of one name replaces an earlier one.
// The value is copied.
func Keep(m *map[string]json.RawMessage, name, raw []byte) {
	if string(raw) == "null" {
		if delete(*m, string(name)); len(*m) == 0 {
			*m = nil
		}
		return
	}
	if *m == nil {
		*m = map[string]json.RawMessage{}
	}
	(*m)[string(name)] = append(json.RawMessage(nil), raw...)
}
