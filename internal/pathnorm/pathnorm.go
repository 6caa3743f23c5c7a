package pathnorm

import (
	"errors"
	"net/url"
)

// Mode says what [Normalize] does with escaped dots, escaped slashes and
// backslashes.
type Mode uint8

const (
	// Reject refuses a path holding them, with [ErrEscaped].
	Reject Mode = iota
	// Decode decodes them, reading a backslash as a slash, before dot
	// segments are resolved.
	Decode
)

// Errors [Normalize] returns; each message says what the client should fix.
var (
	ErrRelative = errors.New("the path must start with '/'")
	ErrEscaped  = errors.New("the path holds an escaped dot, slash or backslash (%2E, %2F, %5C) or a backslash; send dots and slashes unescaped")
	ErrControl  = errors.New("the path holds a control character")
	ErrDotParam = errors.New("a path segment is a dot segment followed by ';'")
	ErrEscape   = errors.New("the path holds a malformed percent-escape")
)

// IsNormal reports whether a decoded path whose escaped form is the
// default one (url.URL.RawPath empty) is already normal, so that
// Normalize would return its escaped form unchanged. It scans p once and
// allocates nothing.
func IsNormal(p string) bool {
	if p == "" || p[0] != '/' {
		return false
	}
	start := 1
	for i := 1; i <= len(p); i++ {
		if i < len(p) {
			c := p[i]
			if c < 0x20 || c == 0x7f || c == '\\' {
				return false
			}
			if c != '/' {
				continue
			}
			if i == start {
				return false // "//"
			}
		}
		if dotSegment(p[start:i]) != notDot {
			return false
		}
		start = i + 1
	}
	return true
}

// Normalize returns the normal form of an escaped path; see the package
// documentation. An empty path is "/".
func Normalize(escaped string, mode Mode) (string, error) {
	if escaped == "" {
		return "/", nil
	}
	if escaped[0] != '/' {
		return "", ErrRelative
	}
	n := normalizer{out: make([]byte, 0, len(escaped)+1), mode: mode}
	for i := 0; i < len(escaped); {
		c, lit, size, err := n.token(escaped, i)
		if err != nil {
			return "", err
		}
		i += size
		if c == '/' && lit {
			if err := n.endSegment(); err != nil {
				return "", err
			}
			continue
		}
		n.add(c, lit)
	}
	if err := n.endSegment(); err != nil {
		return "", err
	}
	if len(n.out) == 0 || n.trailing {
		n.out = append(n.out, '/')
	}
	return string(n.out), nil
}

// URL returns u with its path normalized: u itself when the path is
// already normal, else a copy whose Path and RawPath hold the normal
// path, so that its EscapedPath is the normal escaped path. An Opaque
// starting with '/', as a client sets it to send a path unchanged, is
// taken as the escaped path.
func URL(u *url.URL, mode Mode) (*url.URL, error) {
	escaped := u.Opaque
	switch {
	case escaped != "":
		if escaped[0] != '/' {
			return nil, ErrRelative
		}
	case u.RawPath == "" && IsNormal(u.Path):
		return u, nil
	default:
		escaped = u.EscapedPath()
	}
	e, err := Normalize(escaped, mode)
	if err != nil {
		return nil, err
	}
	p, err := url.PathUnescape(e)
	if err != nil {
		return nil, ErrEscape // unreachable: Normalize writes valid escapes
	}
	v := *u
	v.Opaque, v.Path, v.RawPath = "", p, ""
	if v.EscapedPath() != e {
		v.RawPath = e
	}
	return &v, nil
}

// normalizer builds the normal path one segment at a time. out holds the
// segments kept so far, each after its '/', then the open segment.
type normalizer struct {
	out      []byte
	mode     Mode
	segStart int  // index in out of the open segment's first byte
	open     bool // a segment is open: out[segStart-1] is its '/'
	trailing bool // the path so far ends in a slash
}

// token reads the byte at s[i], or the escape starting there. It returns
// the byte c, whether it is written literally (a separator, or a byte
// that may appear in a path as is) rather than escaped, and the length
// of input read.
func (n *normalizer) token(s string, i int) (c byte, lit bool, size int, err error) {
	c = s[i]
	if c != '%' {
		switch {
		case c < 0x20 || c == 0x7f:
			return 0, false, 0, ErrControl
		case c == '\\':
			if n.mode == Reject {
				return 0, false, 0, ErrEscaped
			}
			return '/', true, 1, nil
		}
		return c, c == '/' || pchar(c), 1, nil
	}
	if i+2 >= len(s) || !ishex(s[i+1]) || !ishex(s[i+2]) {
		return 0, false, 0, ErrEscape
	}
	c = unhex(s[i+1])<<4 | unhex(s[i+2])
	switch {
	case c < 0x20 || c == 0x7f:
		return 0, false, 0, ErrControl
	case c == '.' || c == '/' || c == '\\':
		if n.mode == Reject {
			return 0, false, 0, ErrEscaped
		}
		if c == '\\' {
			c = '/'
		}
		return c, true, 3, nil
	}
	return c, unreserved(c), 3, nil
}

// add appends one byte to the open segment, escaped unless lit, opening
// a segment first if none is.
func (n *normalizer) add(c byte, lit bool) {
	if !n.open {
		n.out = append(n.out, '/')
		n.segStart = len(n.out)
		n.open = true
	}
	if lit {
		n.out = append(n.out, c)
		return
	}
	const hex = "0123456789ABCDEF"
	n.out = append(n.out, '%', hex[c>>4], hex[c&15])
}

// endSegment closes the open segment, at a separator or at the end of the
// path. An empty segment is dropped (merging slashes), "." is dropped and
// ".." drops the segment before it too; either leaves the path ending in
// a slash until another segment follows.
func (n *normalizer) endSegment() error {
	if !n.open {
		n.trailing = true
		return nil
	}
	n.open = false
	n.trailing = false
	switch dotSegment(n.out[n.segStart:]) {
	case notDot:
		return nil
	case dotParam:
		return ErrDotParam
	case dotDot:
		n.out = n.out[:n.segStart-1]
		for len(n.out) > 0 && n.out[len(n.out)-1] != '/' {
			n.out = n.out[:len(n.out)-1]
		}
		if len(n.out) > 0 {
			n.out = n.out[:len(n.out)-1]
		}
	default: // dot
		n.out = n.out[:n.segStart-1]
	}
	n.trailing = true
	return nil
}

// kind classifies a segment.
type kind uint8

const (
	notDot   kind = iota
	dot           // "."
	dotDot        // ".."
	dotParam      // "." or ".." followed by ';' and parameters
)

func dotSegment[S ~string | ~[]byte](s S) kind {
	switch {
	case len(s) == 0 || s[0] != '.':
		return notDot
	case len(s) == 1:
		return dot
	case s[1] == ';':
		return dotParam
	case s[1] != '.':
		return notDot
	case len(s) == 2:
		return dotDot
	case s[2] == ';':
		return dotParam
	}
	return notDot
}

// unreserved reports whether c is an RFC 3986 unreserved character other
// than '.', which Normalize treats apart.
func unreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '~'
}

// pchar reports whether c may appear unescaped in a path segment: an
// unreserved character, a sub-delimiter, ':' or '@' (RFC 3986 §3.3).
func pchar(c byte) bool {
	if unreserved(c) {
		return true
	}
	switch c {
	case '.', '!', '$', '&', '\'', '(', ')', '*', '+', ',', ';', '=', ':', '@':
		return true
	}
	return false
}

func ishex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	}
	return c - 'a' + 10
}
