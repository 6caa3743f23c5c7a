package jsonscan

import "encoding/json"

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
