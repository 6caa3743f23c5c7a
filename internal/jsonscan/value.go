package jsonscan

import (
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

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
