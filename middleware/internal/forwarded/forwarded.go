package forwarded

import (
	"net/netip"
	"strings"
)

// AppendXFF appends the comma-separated entries of every X-Forwarded-For
// field line to dst, in order, trimmed of spaces. Empty entries are kept as
// "" so that a walk from the right stops at them.
func AppendXFF(dst []string, lines []string) []string {
	for _, line := range lines {
		for {
			i := strings.IndexByte(line, ',')
			if i < 0 {
				dst = append(dst, trimOWS(line))
				break
			}
			dst = append(dst, trimOWS(line[:i]))
			line = line[i+1:]
		}
	}
	return dst
}

// AppendFor appends the "for" parameter of every element of every
// Forwarded field line to dst, in order, unquoted. An element without a
// "for" parameter, or one that cannot be parsed, is appended as "", and the
// rest of a malformed line is dropped: a walk from the right stops there.
func AppendFor(dst []string, lines []string) []string {
	for _, line := range lines {
		dst = appendLine(dst, line)
	}
	return dst
}

// appendLine parses one field line:
//
//	forwarded-element = [ pair ] *( ";" [ pair ] )
//	pair              = token "=" value
//	value             = token / quoted-string
func appendLine(dst []string, s string) []string {
	var node string
	seen := false
	for {
		s = trimLeftOWS(s)
		if s == "" {
			if seen || node != "" {
				dst = append(dst, node)
			}
			return dst
		}
		switch s[0] {
		case ',':
			dst = append(dst, node)
			node, seen, s = "", false, s[1:]
			continue
		case ';':
			s = s[1:]
			continue
		}
		// A pair.
		i := 0
		for i < len(s) && isTchar(s[i]) {
			i++
		}
		if i == 0 || i == len(s) || s[i] != '=' {
			return append(dst, "")
		}
		name := s[:i]
		s = s[i+1:]
		var val string
		var ok bool
		val, s, ok = value(s)
		if !ok {
			return append(dst, "")
		}
		seen = true
		if strings.EqualFold(name, "for") {
			node = val
		}
	}
}

// value reads a token or a quoted-string at the start of s.
func value(s string) (val, rest string, ok bool) {
	if s == "" {
		return "", s, false
	}
	if s[0] != '"' {
		i := 0
		for i < len(s) && isTchar(s[i]) {
			i++
		}
		if i == 0 {
			return "", s, false
		}
		return s[:i], s[i:], true
	}
	// quoted-string = DQUOTE *( qdtext / quoted-pair ) DQUOTE
	var b strings.Builder
	escaped := false
	for i := 1; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' && i+1 < len(s):
			if !escaped {
				b.WriteString(s[1:i])
				escaped = true
			}
			i++
			b.WriteByte(s[i])
		case c == '"':
			if !escaped {
				return s[1:i], s[i+1:], true
			}
			return b.String(), s[i+1:], true
		case c < 0x20 && c != '\t' || c == 0x7f:
			return "", s, false
		default:
			if escaped {
				b.WriteByte(c)
			}
		}
	}
	return "", s, false
}

// isTchar reports whether c is an RFC 9110 token character.
func isTchar(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

func trimLeftOWS(s string) string {
	for s != "" && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	return s
}

func trimOWS(s string) string {
	s = trimLeftOWS(s)
	for s != "" && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
}

// ParseNode returns the IP address of a node: an IPv4 address or an IPv6
// address, either bare or in brackets, each with an optional port. It
// reports false for "unknown", obfuscated identifiers ("_hidden") and
// anything else that is not an address. IPv4-mapped IPv6 addresses are
// unmapped and zones dropped, so the result compares with prefixes.
func ParseNode(s string) (netip.Addr, bool) {
	if s == "" {
		return netip.Addr{}, false
	}
	var a netip.Addr
	var err error
	switch {
	case s[0] == '[':
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return netip.Addr{}, false
		}
		if rest := s[end+1:]; rest != "" && !validPort(rest) {
			return netip.Addr{}, false
		}
		a, err = netip.ParseAddr(s[1:end])
		if err == nil && !a.Is6() {
			return netip.Addr{}, false
		}
	case strings.Count(s, ":") == 1:
		i := strings.IndexByte(s, ':')
		if !validPort(s[i:]) {
			return netip.Addr{}, false
		}
		a, err = netip.ParseAddr(s[:i])
		if err == nil && !a.Is4() {
			return netip.Addr{}, false
		}
	default:
		a, err = netip.ParseAddr(s)
	}
	if err != nil {
		return netip.Addr{}, false
	}
	return a.Unmap().WithZone(""), true
}

// validPort reports whether s is ":" followed by a port number or an
// obfuscated port ("_abc").
func validPort(s string) bool {
	if len(s) < 2 || s[0] != ':' {
		return false
	}
	p := s[1:]
	if p[0] == '_' {
		for i := 1; i < len(p); i++ {
			if !isTchar(p[i]) || p[i] == ':' {
				return false
			}
		}
		return true
	}
	if len(p) > 5 {
		return false
	}
	n := 0
	for i := 0; i < len(p); i++ {
		if p[i] < '0' || p[i] > '9' {
			return false
		}
		n = n*10 + int(p[i]-'0')
	}
	return n <= 65535
}

// PeerAddr parses a RemoteAddr ("ip:port").
func PeerAddr(remote string) (netip.Addr, bool) {
	if ap, err := netip.ParseAddrPort(remote); err == nil {
		return ap.Addr().Unmap().WithZone(""), true
	}
	if a, err := netip.ParseAddr(remote); err == nil {
		return a.Unmap().WithZone(""), true
	}
	return netip.Addr{}, false
}
